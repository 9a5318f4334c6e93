"""One wave as arrays (WaveInput), built from API-shaped records or checked when given directly."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.scoring.engine.vocabulary import (
    AGREEMENT_ITEMS,
    COLUMN,
    COMMENT_KINDS,
    MOMENT_TAGS,
    RATED_ITEMS,
    ROLES,
    TOUCHPOINTS,
)


class InvalidWaveInput(ValueError):
    """Wave arrays whose shapes or indices do not fit together."""


_REVERSE_SUM = 8.0  # a reverse 1-7 answer x counts as 8 - x


def answers_to_matrix(
    answers: Sequence[Mapping[str, Any]], reverse_items: frozenset[str] = frozenset()
) -> np.ndarray:
    """The responses x RATED_ITEMS float matrix of raw answers (NaN missing), reverse items already turned."""
    unknown = set(reverse_items) - AGREEMENT_ITEMS
    if unknown:
        raise InvalidWaveInput(f"only 1-7 items can be reverse: {sorted(unknown)}")
    if not answers:
        return np.empty((0, len(RATED_ITEMS)), dtype=np.float64)
    # None becomes NaN in a float array
    matrix = np.array([list(map(a.get, RATED_ITEMS)) for a in answers], dtype=np.float64)
    for item in reverse_items:
        matrix[:, COLUMN[item]] = _REVERSE_SUM - matrix[:, COLUMN[item]]
    return matrix


def _int_array(values: Any) -> np.ndarray:
    array = np.asarray(values)
    if array.size == 0:
        return np.zeros(0, dtype=np.intp)
    if not np.issubdtype(array.dtype, np.integer):
        raise InvalidWaveInput("index arrays must hold integers")
    return array.astype(np.intp, copy=False).reshape(-1)


def _text_array(values: Any) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array


def _codes(values: Any, names: tuple[str, ...], what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.size and array.dtype.kind in "OUS":
        lookup = {name: i for i, name in enumerate(names)}
        uniques, inverse = np.unique(array.astype(str), return_inverse=True)
        try:
            mapped = np.array([lookup[u] for u in uniques.tolist()], dtype=np.intp)
        except KeyError as exc:
            raise InvalidWaveInput(f"unknown {what}: {exc.args[0]!r}") from exc
        return mapped[inverse.reshape(-1)]
    codes = _int_array(array)
    if codes.size and (codes.min() < 0 or codes.max() >= len(names)):
        raise InvalidWaveInput(f"{what} codes must be in 0..{len(names) - 1}")
    return codes


def _check_index(index: np.ndarray, size: int, what: str) -> None:
    if index.size and (index.min() < 0 or index.max() >= size):
        raise InvalidWaveInput(f"{what} points outside 0..{size - 1}")


def _matrix(values: Any, rows: int, what: str) -> np.ndarray:
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.size == 0:
        matrix = matrix.reshape(0, len(RATED_ITEMS))
    if matrix.shape != (rows, len(RATED_ITEMS)):
        raise InvalidWaveInput(f"{what} must be {rows} x {len(RATED_ITEMS)}, got {matrix.shape}")
    return matrix


@dataclass(frozen=True, eq=False)
class WaveInput:
    """One wave as arrays: accounts, contacts and sellers of the roster, and both sides' answers.

    Responses point at contacts and sellers by position; `contact_role` takes ROLES codes or
    names, moments are flattened (one row per moment, `moment_buyer` the buyer row).
    """

    account_external_id: Sequence[str]
    account_name: Sequence[str]
    account_revenue: Any  # float per account, NaN when unknown
    contact_key: Sequence[str]  # stable across waves (the e-mail), for trends
    contact_email: Sequence[str]
    contact_name: Sequence[str]
    contact_role: Any  # ROLES codes or names
    contact_account: Any  # account position of each contact
    seller_email: Sequence[str]
    seller_name: Sequence[str]
    buyer_answers: Any  # n_buyers x RATED_ITEMS
    buyer_contact: Any  # contact position of each buyer response (one per contact)
    seller_answers: Any  # n_seller_responses x RATED_ITEMS
    seller_id: Any  # seller position of each seller response
    seller_contact: Any  # contact position each seller response is about
    moment_buyer: Any = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    moment_touchpoint: Any = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    moment_tag: Any = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    moment_text: Sequence[str] = ()
    buyer_competitor: Sequence[str | None] | None = None  # named leader per buyer response
    # per buyer response, its open answers {start, stop, continue} verbatim (None unanswered)
    buyer_comments: Sequence[Mapping[str, str | None]] | None = None

    def __post_init__(self) -> None:
        self._check_roster()
        self._check_buyers()
        self._check_sellers()
        self._check_moments()

    def _check_roster(self) -> None:
        """Accounts, contacts and sellers: text columns as object arrays, roles as codes."""
        put = object.__setattr__
        for name in (
            "account_external_id",
            "account_name",
            "contact_key",
            "contact_email",
            "contact_name",
            "seller_email",
            "seller_name",
        ):
            put(self, name, _text_array(getattr(self, name)))
        n_accounts, n_contacts = len(self.account_external_id), len(self.contact_key)
        n_sellers = len(self.seller_email)
        revenue = np.asarray(self.account_revenue, dtype=np.float64).reshape(-1)
        if revenue.shape != (n_accounts,) or len(self.account_name) != n_accounts:
            raise InvalidWaveInput("every account needs an external id, a name and a revenue")
        if np.any(revenue < 0):
            raise InvalidWaveInput("annual revenue cannot be negative")
        put(self, "account_revenue", revenue)
        if len(self.contact_email) != n_contacts or len(self.contact_name) != n_contacts:
            raise InvalidWaveInput("every contact needs a key, an e-mail and a name")
        if len(self.seller_name) != n_sellers:
            raise InvalidWaveInput("every seller needs an e-mail and a name")
        put(self, "contact_role", _codes(self.contact_role, ROLES, "role"))
        put(self, "contact_account", _int_array(self.contact_account))
        if self.contact_role.shape != (n_contacts,) or self.contact_account.shape != (n_contacts,):
            raise InvalidWaveInput("every contact needs a role and an account")
        _check_index(self.contact_account, n_accounts, "contact_account")

    def _check_buyers(self) -> None:
        """Buyer responses: one per contact at most, each row of answers for a roster contact."""
        put = object.__setattr__
        put(self, "buyer_contact", _int_array(self.buyer_contact))
        n_buyers = self.buyer_contact.shape[0]
        put(self, "buyer_answers", _matrix(self.buyer_answers, n_buyers, "buyer_answers"))
        _check_index(self.buyer_contact, len(self.contact_key), "buyer_contact")
        if n_buyers and np.bincount(self.buyer_contact).max() > 1:
            raise InvalidWaveInput("a contact has more than one buyer response")

    def _check_sellers(self) -> None:
        """Seller responses: each by a roster seller about a roster contact."""
        put = object.__setattr__
        put(self, "seller_id", _int_array(self.seller_id))
        put(self, "seller_contact", _int_array(self.seller_contact))
        n_seller_responses = self.seller_id.shape[0]
        if self.seller_contact.shape != (n_seller_responses,):
            raise InvalidWaveInput("every seller response needs a seller and a contact")
        put(
            self,
            "seller_answers",
            _matrix(self.seller_answers, n_seller_responses, "seller_answers"),
        )
        _check_index(self.seller_id, len(self.seller_email), "seller_id")
        _check_index(self.seller_contact, len(self.contact_key), "seller_contact")

    def _check_moments(self) -> None:
        """Moments (one row each) and the competitor each buyer response names."""
        put = object.__setattr__
        n_buyers = self.buyer_contact.shape[0]
        put(self, "moment_buyer", _int_array(self.moment_buyer))
        put(self, "moment_touchpoint", _codes(self.moment_touchpoint, TOUCHPOINTS, "touchpoint"))
        put(self, "moment_tag", _codes(self.moment_tag, MOMENT_TAGS, "moment tag"))
        n_moments = self.moment_buyer.shape[0]
        if (
            self.moment_touchpoint.shape != (n_moments,)
            or self.moment_tag.shape != (n_moments,)
            or len(self.moment_text) != n_moments
        ):
            raise InvalidWaveInput("every moment needs a buyer, a touchpoint, a tag and a text")
        _check_index(self.moment_buyer, n_buyers, "moment_buyer")
        put(self, "moment_text", list(self.moment_text))
        competitors = [None] * n_buyers if self.buyer_competitor is None else self.buyer_competitor
        if len(competitors) != n_buyers:
            raise InvalidWaveInput("buyer_competitor needs one entry per buyer response")
        put(self, "buyer_competitor", list(competitors))
        comments = self.buyer_comments
        if comments is None:
            comments = [dict.fromkeys(COMMENT_KINDS) for _ in range(n_buyers)]
        if len(comments) != n_buyers:
            raise InvalidWaveInput("buyer_comments needs one entry per buyer response")
        put(self, "buyer_comments", list(comments))

    @property
    def n_buyers(self) -> int:
        """Completed buyer responses."""
        return int(self.buyer_contact.shape[0])

    @property
    def n_seller_responses(self) -> int:
        """Completed seller responses (one per seller and buyer contact)."""
        return int(self.seller_id.shape[0])


def build_wave_input(
    *,
    roster: Sequence[Mapping[str, Any]],
    buyer_responses: Sequence[Mapping[str, Any]],
    seller_responses: Sequence[Mapping[str, Any]],
    reverse_items: frozenset[str] = frozenset(),
) -> WaveInput:
    """A WaveInput from API-shaped records: roster rows (API.md roster columns), buyer responses
    `{contact_email, answers}` and seller responses `{seller_email, contact_email, answers}`."""
    accounts, account_rows = _first_rows(roster, "account_id")
    contacts, contact_rows = _first_rows(roster, "contact_email")
    sellers, seller_rows = _first_rows(roster, "seller_email", optional=True)
    try:
        buyer_contact = [contacts[r["contact_email"]] for r in buyer_responses]
        seller_contact = [contacts[r["contact_email"]] for r in seller_responses]
        seller_id = [sellers[r["seller_email"]] for r in seller_responses]
    except KeyError as exc:
        raise InvalidWaveInput(f"a response names {exc.args[0]!r}, not on the roster") from exc
    return WaveInput(
        account_external_id=[r["account_id"] for r in account_rows],
        account_name=[r.get("account_name") or r["account_id"] for r in account_rows],
        account_revenue=np.array([_revenue(r) for r in account_rows], dtype=np.float64),
        contact_key=[r["contact_email"] for r in contact_rows],
        contact_email=[r["contact_email"] for r in contact_rows],
        contact_name=[r.get("contact_name") or "" for r in contact_rows],
        contact_role=np.array([ROLES.index(r["contact_role"]) for r in contact_rows], np.intp),
        contact_account=np.array([accounts[r["account_id"]] for r in contact_rows], np.intp),
        seller_email=[r["seller_email"] for r in seller_rows],
        seller_name=[r.get("seller_name") or "" for r in seller_rows],
        buyer_answers=answers_to_matrix([r["answers"] for r in buyer_responses], reverse_items),
        buyer_contact=np.array(buyer_contact, dtype=np.intp),
        seller_answers=answers_to_matrix([r["answers"] for r in seller_responses], reverse_items),
        seller_id=np.array(seller_id, dtype=np.intp),
        seller_contact=np.array(seller_contact, dtype=np.intp),
        **_moments_and_competitors(buyer_responses),
    )


def _first_rows(
    roster: Sequence[Mapping[str, Any]], column: str, *, optional: bool = False
) -> tuple[dict[str, int], list[Mapping[str, Any]]]:
    """The position of each distinct value of `column` (its first row fixes it) and those first
    rows; an `optional` column's empty values are skipped."""
    positions: dict[str, int] = {}
    rows: list[Mapping[str, Any]] = []
    for row in roster:  # input conversion from records
        value = row.get(column) if optional else row[column]
        if (value or not optional) and value not in positions:
            positions[value] = len(rows)
            rows.append(row)
    return positions, rows


def _revenue(row: Mapping[str, Any]) -> float:
    value = row.get("annual_revenue")
    return math.nan if value in (None, "") else float(value)


def _moments_and_competitors(buyer_responses: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The WaveInput moment columns (one row per moment) and the competitor each buyer names."""
    moment_buyer, moment_touchpoint, moment_tag, moment_text = [], [], [], []
    competitors: list[str | None] = []
    comments: list[dict[str, str | None]] = []
    for i, response in enumerate(buyer_responses):  # input conversion from records
        answers = response["answers"]
        comments.append({kind: _text(answers.get(f"comment.{kind}")) for kind in COMMENT_KINDS})
        for moment in answers.get("moments") or ():
            moment_buyer.append(i)
            moment_touchpoint.append(moment["touchpoint"])
            moment_tag.append(moment["tag"])
            moment_text.append(moment.get("text") or "")
        competitors.append(answers.get("competitor.name"))
    return {
        "moment_buyer": np.array(moment_buyer, dtype=np.intp),
        "moment_touchpoint": np.array(
            [TOUCHPOINTS.index(t) for t in moment_touchpoint], dtype=np.intp
        ),
        "moment_tag": np.array([MOMENT_TAGS.index(t) for t in moment_tag], dtype=np.intp),
        "moment_text": moment_text,
        "buyer_competitor": competitors,
        "buyer_comments": comments,
    }


def _text(value: Any) -> str | None:
    """An open answer verbatim; None when not answered (missing, empty or not text)."""
    return value if isinstance(value, str) and value else None
