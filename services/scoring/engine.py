"""The Rapport scoring engine: SCORING.md sections 2 to 7 on numpy arrays, with no I/O.

A wave is a matrix of answers (responses x RATED_ITEMS, NaN for missing) for each side
plus index arrays that tie responses to contacts, sellers and accounts. Every step is
vectorised over responses; the only Python loops run over dimensions, items,
touchpoints and chunks of bootstrap replicates.

The 95% intervals are an exact percentile bootstrap (B replicates, default_rng(seed)).
Resampling n values with replacement gives the distinct values Multinomial(n, count / n)
counts, so replicate b is row b of `rng.multinomial(n, counts / n, size=B)` over the distinct
values in ascending order, its mean `row @ values / n` (values that round to the same multiple
of BOOTSTRAP_RESOLUTION are one value, their mean: float noise of one score). NPS has 3 such
values and RI a grid of sixths; only with fewer than BOOTSTRAP_COUNTS_RATIO responses per
distinct value are the n indices drawn instead (row b of `rng.integers(0, n, (B, n))`).
RI and NPS each draw from a fresh generator.

Use:
    wave = build_wave_input(roster=rows, buyer_responses=..., seller_responses=...)
    result = score_wave(wave, ScoringSettings.from_program(program_settings), previous)
    wave_result_to_json(result, wave_id=..., status=..., final=...)  # GET .../results
    account_to_json(result, external_id, coaching_library=library)  # GET .../accounts/{id}
    result.alerts  # relationship.alert triggers, by account
    score_one(answers, settings)  # one completion as it arrives
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from itertools import repeat
from types import MappingProxyType
from typing import Any

import numpy as np

DIMENSIONS: tuple[str, ...] = (
    "trust",
    "competence",
    "recognition",
    "proactivity",
    "responsiveness",
    "commitment",
)
TOUCHPOINTS: tuple[str, ...] = (
    "sales",
    "service",
    "delivery",
    "product",
    "implementation",
    "billing",
)
ROLES: tuple[str, ...] = ("decision_maker", "influencer", "user", "other")
LEVELS: tuple[str, ...] = ("antagonistic", "transactional", "predisposed", "trusted_advisor")
INSUFFICIENT = "insufficient"
LEVEL_NAMES: tuple[str, ...] = (*LEVELS, INSUFFICIENT)
INSUFFICIENT_CODE = len(LEVELS)
NPS_CATEGORIES: tuple[str, ...] = ("promoter", "passive", "detractor")
SEGMENTS: tuple[str, ...] = ("ambassador", "rational", "ambivalent", "stalker", "opponent")
GAP_CLASSES: tuple[str, ...] = ("blind_spot", "aligned", "undervalued")
MOMENT_TAGS: tuple[str, ...] = ("delighted", "let_down", "angry")
QUADRANTS: tuple[str, ...] = ("fix_first", "protect", "monitor", "maintain")
ALERT_REASONS: tuple[str, ...] = ("level_drop", "ri_drop", "became_detractor", "antagonistic")
MISSING = -1  # code of a missing category (no NPS answer, no segment, no gap class, no response)

ITEMS_PER_DIMENSION = 3
MIN_DIMENSIONS = 4  # dimensions a Relationship Index needs
DIMENSION_ITEMS: tuple[str, ...] = tuple(
    f"{d}.{i}" for d in DIMENSIONS for i in range(1, ITEMS_PER_DIMENSION + 1)
)
TOUCHPOINT_ITEMS: tuple[str, ...] = tuple(f"touchpoint.{t}" for t in TOUCHPOINTS)
COMPETITOR_ITEMS: tuple[str, ...] = tuple(f"competitor.{d}" for d in DIMENSIONS)
RATED_ITEMS: tuple[str, ...] = (
    *DIMENSION_ITEMS,
    "recommend",
    "satisfaction",
    *TOUCHPOINT_ITEMS,
    *COMPETITOR_ITEMS,
)
AGREEMENT_ITEMS: frozenset[str] = frozenset((*DIMENSION_ITEMS, "satisfaction", *TOUCHPOINT_ITEMS))
COLUMN: Mapping[str, int] = MappingProxyType({item: i for i, item in enumerate(RATED_ITEMS)})

_N_DIM_ITEMS = len(DIMENSION_ITEMS)
_RECOMMEND = COLUMN["recommend"]
_SATISFACTION = COLUMN["satisfaction"]
_TOUCHPOINT_COLS = slice(COLUMN[TOUCHPOINT_ITEMS[0]], COLUMN[TOUCHPOINT_ITEMS[-1]] + 1)
_COMPETITOR_COLS = slice(COLUMN[COMPETITOR_ITEMS[0]], COLUMN[COMPETITOR_ITEMS[-1]] + 1)
_MIN_ITEMS = math.ceil(ITEMS_PER_DIMENSION / 2)
_COMMITMENT = DIMENSIONS.index("commitment")
_PROMOTER, _PASSIVE, _DETRACTOR = range(3)
_BLIND_SPOT, _ALIGNED, _UNDERVALUED = range(3)
_ANTAGONISTIC, _TRANSACTIONAL = 0, 1
_REVERSE_SUM = 8.0  # a reverse 1-7 answer x counts as 8 - x
_SATISFIED = 6.0  # satisfaction at or above this is "fine" (the satisfaction trap)
_COMMITTED = 60.0  # commitment under this while satisfied is the trap
_COMPETITOR_SCALE = 50.0  # -2..2 onto -100..100
_ACCOUNT_PROMOTER_NPS = 50.0  # account segment: NPS >= 50 counts as promoter
_ACCOUNT_PASSIVE_NPS = 0.0  # 0 <= NPS < 50 passive, below detractor
_ALERT_RI_DROP = -10.0
_EXPAND_RI = 60.0  # an undervalued contact at or above this RI is ripe for more business
_PRIORITY_STEPS = 1e9  # coaching priorities are compared in steps of 1e-9
# Scores are sums of sixths of 100, so a value that is exactly on a cut point in real numbers
# can land a few ulps off it in floats; comparisons with cut points allow this much.
TOLERANCE = 1e-9
_SMALL_N = 64  # below this many rows a reduction beats a loop over columns
_PIPELINE_MIN_N = 20_000  # from this many buyers the bootstrap runs in helper threads
_CHUNK_ELEMENTS = 2**18  # bootstrap indices (or counts) drawn at a time
# The bootstrap draws multinomial counts over the distinct values (equal within this much)
# when there are at least this many responses per distinct value, else it resamples indices.
BOOTSTRAP_RESOLUTION = 1e-9
BOOTSTRAP_COUNTS_RATIO = 16

# Section 2 segment table: rows are level codes (antagonistic .. trusted_advisor),
# columns NPS categories (promoter, passive, detractor).
SEGMENT_TABLE: tuple[tuple[str, str, str], ...] = (
    ("ambivalent", "opponent", "opponent"),  # RI < 40
    ("ambivalent", "stalker", "stalker"),  # 40 <= RI < 60
    ("rational", "rational", "ambivalent"),  # 60 <= RI < 80
    ("ambassador", "rational", "ambivalent"),  # RI >= 80
)
_SEGMENT_CODES = np.array([[SEGMENTS.index(s) for s in row] for row in SEGMENT_TABLE], np.int8)


class InvalidScoringSettings(ValueError):
    """A program's scoring settings that cannot be used."""


class InvalidWaveInput(ValueError):
    """Wave arrays whose shapes or indices do not fit together."""


class UnknownAccount(KeyError):
    """An account external id that is not in the wave."""


_DEFAULT_ROLE_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"decision_maker": 3.0, "influencer": 2.0, "user": 1.0, "other": 1.0}
)


@dataclass(frozen=True)
class ScoringSettings:
    """What a program may configure, with the SCORING.md defaults."""

    cut_points: tuple[float, float, float] = (40.0, 60.0, 80.0)
    gap_threshold: float = 10.0
    role_weights: Mapping[str, float] = field(default_factory=lambda: dict(_DEFAULT_ROLE_WEIGHTS))
    bootstrap_samples: int = 2000
    bootstrap_seed: int = 0
    min_alpha_n: int = 10
    min_impact_n: int = 10
    low_n: int = 3

    def __post_init__(self) -> None:
        try:
            cuts = tuple(float(c) for c in self.cut_points)
            threshold = float(self.gap_threshold)
            weights = {
                **_DEFAULT_ROLE_WEIGHTS,
                **{k: float(v) for k, v in self.role_weights.items()},
            }
        except (TypeError, ValueError, AttributeError) as exc:
            raise InvalidScoringSettings(f"settings must be numbers: {exc}") from exc
        if len(cuts) != len(LEVELS) - 1 or not all(math.isfinite(c) for c in cuts):
            raise InvalidScoringSettings("cut_points must be three finite numbers")
        if not cuts[0] < cuts[1] < cuts[2]:
            raise InvalidScoringSettings("cut_points must increase")
        if not (math.isfinite(threshold) and threshold >= 0):
            raise InvalidScoringSettings("gap_threshold must be a number >= 0")
        unknown = set(weights) - set(ROLES)
        if unknown:
            raise InvalidScoringSettings(f"role_weights has unknown roles: {sorted(unknown)}")
        if not all(math.isfinite(w) and w > 0 for w in weights.values()):
            raise InvalidScoringSettings("role_weights must be positive numbers")
        if self.bootstrap_samples < 0 or min(self.min_alpha_n, self.min_impact_n, self.low_n) < 0:
            raise InvalidScoringSettings("sample sizes must be >= 0")
        object.__setattr__(self, "cut_points", cuts)
        object.__setattr__(self, "gap_threshold", threshold)
        object.__setattr__(self, "role_weights", MappingProxyType(weights))

    @classmethod
    def from_program(cls, settings: Mapping[str, Any] | None) -> ScoringSettings:
        """Settings from a program's `settings` document: reads cut_points, gap_threshold and role_weights, ignores the rest."""
        settings = settings or {}
        overrides: dict[str, Any] = {}
        if settings.get("cut_points") is not None:
            overrides["cut_points"] = settings["cut_points"]
        if settings.get("gap_threshold") is not None:
            overrides["gap_threshold"] = settings["gap_threshold"]
        if settings.get("role_weights") is not None:
            if not isinstance(settings["role_weights"], Mapping):
                raise InvalidScoringSettings("role_weights must map roles to weights")
            overrides["role_weights"] = settings["role_weights"]
        return cls(**overrides)

    def role_weight_vector(self) -> np.ndarray:
        """The weight of each role in ROLES order."""
        return np.array([self.role_weights[r] for r in ROLES], dtype=np.float64)


DEFAULT_SETTINGS = ScoringSettings()


# --------------------------------------------------------------------------- input


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

    def __post_init__(self) -> None:
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
        put(self, "buyer_contact", _int_array(self.buyer_contact))
        n_buyers = self.buyer_contact.shape[0]
        put(self, "buyer_answers", _matrix(self.buyer_answers, n_buyers, "buyer_answers"))
        _check_index(self.buyer_contact, n_contacts, "buyer_contact")
        if n_buyers and np.bincount(self.buyer_contact).max() > 1:
            raise InvalidWaveInput("a contact has more than one buyer response")
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
        _check_index(self.seller_id, n_sellers, "seller_id")
        _check_index(self.seller_contact, n_contacts, "seller_contact")
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
    accounts: dict[str, int] = {}
    account_rows: list[Mapping[str, Any]] = []
    contacts: dict[str, int] = {}
    contact_rows: list[Mapping[str, Any]] = []
    sellers: dict[str, int] = {}
    seller_rows: list[Mapping[str, Any]] = []
    for row in roster:  # input conversion: first appearance fixes each position
        if row["account_id"] not in accounts:
            accounts[row["account_id"]] = len(account_rows)
            account_rows.append(row)
        if row["contact_email"] not in contacts:
            contacts[row["contact_email"]] = len(contact_rows)
            contact_rows.append(row)
        seller = row.get("seller_email")
        if seller and seller not in sellers:
            sellers[seller] = len(seller_rows)
            seller_rows.append(row)
    try:
        buyer_contact = [contacts[r["contact_email"]] for r in buyer_responses]
        seller_contact = [contacts[r["contact_email"]] for r in seller_responses]
        seller_id = [sellers[r["seller_email"]] for r in seller_responses]
    except KeyError as exc:
        raise InvalidWaveInput(f"a response names {exc.args[0]!r}, not on the roster") from exc
    moment_buyer, moment_touchpoint, moment_tag, moment_text = [], [], [], []
    competitors: list[str | None] = []
    for i, response in enumerate(buyer_responses):
        answers = response["answers"]
        for moment in answers.get("moments") or ():
            moment_buyer.append(i)
            moment_touchpoint.append(moment["touchpoint"])
            moment_tag.append(moment["tag"])
            moment_text.append(moment.get("text") or "")
        competitors.append(answers.get("competitor.name"))

    def revenue(row: Mapping[str, Any]) -> float:
        value = row.get("annual_revenue")
        return math.nan if value in (None, "") else float(value)

    return WaveInput(
        account_external_id=[r["account_id"] for r in account_rows],
        account_name=[r.get("account_name") or r["account_id"] for r in account_rows],
        account_revenue=np.array([revenue(r) for r in account_rows], dtype=np.float64),
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
        moment_buyer=np.array(moment_buyer, dtype=np.intp),
        moment_touchpoint=np.array(
            [TOUCHPOINTS.index(t) for t in moment_touchpoint], dtype=np.intp
        ),
        moment_tag=np.array([MOMENT_TAGS.index(t) for t in moment_tag], dtype=np.intp),
        moment_text=moment_text,
        buyer_competitor=competitors,
    )


# --------------------------------------------------------------------------- one response


@dataclass(frozen=True, eq=False)
class ResponseScores:
    """Section 2 scores of n responses, one row each; categories are codes (MISSING = -1)."""

    item_scores: np.ndarray  # n x DIMENSION_ITEMS on 0..100
    dimensions: np.ndarray  # n x DIMENSIONS
    relationship_index: np.ndarray
    level: np.ndarray  # LEVEL_NAMES codes, INSUFFICIENT_CODE when RI is NaN
    nps_category: np.ndarray  # NPS_CATEGORIES codes
    segment: np.ndarray  # SEGMENTS codes
    satisfaction_trap: np.ndarray  # bool
    competitive_index: np.ndarray
    touchpoint_scores: np.ndarray  # n x TOUCHPOINTS on 0..100
    recommend: np.ndarray  # the raw 0..10 answer


def _mean_if_enough(values: np.ndarray, minimum: int) -> np.ndarray:
    """Mean over the last axis of the answered values, NaN where fewer than `minimum` are."""
    answered = ~np.isnan(values)
    present = np.where(answered, values, 0.0)
    if values.ndim < 2 or values.shape[0] < _SMALL_N:
        count = answered.sum(axis=-1)  # few rows: fewest numpy calls
        total = present.sum(axis=-1)
    else:
        # many rows: add the columns of the short last axis (faster than a reduction over it)
        total = present[..., 0].copy()
        count = answered[..., 0].astype(np.intp)
        for j in range(1, values.shape[-1]):
            total += present[..., j]
            count += answered[..., j]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    mean[count < minimum] = np.nan
    return mean


def _item_scores(raw: np.ndarray) -> np.ndarray:
    scores = raw - 1.0
    scores /= 6.0
    scores *= 100.0
    return scores


def level_codes(relationship_index: np.ndarray, cut_points: Sequence[float]) -> np.ndarray:
    """LEVEL_NAMES codes of RI values: each cut point belongs to the level above it."""
    ri = np.asarray(relationship_index, dtype=np.float64)
    level = np.searchsorted(np.asarray(cut_points, dtype=np.float64), ri + TOLERANCE, side="right")
    return np.where(np.isnan(ri), INSUFFICIENT_CODE, level).astype(np.int8)


def nps_category_codes(recommend: np.ndarray) -> np.ndarray:
    """NPS_CATEGORIES codes of 0..10 answers: 9-10 promoter, 7-8 passive, 0-6 detractor."""
    category = np.where(recommend >= 9, _PROMOTER, np.where(recommend >= 7, _PASSIVE, _DETRACTOR))
    return np.where(np.isnan(recommend), MISSING, category).astype(np.int8)


def account_nps_category_codes(nps: np.ndarray) -> np.ndarray:
    """NPS_CATEGORIES codes of account NPS values: >= 50 promoter, 0..50 passive, < 0 detractor."""
    category = np.where(
        nps >= _ACCOUNT_PROMOTER_NPS - TOLERANCE,
        _PROMOTER,
        np.where(nps >= _ACCOUNT_PASSIVE_NPS - TOLERANCE, _PASSIVE, _DETRACTOR),
    )
    return np.where(np.isnan(nps), MISSING, category).astype(np.int8)


def segment_codes(level: np.ndarray, nps_category: np.ndarray) -> np.ndarray:
    """SEGMENTS codes from level and NPS category codes; MISSING without an RI or a category."""
    segment = _SEGMENT_CODES[np.minimum(level, len(LEVELS) - 1), np.maximum(nps_category, 0)]
    missing = (level == INSUFFICIENT_CODE) | (level < 0) | (nps_category < 0)
    return np.where(missing, MISSING, segment).astype(np.int8)


def gap_class_codes(gap: np.ndarray, threshold: float) -> np.ndarray:
    """GAP_CLASSES codes: G >= T blind_spot, G <= -T undervalued, else aligned; MISSING for NaN."""
    gap_class = np.where(
        gap >= threshold - TOLERANCE,
        _BLIND_SPOT,
        np.where(gap <= -threshold + TOLERANCE, _UNDERVALUED, _ALIGNED),
    )
    return np.where(np.isnan(gap), MISSING, gap_class).astype(np.int8)


def score_responses(
    answers: np.ndarray, settings: ScoringSettings = DEFAULT_SETTINGS
) -> ResponseScores:
    """Section 2 scores of every row of an answers matrix (responses x RATED_ITEMS)."""
    raw = np.asarray(answers, dtype=np.float64)
    if raw.ndim != 2 or raw.shape[1] != len(RATED_ITEMS):
        raise InvalidWaveInput(f"answers must be n x {len(RATED_ITEMS)}")
    n = raw.shape[0]
    items = _item_scores(raw[:, :_N_DIM_ITEMS])
    dimensions = _mean_if_enough(items.reshape(n, len(DIMENSIONS), ITEMS_PER_DIMENSION), _MIN_ITEMS)
    ri = _mean_if_enough(dimensions, MIN_DIMENSIONS)
    level = level_codes(ri, settings.cut_points)
    recommend = raw[:, _RECOMMEND]
    category = nps_category_codes(recommend)
    trap = (raw[:, _SATISFACTION] >= _SATISFIED) & (
        dimensions[:, _COMMITMENT] < _COMMITTED - TOLERANCE
    )
    competitive = _mean_if_enough(raw[:, _COMPETITOR_COLS], 1) * _COMPETITOR_SCALE
    return ResponseScores(
        item_scores=items,
        dimensions=dimensions,
        relationship_index=ri,
        level=level,
        nps_category=category,
        segment=segment_codes(level, category),
        satisfaction_trap=trap,
        competitive_index=competitive,
        touchpoint_scores=_item_scores(raw[:, _TOUCHPOINT_COLS]),
        recommend=recommend,
    )


def _name(names: tuple[str, ...], code: int) -> str | None:
    return None if code < 0 else names[code]


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _numbers(values: np.ndarray) -> list[float | None]:
    return [v if v == v else None for v in np.asarray(values, dtype=np.float64).tolist()]


def response_scores_to_json(scores: ResponseScores, row: int) -> dict[str, Any]:
    """The scores of one response (row `row` of `scores`) as plain JSON."""
    return {
        "item_scores": dict(zip(DIMENSION_ITEMS, _numbers(scores.item_scores[row]), strict=True)),
        "dimensions": dict(zip(DIMENSIONS, _numbers(scores.dimensions[row]), strict=True)),
        "relationship_index": _number(scores.relationship_index[row]),
        "level": LEVEL_NAMES[int(scores.level[row])],
        "nps_category": _name(NPS_CATEGORIES, int(scores.nps_category[row])),
        "segment": _name(SEGMENTS, int(scores.segment[row])),
        "satisfaction_trap": bool(scores.satisfaction_trap[row]),
        "competitive_index": _number(scores.competitive_index[row]),
        "touchpoints": dict(zip(TOUCHPOINTS, _numbers(scores.touchpoint_scores[row]), strict=True)),
        "recommend": _number(scores.recommend[row]),
    }


def score_one(
    answers: Mapping[str, Any],
    settings: ScoringSettings = DEFAULT_SETTINGS,
    *,
    reverse_items: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The section 2 scores of one completed response, as response_scores_to_json gives them."""
    scores = score_responses(answers_to_matrix([answers], reverse_items), settings)
    return response_scores_to_json(scores, 0)


# --------------------------------------------------------------------------- pairs, contacts, accounts


@dataclass(frozen=True, eq=False)
class PairScores:
    """Section 3: one row per buyer response x seller response about the same contact."""

    buyer_row: np.ndarray
    seller_row: np.ndarray
    contact: np.ndarray
    seller: np.ndarray
    dimension_gaps: np.ndarray  # pairs x DIMENSIONS, seller minus buyer
    gap: np.ndarray
    item_gaps: np.ndarray  # pairs x DIMENSION_ITEMS
    nps_gap: np.ndarray
    gap_class: np.ndarray  # GAP_CLASSES codes
    dimension_gap_classes: np.ndarray


@dataclass(frozen=True, eq=False)
class ContactScores:
    """One row per roster contact; contacts without a buyer response have NaN and MISSING."""

    buyer_row: np.ndarray  # -1 without a buyer response
    weight: np.ndarray
    relationship_index: np.ndarray
    dimensions: np.ndarray
    level: np.ndarray  # MISSING without a buyer response
    nps_category: np.ndarray
    segment: np.ndarray
    satisfaction_trap: np.ndarray
    competitive_index: np.ndarray
    recommend: np.ndarray
    seller_dimensions: np.ndarray  # mean over seller responses about the contact
    seller_relationship_index: np.ndarray
    n_seller_responses: np.ndarray
    gap: np.ndarray  # mean over the contact's pairs
    dimension_gaps: np.ndarray
    nps_gap: np.ndarray
    gap_class: np.ndarray
    dimension_gap_classes: np.ndarray
    n_pairs: np.ndarray


@dataclass(frozen=True, eq=False)
class AccountScores:
    """Section 4: one row per account, role-weighted over its buyers."""

    relationship_index: np.ndarray
    dimensions: np.ndarray
    level: np.ndarray
    gap: np.ndarray
    dimension_gaps: np.ndarray
    gap_class: np.ndarray
    nps: np.ndarray  # influence-weighted
    nps_unweighted: np.ndarray
    nps_category: np.ndarray  # from the weighted NPS (>= 50, >= 0, < 0)
    n_nps: np.ndarray
    segment: np.ndarray
    revenue_at_risk: np.ndarray
    priority: np.ndarray  # revenue * (100 - RI) / 100
    n_buyers: np.ndarray
    n_contacts: np.ndarray


@dataclass(frozen=True, eq=False)
class _Structure:
    buyers: ResponseScores
    sellers: ResponseScores
    pairs: PairScores
    contacts: ContactScores
    accounts: AccountScores


def _grouped_mean(
    groups: np.ndarray, values: np.ndarray, size: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(Weighted) mean of the non-NaN values per group; without weights also how many there were.

    `values` may have a second axis (dimensions): each column is grouped on its own.
    """
    columns = values.shape[1] if values.ndim == 2 else 1
    index = groups if columns == 1 else (groups[:, None] * columns + np.arange(columns)).ravel()
    valid = ~np.isnan(values)
    present = np.where(valid, values, 0.0)
    length = size * columns
    if weights is None:
        total = np.bincount(index, weights=present.ravel(), minlength=length)
        weight = np.bincount(index, weights=valid.ravel(), minlength=length)
        count = weight.astype(np.int64)
    else:
        w = np.where(valid, weights if columns == 1 else weights[:, None], 0.0)
        total = np.bincount(index, weights=(present * w).ravel(), minlength=length)
        weight = np.bincount(index, weights=w.ravel(), minlength=length)
        count = None  # weights are positive: no weight means no value
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / weight
    mean[weight == 0] = np.nan
    if columns > 1 and values.ndim == 2:
        mean = mean.reshape(size, columns)
        count = None if count is None else count.reshape(size, columns)
    return mean, count


def _grouped_mean_columns(
    groups: np.ndarray, values: np.ndarray, size: int, weights: np.ndarray | None = None
) -> np.ndarray:
    return _grouped_mean(groups, values, size, weights)[0]


def _score_structure(
    wave: WaveInput,
    settings: ScoringSettings,
    *,
    with_sellers: bool = True,
    buyers: ResponseScores | None = None,
) -> _Structure:
    """Sections 2 to 4 for every response, pair, contact and account; without sellers (enough
    for a previous wave's trends) the gaps are NaN."""
    n_contacts, n_accounts = len(wave.contact_key), len(wave.account_external_id)
    threshold = settings.gap_threshold
    seller_rows = slice(None) if with_sellers else slice(0, 0)
    seller_contact, seller_id = wave.seller_contact[seller_rows], wave.seller_id[seller_rows]
    if buyers is None:
        buyers = score_responses(wave.buyer_answers, settings)
    sellers = score_responses(wave.seller_answers[seller_rows], settings)

    # pairs: each seller response about a contact that has a buyer response
    buyer_row_of_contact = np.full(n_contacts, -1, dtype=np.intp)
    buyer_row_of_contact[wave.buyer_contact] = np.arange(wave.n_buyers)
    matched = buyer_row_of_contact[seller_contact]
    seller_row = np.flatnonzero(matched >= 0)
    buyer_row = matched[seller_row]
    dimension_gaps = sellers.dimensions[seller_row] - buyers.dimensions[buyer_row]
    gap = sellers.relationship_index[seller_row] - buyers.relationship_index[buyer_row]
    pairs = PairScores(
        buyer_row=buyer_row,
        seller_row=seller_row,
        contact=seller_contact[seller_row],
        seller=seller_id[seller_row],
        dimension_gaps=dimension_gaps,
        gap=gap,
        item_gaps=sellers.item_scores[seller_row] - buyers.item_scores[buyer_row],
        nps_gap=sellers.recommend[seller_row] - buyers.recommend[buyer_row],
        gap_class=gap_class_codes(gap, threshold),
        dimension_gap_classes=gap_class_codes(dimension_gaps, threshold),
    )

    # contacts: the buyer's own scores, the sellers' view and the mean over pairs
    def per_contact(values: np.ndarray, fill: Any) -> np.ndarray:
        out = np.full((n_contacts, *values.shape[1:]), fill, dtype=values.dtype)
        out[wave.buyer_contact] = values
        return out

    contact_gap, n_pairs = _grouped_mean(pairs.contact, gap, n_contacts)
    contact_dimension_gaps = _grouped_mean_columns(pairs.contact, dimension_gaps, n_contacts)
    seller_ri, _ = _grouped_mean(seller_contact, sellers.relationship_index, n_contacts)
    weight = settings.role_weight_vector()[wave.contact_role]
    contact_ri = per_contact(buyers.relationship_index, np.nan)
    contact_dimensions = per_contact(buyers.dimensions, np.nan)
    contact_category = per_contact(buyers.nps_category, MISSING)
    contacts = ContactScores(
        buyer_row=buyer_row_of_contact,
        weight=weight,
        relationship_index=contact_ri,
        dimensions=contact_dimensions,
        level=per_contact(buyers.level, MISSING),
        nps_category=contact_category,
        segment=per_contact(buyers.segment, MISSING),
        satisfaction_trap=per_contact(buyers.satisfaction_trap, False),
        competitive_index=per_contact(buyers.competitive_index, np.nan),
        recommend=per_contact(buyers.recommend, np.nan),
        seller_dimensions=_grouped_mean_columns(seller_contact, sellers.dimensions, n_contacts),
        seller_relationship_index=seller_ri,
        n_seller_responses=np.bincount(seller_contact, minlength=n_contacts),
        gap=contact_gap,
        dimension_gaps=contact_dimension_gaps,
        nps_gap=_grouped_mean(pairs.contact, pairs.nps_gap, n_contacts)[0],
        gap_class=gap_class_codes(contact_gap, threshold),
        dimension_gap_classes=gap_class_codes(contact_dimension_gaps, threshold),
        n_pairs=n_pairs,
    )

    # accounts: role-weighted means over buyers whose value is not NaN
    account = wave.contact_account
    account_ri = _grouped_mean(account, contact_ri, n_accounts, weight)[0]
    account_gap = _grouped_mean(account, contact_gap, n_accounts, weight)[0]
    answered = contact_category >= 0
    promoter = contact_category == _PROMOTER
    detractor = contact_category == _DETRACTOR

    def account_sum(values: np.ndarray) -> np.ndarray:
        return np.bincount(account, weights=values, minlength=n_accounts)

    n_nps = account_sum(answered)
    with np.errstate(invalid="ignore", divide="ignore"):
        nps = 100.0 * (account_sum(promoter * weight) - account_sum(detractor * weight))
        nps /= account_sum(answered * weight)
        nps_unweighted = 100.0 * (account_sum(promoter) - account_sum(detractor)) / n_nps
    nps[n_nps == 0] = np.nan
    nps_unweighted[n_nps == 0] = np.nan
    account_level = level_codes(account_ri, settings.cut_points)
    account_category = account_nps_category_codes(nps)
    revenue = wave.account_revenue
    at_risk = (account_level == _ANTAGONISTIC) | (account_level == _TRANSACTIONAL)
    accounts = AccountScores(
        relationship_index=account_ri,
        dimensions=_grouped_mean_columns(account, contact_dimensions, n_accounts, weight),
        level=account_level,
        gap=account_gap,
        dimension_gaps=_grouped_mean_columns(account, contact_dimension_gaps, n_accounts, weight),
        gap_class=gap_class_codes(account_gap, threshold),
        nps=nps,
        nps_unweighted=nps_unweighted,
        nps_category=account_category,
        n_nps=n_nps.astype(np.int64),
        segment=segment_codes(account_level, account_category),
        revenue_at_risk=np.where(at_risk & ~np.isnan(revenue), revenue, 0.0),
        priority=revenue * (100.0 - account_ri) / 100.0,
        n_buyers=np.bincount(account[wave.buyer_contact], minlength=n_accounts),
        n_contacts=np.bincount(account, minlength=n_accounts),
    )
    return _Structure(buyers, sellers, pairs, contacts, accounts)


# --------------------------------------------------------------------------- the wave


@dataclass(frozen=True)
class Estimate:
    """A wave figure with its 95% interval (NaN when not bootstrapped) and the n behind it."""

    value: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Distribution:
    """How many contacts (buyer responses) and accounts fall in each class, and their revenue."""

    contacts: dict[str, int]
    accounts: dict[str, int]
    revenue: dict[str, float]


@dataclass(frozen=True)
class DimensionSummary:
    """Section 5 per dimension: buyer and seller means, mean gap, class shares and alpha."""

    buyer: float
    n_buyer: int
    seller: float
    n_seller: int
    gap: float
    n_pairs: int  # pairs whose gap on this dimension is not NaN
    classes: dict[str, float]  # share of those pairs in each gap class
    alpha: float
    n_alpha: int  # buyer responses with every item of the dimension answered


@dataclass(frozen=True)
class TouchpointSummary:
    """Section 5 per touchpoint: performance, impact on RI and quadrant."""

    performance: float
    n: int
    impact: float
    n_impact: int
    quadrant: str | None


@dataclass(frozen=True, eq=False)
class SellerCoaching:
    """Section 7 per seller (rows follow WaveInput.seller_email)."""

    priority: np.ndarray  # sellers x DIMENSIONS, sum of w_c * (need + blind)
    has_score: np.ndarray  # sellers x DIMENSIONS: some contact has a buyer score
    top_dimensions: np.ndarray  # sellers x 3 DIMENSIONS codes by priority, -1 when fewer
    dimension_gaps: np.ndarray  # sellers x DIMENSIONS, role-weighted mean G_d over pairs
    dimension_gap_classes: np.ndarray
    pair_expand: np.ndarray  # per pair: undervalued contact with buyer RI >= 60


@dataclass(frozen=True)
class Alert:
    """A `relationship.alert` trigger for the owner of `account_external_id`.

    `contact_key` is None for an account-level trigger; `previous` and `current` are the RI
    values (ri_drop, antagonistic) or level / NPS category names (level_drop, became_detractor).
    """

    reason: str
    account_external_id: str
    contact_key: str | None
    previous: float | str | None
    current: float | str | None


@dataclass(frozen=True, eq=False)
class AlertTable:
    """Section 6 triggers as arrays, one row each: ALERT_REASONS code, account and contact
    positions (contact -1 for an account-level trigger), and the values before and after
    (RI, or level / NPS category codes)."""

    reason: np.ndarray
    account: np.ndarray
    contact: np.ndarray
    previous: np.ndarray
    current: np.ndarray


@dataclass(frozen=True, eq=False)
class AlertColumns:
    """The alert triggers column by column (the fields of Alert), one entry per trigger."""

    reason: list[str]
    account_external_id: list[str]
    contact_key: list[str | None]
    previous: list[float | str | None]
    current: list[float | str | None]


@dataclass(frozen=True, eq=False)
class Trends:
    """Section 6 against the previous wave, per contact and per account of this wave.

    `*_previous` is the position in the previous wave (-1 if absent); previous values are NaN
    or MISSING where absent; level changes are in steps, NaN unless both waves have a level.
    """

    contact_previous: np.ndarray
    contact_previous_ri: np.ndarray
    contact_previous_level: np.ndarray
    contact_previous_nps_category: np.ndarray
    contact_delta_ri: np.ndarray
    contact_level_change: np.ndarray
    account_previous: np.ndarray
    account_previous_ri: np.ndarray
    account_previous_level: np.ndarray
    account_previous_nps_category: np.ndarray
    account_delta_ri: np.ndarray
    account_level_change: np.ndarray
    contacts_compared: int  # contacts with a buyer response in both waves
    accounts_compared: int


def _grouping(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions ordered by key (stable, so in their own order within a key) and where each
    key's run starts (size + 1 offsets): the rows of key k are order[starts[k]:starts[k + 1]]."""
    order = np.argsort(keys, kind="stable")
    starts = np.zeros(size + 1, dtype=np.intp)
    np.cumsum(np.bincount(keys, minlength=size), out=starts[1:])
    return order, starts


@dataclass(frozen=True, eq=False)
class WaveResult:
    """Everything section 2 to 7 computes for one wave."""

    wave: WaveInput
    settings: ScoringSettings
    buyers: ResponseScores
    sellers: ResponseScores
    pairs: PairScores
    contacts: ContactScores
    accounts: AccountScores
    relationship_index: Estimate
    relationship_index_revenue_weighted: Estimate  # n counts accounts
    nps: Estimate
    nps_revenue_weighted: Estimate  # n counts accounts
    levels: Distribution
    segments: Distribution
    dimensions: dict[str, DimensionSummary]
    touchpoints: dict[str, TouchpointSummary]
    moment_counts: dict[str, dict[str, int]]
    competitors: dict[str, int]  # normalised name -> buyers naming it, most named first
    revenue_at_risk: float
    coaching: SellerCoaching
    account_ranking: np.ndarray  # account positions by priority, highest first, NaN last
    alert_table: AlertTable
    trends: Trends | None

    @cached_property
    def alert_columns(self) -> AlertColumns:
        """The section 6 triggers as plain Python columns, in alert_table order (an RI that
        is NaN, e.g. no previous RI, is None)."""
        table, wave = self.alert_table, self.wave
        reason = table.reason
        previous = np.array(table.previous, dtype=object)
        current = np.array(table.current, dtype=object)
        for name, labels in (("level_drop", LEVEL_NAMES), ("became_detractor", NPS_CATEGORIES)):
            rows = reason == ALERT_REASONS.index(name)
            label = np.array(labels, dtype=object)
            previous[rows] = label[table.previous[rows].astype(np.intp)]
            current[rows] = label[table.current[rows].astype(np.intp)]
        valued = ~np.isin(
            reason, [ALERT_REASONS.index("level_drop"), ALERT_REASONS.index("became_detractor")]
        )
        previous[valued & ~np.isfinite(table.previous)] = None
        current[valued & ~np.isfinite(table.current)] = None
        contact = table.contact
        keys = np.array(wave.contact_key, dtype=object)[np.maximum(contact, 0)]
        keys[contact < 0] = None
        return AlertColumns(
            reason=np.array(ALERT_REASONS, dtype=object)[reason].tolist(),
            account_external_id=np.array(wave.account_external_id, dtype=object)[
                table.account
            ].tolist(),
            contact_key=keys.tolist(),
            previous=previous.tolist(),
            current=current.tolist(),
        )

    @cached_property
    def alerts(self) -> tuple[Alert, ...]:
        """The section 6 triggers as Alert objects, in alert_table order."""
        columns = self.alert_columns
        return tuple(
            map(
                Alert,
                columns.reason,
                columns.account_external_id,
                columns.contact_key,
                columns.previous,
                columns.current,
            )
        )

    @cached_property
    def _account_positions(self) -> dict[str, int]:
        return dict(
            zip(
                self.wave.account_external_id.tolist(),
                range(len(self.wave.account_external_id)),
                strict=True,
            )
        )

    @cached_property
    def _contacts_by_account(self) -> tuple[np.ndarray, np.ndarray]:
        return _grouping(self.wave.contact_account, len(self.wave.account_external_id))

    @cached_property
    def _moments_by_account(self) -> tuple[np.ndarray, np.ndarray]:
        wave = self.wave
        account = wave.contact_account[wave.buyer_contact[wave.moment_buyer]]
        return _grouping(account, len(wave.account_external_id))

    @cached_property
    def _pairs_by_account(self) -> tuple[np.ndarray, np.ndarray]:
        account = self.wave.contact_account[self.pairs.contact]
        return _grouping(account, len(self.wave.account_external_id))

    @cached_property
    def _pairs_by_seller(self) -> tuple[np.ndarray, np.ndarray]:
        return _grouping(self.pairs.seller, len(self.wave.seller_email))

    def rows_of(self, grouping: str, position: int) -> np.ndarray:
        """Positions (in order) of the contacts, moments or pairs of one account or seller:
        `grouping` is one of contacts_by_account, moments_by_account, pairs_by_account,
        pairs_by_seller."""
        order, starts = getattr(self, f"_{grouping}")
        return order[starts[position] : starts[position + 1]]

    @cached_property
    def _seller_positions(self) -> dict[str, int]:
        emails = self.wave.seller_email.tolist()
        return {email: i for i, email in reversed(list(enumerate(emails)))}

    def seller_position(self, email: str) -> int:
        """The position of a seller (for seller_plan_to_json), or KeyError."""
        return self._seller_positions[email]

    def account_position(self, external_id: str) -> int:
        """The position of an account, or UnknownAccount."""
        try:
            return self._account_positions[external_id]
        except KeyError:
            raise UnknownAccount(external_id) from None


def _resample_sums(values: np.ndarray, *, samples: int, seed: int) -> np.ndarray:
    """Sums of `samples` resamples of `values` by index: row b of the B x n index matrix
    `default_rng(seed).integers(0, n, (B, n))` picks replicate b.

    The matrix is drawn a chunk of rows at a time to bound memory; PCG64 keeps its spare
    32-bit half between calls, so the chunks are exactly the rows of the one big draw.
    """
    n = values.shape[0]
    rng = np.random.default_rng(seed)
    sums = np.empty(samples, dtype=values.dtype)
    index_type = np.int32 if n < 2**31 else np.int64  # the same draws as int64, faster
    rows = max(1, _CHUNK_ELEMENTS // n)
    chunks = [(start, min(rows, samples - start)) for start in range(0, samples, rows)]

    def draw(count: int) -> np.ndarray:
        return rng.integers(0, n, (count, n), dtype=index_type)

    if n < _PIPELINE_MIN_N:
        for start, count in chunks:
            sums[start : start + count] = values.take(draw(count)).sum(axis=1)
        return sums
    # a helper thread draws the next chunk while this one is gathered (both release the GIL)
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = pool.submit(draw, chunks[0][1])
        for k, (start, count) in enumerate(chunks):
            index = upcoming.result()
            if k + 1 < len(chunks):
                upcoming = pool.submit(draw, chunks[k + 1][1])
            sums[start : start + count] = values.take(index).sum(axis=1)
    return sums


def _distinct_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values (ascending) and how many responses hold each.

    Values on the same multiple of BOOTSTRAP_RESOLUTION (`rint(v / BOOTSTRAP_RESOLUTION)`) are
    one value, the mean of its members: float noise of one score in sixths, not a different score.
    """
    keys = np.rint(values / BOOTSTRAP_RESOLUTION)
    _, group, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return np.bincount(group, weights=values) / counts, counts


def _multinomial_sums(
    distinct: np.ndarray, counts: np.ndarray, *, samples: int, seed: int
) -> np.ndarray:
    """Sums of `samples` resamples: row b of `default_rng(seed).multinomial(n, counts / n, B)`
    says how often replicate b takes each distinct value.

    Drawn a chunk of rows at a time; each row is its own draw, so the chunks are exactly
    the rows of the one big draw.
    """
    n = int(counts.sum())
    rng = np.random.default_rng(seed)
    shares = counts / n
    sums = np.empty(samples, dtype=np.float64)
    rows = max(1, _CHUNK_ELEMENTS // distinct.size)
    for start in range(0, samples, rows):
        count = min(rows, samples - start)
        sums[start : start + count] = rng.multinomial(n, shares, size=count) @ distinct
    return sums


def _bootstrap_means(values: np.ndarray, *, samples: int, seed: int) -> np.ndarray:
    """The `samples` replicate means of a percentile bootstrap of `values` (no NaN, n > 0).

    Resampling n values with replacement gives each distinct value Multinomial(n, share) counts,
    so when n >= BOOTSTRAP_COUNTS_RATIO x the distinct values the counts are drawn (cheap: NPS
    has 3 values, RI a grid of sixths); otherwise the n indices are.
    """
    distinct, counts = _distinct_values(values)
    if values.size >= BOOTSTRAP_COUNTS_RATIO * distinct.size:
        return _multinomial_sums(distinct, counts, samples=samples, seed=seed) / values.size
    return _resample_sums(values, samples=samples, seed=seed) / values.size


def _percentile_interval(means: np.ndarray) -> tuple[float, float]:
    if means.size == 0:
        return math.nan, math.nan
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def _bootstrap_intervals(
    ri: np.ndarray, nps_scores: np.ndarray, settings: ScoringSettings
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Percentile 95% intervals of the mean RI and the NPS, each over its own answered buyers
    and each drawn from its own default_rng(seed) (see _bootstrap_means)."""
    samples, seed = settings.bootstrap_samples, settings.bootstrap_seed
    intervals = []
    for scores in (ri, nps_scores):
        values = scores[~np.isnan(scores)]
        if samples == 0 or values.size == 0:
            intervals.append((math.nan, math.nan))
        else:
            intervals.append(
                _percentile_interval(_bootstrap_means(values, samples=samples, seed=seed))
            )
    return intervals[0], intervals[1]


def _nps_scores(category: np.ndarray) -> np.ndarray:
    """Per response: 100 promoter, 0 passive, -100 detractor, NaN unanswered; the NPS is their mean."""
    return np.select(
        [category == _PROMOTER, category == _PASSIVE, category == _DETRACTOR],
        [100.0, 0.0, -100.0],
        np.nan,
    )


def _mean(values: np.ndarray) -> tuple[float, int]:
    valid = values[~np.isnan(values)]
    return (float(valid.mean()) if valid.size else math.nan), int(valid.size)


def _revenue_weighted(values: np.ndarray, revenue: np.ndarray) -> Estimate:
    valid = ~np.isnan(values) & ~np.isnan(revenue)
    total = revenue[valid].sum()
    value = float((revenue[valid] * values[valid]).sum() / total) if total > 0 else math.nan
    return Estimate(value, math.nan, math.nan, int(valid.sum()))


def _counts(codes: np.ndarray, names: tuple[str, ...]) -> dict[str, int]:
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    return dict(zip(names, counts.tolist(), strict=True))


def _distribution(
    contact_codes: np.ndarray,
    account_codes: np.ndarray,
    revenue: np.ndarray,
    names: tuple[str, ...],
) -> Distribution:
    known = account_codes >= 0
    money = np.bincount(
        account_codes[known], weights=np.nan_to_num(revenue[known]), minlength=len(names)
    )
    return Distribution(
        contacts=_counts(contact_codes, names),
        accounts=_counts(account_codes, names),
        revenue=dict(zip(names, money.tolist(), strict=True)),
    )


def cronbach_alpha(items: np.ndarray, minimum: int = 10) -> tuple[float, int]:
    """Cronbach's alpha (ddof 1) over the rows with every item answered, and that n; NaN under `minimum`."""
    k = items.shape[1]
    columns = [items[:, j] for j in range(k)]  # over items
    complete = ~np.isnan(columns[0])
    for column in columns[1:]:
        complete &= ~np.isnan(column)
    n = int(complete.sum())
    if n < max(minimum, 2) or k < 2:
        return math.nan, n
    answered = [column[complete] for column in columns]
    total_variance = float(sum(answered[1:], answered[0]).var(ddof=1))
    if total_variance == 0:
        return math.nan, n
    item_variance = sum(float(column.var(ddof=1)) for column in answered)
    return float(k / (k - 1) * (1.0 - item_variance / total_variance)), n


def pearson(x: np.ndarray, y: np.ndarray, minimum: int = 10) -> tuple[float, int]:
    """Pearson correlation over the rows where both are answered, and that n; NaN under `minimum`."""
    both = ~np.isnan(x) & ~np.isnan(y)
    n = int(both.sum())
    if n < max(minimum, 2):
        return math.nan, n
    dx = x[both] - x[both].mean()
    dy = y[both] - y[both].mean()
    denominator = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    return (float((dx * dy).sum()) / denominator if denominator > 0 else math.nan), n


def _dimension_summaries(
    structure: _Structure, settings: ScoringSettings
) -> dict[str, DimensionSummary]:
    buyers, sellers, pairs = structure.buyers, structure.sellers, structure.pairs
    summaries = {}
    for d, dimension in enumerate(DIMENSIONS):
        buyer, n_buyer = _mean(buyers.dimensions[:, d])
        seller, n_seller = _mean(sellers.dimensions[:, d])
        gap, n_pairs = _mean(pairs.dimension_gaps[:, d])
        classes = pairs.dimension_gap_classes[:, d]
        counts = np.bincount(classes[classes >= 0], minlength=len(GAP_CLASSES))
        shares = (counts / n_pairs).tolist() if n_pairs else [math.nan] * len(GAP_CLASSES)
        columns = slice(d * ITEMS_PER_DIMENSION, (d + 1) * ITEMS_PER_DIMENSION)
        alpha, n_alpha = cronbach_alpha(buyers.item_scores[:, columns], settings.min_alpha_n)
        summaries[dimension] = DimensionSummary(
            buyer=buyer,
            n_buyer=n_buyer,
            seller=seller,
            n_seller=n_seller,
            gap=gap,
            n_pairs=n_pairs,
            classes=dict(zip(GAP_CLASSES, shares, strict=True)),
            alpha=alpha,
            n_alpha=n_alpha,
        )
    return summaries


def _touchpoint_summaries(
    buyers: ResponseScores, settings: ScoringSettings
) -> dict[str, TouchpointSummary]:
    performance, n, impact, n_impact = [], [], [], []
    for t in range(len(TOUCHPOINTS)):
        scores = buyers.touchpoint_scores[:, t]
        mean, count = _mean(scores)
        r, count_both = pearson(scores, buyers.relationship_index, settings.min_impact_n)
        performance.append(mean)
        n.append(count)
        impact.append(r)
        n_impact.append(count_both)
    rated = [t for t in range(len(TOUCHPOINTS)) if not math.isnan(impact[t])]
    quadrants: list[str | None] = [None] * len(TOUCHPOINTS)
    if rated:
        impact_median = float(np.median([impact[t] for t in rated]))
        performance_median = float(np.median([performance[t] for t in rated]))
        for t in rated:
            high_impact = impact[t] >= impact_median - TOLERANCE
            high_performance = performance[t] >= performance_median - TOLERANCE
            quadrants[t] = (
                ("protect" if high_performance else "fix_first")
                if high_impact
                else ("maintain" if high_performance else "monitor")
            )
    return {
        name: TouchpointSummary(performance[t], n[t], impact[t], n_impact[t], quadrants[t])
        for t, name in enumerate(TOUCHPOINTS)
    }


def normalise_competitor(name: str | None) -> str | None:
    """A competitor name case-folded with its whitespace collapsed and stripped; None when empty."""
    if not isinstance(name, str):
        return None
    normal = " ".join(name.casefold().split())
    return normal or None


def _competitor_counts(names: Sequence[str | None]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for raw, count in Counter(names).items():  # over distinct raw names, not responses
        normal = normalise_competitor(raw)
        if normal is not None:
            counts[normal] += count
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _seller_coaching(
    wave: WaveInput, structure: _Structure, settings: ScoringSettings
) -> SellerCoaching:
    pairs, buyers, contacts = structure.pairs, structure.buyers, structure.contacts
    n_sellers = len(wave.seller_email)
    weight = contacts.weight[pairs.contact]
    buyer_dimensions = buyers.dimensions[pairs.buyer_row]
    scored = ~np.isnan(buyer_dimensions)
    need = (100.0 - buyer_dimensions) / 100.0
    blind = np.maximum(0.0, np.nan_to_num(pairs.dimension_gaps, nan=0.0)) / 100.0
    contribution = np.where(scored, weight[:, None] * (need + blind), 0.0)
    priority = np.empty((n_sellers, len(DIMENSIONS)))
    has_score = np.empty((n_sellers, len(DIMENSIONS)), dtype=bool)
    for d in range(len(DIMENSIONS)):
        priority[:, d] = np.bincount(pairs.seller, weights=contribution[:, d], minlength=n_sellers)
        has_score[:, d] = np.bincount(pairs.seller, weights=scored[:, d], minlength=n_sellers) > 0
    # priorities equal to 1e-9 (float noise on an exact tie) rank in dimension order
    steps = np.rint(priority * _PRIORITY_STEPS)
    order = np.argsort(np.where(has_score, -steps, np.inf), axis=1, kind="stable")[:, :3]
    top = np.where(np.take_along_axis(has_score, order, axis=1), order, -1)
    seller_gaps = _grouped_mean_columns(pairs.seller, pairs.dimension_gaps, n_sellers, weight)
    expand = (contacts.gap_class[pairs.contact] == _UNDERVALUED) & (
        buyers.relationship_index[pairs.buyer_row] >= _EXPAND_RI - TOLERANCE
    )
    return SellerCoaching(
        priority=priority,
        has_score=has_score,
        top_dimensions=top,
        dimension_gaps=seller_gaps,
        dimension_gap_classes=gap_class_codes(seller_gaps, settings.gap_threshold),
        pair_expand=expand,
    )


def _match_keys(current: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Position of each current key among the previous keys (the first one), -1 where absent."""
    if len(current) == len(previous) and np.array_equal(current, previous):
        # the usual case, an unchanged roster, needs no lookup (keys are unique)
        if len(set(previous.tolist())) == len(previous):
            return np.arange(len(current), dtype=np.intp)
    positions = dict(zip(previous.tolist()[::-1], range(len(previous) - 1, -1, -1), strict=True))
    return np.array(list(map(positions.get, current.tolist(), repeat(-1))), dtype=np.intp)


def _previous_values(
    position: np.ndarray, ri: np.ndarray, level: np.ndarray, category: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The previous wave's RI, level and NPS category at `position` (NaN / MISSING where -1)."""
    found = position >= 0
    at = position[found]
    before_ri = np.full(position.shape, np.nan)
    before_level = np.full(position.shape, MISSING, dtype=np.int8)
    before_category = np.full(position.shape, MISSING, dtype=np.int8)
    before_ri[found] = ri[at]
    before_level[found] = level[at]
    before_category[found] = category[at]
    return before_ri, before_level, before_category


def _level_change(level: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Steps between two levels, NaN unless both are real levels (not insufficient, not absent)."""
    real = (before >= 0) & (before < INSUFFICIENT_CODE) & (level >= 0) & (level < INSUFFICIENT_CODE)
    return np.where(real, level.astype(np.float64) - before, np.nan)


def _trends(
    wave: WaveInput, now: _Structure, previous_wave: WaveInput, before: _Structure
) -> Trends:
    contact_previous = _match_keys(wave.contact_key, previous_wave.contact_key)
    account_previous = _match_keys(wave.account_external_id, previous_wave.account_external_id)
    contact_ri, contact_level, contact_category = _previous_values(
        contact_previous,
        before.contacts.relationship_index,
        before.contacts.level,
        before.contacts.nps_category,
    )
    account_ri, account_level, account_category = _previous_values(
        account_previous,
        before.accounts.relationship_index,
        before.accounts.level,
        before.accounts.nps_category,
    )
    both = (contact_level >= 0) & (now.contacts.level >= 0)  # a buyer response in each wave
    return Trends(
        contact_previous=contact_previous,
        contact_previous_ri=contact_ri,
        contact_previous_level=contact_level,
        contact_previous_nps_category=contact_category,
        contact_delta_ri=now.contacts.relationship_index - contact_ri,
        contact_level_change=_level_change(now.contacts.level, contact_level),
        account_previous=account_previous,
        account_previous_ri=account_ri,
        account_previous_level=account_level,
        account_previous_nps_category=account_category,
        account_delta_ri=now.accounts.relationship_index - account_ri,
        account_level_change=_level_change(now.accounts.level, account_level),
        contacts_compared=int(both.sum()),
        accounts_compared=int((account_previous >= 0).sum()),
    )


def _alert_table(wave: WaveInput, now: _Structure, trends: Trends | None) -> AlertTable:
    """Section 6 triggers, ordered by account, account-level first, then contact and reason."""
    contacts, accounts = now.contacts, now.accounts
    parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(
        reason: str, rows: np.ndarray, on_contacts: bool, before: np.ndarray, after: np.ndarray
    ) -> None:
        account = wave.contact_account[rows] if on_contacts else rows
        contact = rows if on_contacts else np.full(rows.size, -1, dtype=np.intp)
        code = np.full(rows.size, ALERT_REASONS.index(reason), dtype=np.int8)
        parts.append(
            (
                code,
                account,
                contact,
                before[rows].astype(np.float64),
                after[rows].astype(np.float64),
            )
        )

    nothing = np.full(len(wave.contact_key), np.nan)
    antagonistic = np.flatnonzero(contacts.level == _ANTAGONISTIC)
    add("antagonistic", antagonistic, True, nothing, contacts.relationship_index)
    if trends is not None:
        sides = (
            (
                True,
                contacts,
                trends.contact_level_change,
                trends.contact_delta_ri,
                trends.contact_previous_level,
                trends.contact_previous_ri,
            ),
            (
                False,
                accounts,
                trends.account_level_change,
                trends.account_delta_ri,
                trends.account_previous_level,
                trends.account_previous_ri,
            ),
        )
        for on_contacts, scores, change, delta, before_level, before_ri in sides:
            add("level_drop", np.flatnonzero(change <= -1), on_contacts, before_level, scores.level)
            fell = np.flatnonzero(delta <= _ALERT_RI_DROP + TOLERANCE)
            add("ri_drop", fell, on_contacts, before_ri, scores.relationship_index)
        before = trends.contact_previous_nps_category
        became = (contacts.nps_category == _DETRACTOR) & (
            (before == _PROMOTER) | (before == _PASSIVE)
        )
        add("became_detractor", np.flatnonzero(became), True, before, contacts.nps_category)
    reason, account, contact, previous, current = (
        np.concatenate(column) for column in zip(*parts, strict=True)
    )
    order = np.lexsort((reason, contact, account))
    return AlertTable(
        reason[order], account[order], contact[order], previous[order], current[order]
    )


def score_wave(
    wave: WaveInput,
    settings: ScoringSettings = DEFAULT_SETTINGS,
    previous: WaveInput | None = None,
) -> WaveResult:
    """Every SCORING.md figure of one wave; with `previous` (the program's last closed wave) also trends."""
    buyers = score_responses(wave.buyer_answers, settings)
    nps_scores = _nps_scores(buyers.nps_category)
    arguments = (buyers.relationship_index, nps_scores, settings)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the bootstrap needs only the buyers' scores: on a big wave it runs beside the rest
        if wave.n_buyers >= _PIPELINE_MIN_N:
            intervals = pool.submit(_bootstrap_intervals, *arguments)
        else:
            intervals = Future()
            intervals.set_result(_bootstrap_intervals(*arguments))
        return _assemble(wave, settings, previous, buyers, nps_scores, intervals)


def _assemble(
    wave: WaveInput,
    settings: ScoringSettings,
    previous: WaveInput | None,
    buyers: ResponseScores,
    nps_scores: np.ndarray,
    intervals: Future,
) -> WaveResult:
    structure = _score_structure(wave, settings, buyers=buyers)
    accounts = structure.accounts
    revenue = wave.account_revenue
    ri_mean, ri_n = _mean(buyers.relationship_index)
    nps_mean, nps_n = _mean(nps_scores)
    counts = np.bincount(
        wave.moment_touchpoint * len(MOMENT_TAGS) + wave.moment_tag,
        minlength=len(TOUCHPOINTS) * len(MOMENT_TAGS),
    ).reshape(len(TOUCHPOINTS), len(MOMENT_TAGS))
    ranking = np.argsort(
        np.where(np.isnan(accounts.priority), np.inf, -accounts.priority), kind="stable"
    )
    trends = None
    if previous is not None:
        before = _score_structure(previous, settings, with_sellers=False)
        trends = _trends(wave, structure, previous, before)
    fields = {
        "relationship_index_revenue_weighted": _revenue_weighted(
            accounts.relationship_index, revenue
        ),
        "nps_revenue_weighted": _revenue_weighted(accounts.nps, revenue),
        "levels": _distribution(buyers.level, accounts.level, revenue, LEVEL_NAMES),
        "segments": _distribution(buyers.segment, accounts.segment, revenue, SEGMENTS),
        "dimensions": _dimension_summaries(structure, settings),
        "touchpoints": _touchpoint_summaries(buyers, settings),
        "moment_counts": {
            tp: dict(zip(MOMENT_TAGS, counts[t].tolist(), strict=True))
            for t, tp in enumerate(TOUCHPOINTS)
        },
        "competitors": _competitor_counts(wave.buyer_competitor),
        "revenue_at_risk": float(accounts.revenue_at_risk.sum()),
        "coaching": _seller_coaching(wave, structure, settings),
        "account_ranking": ranking,
        "alert_table": _alert_table(wave, structure, trends),
        "trends": trends,
    }
    ri_interval, nps_interval = intervals.result()
    return WaveResult(
        wave=wave,
        settings=settings,
        buyers=buyers,
        sellers=structure.sellers,
        pairs=structure.pairs,
        contacts=structure.contacts,
        accounts=accounts,
        relationship_index=Estimate(ri_mean, *ri_interval, ri_n),
        nps=Estimate(nps_mean, *nps_interval, nps_n),
        **fields,
    )


# --------------------------------------------------------------------------- JSON


def _low_n(n: int, settings: ScoringSettings) -> bool:
    return n < settings.low_n


def _estimate_json(estimate: Estimate, settings: ScoringSettings) -> dict[str, Any]:
    return {
        "value": _number(estimate.value),
        "ci95": [_number(estimate.low), _number(estimate.high)],
        "n": estimate.n,
        "low_n": _low_n(estimate.n, settings),
    }


def _weighted_json(estimate: Estimate, settings: ScoringSettings) -> dict[str, Any]:
    return {
        "value": _number(estimate.value),
        "n_accounts": estimate.n,
        "low_n": _low_n(estimate.n, settings),
    }


def _trends_json(
    result: WaveResult, positions: np.ndarray, *, of: str
) -> list[dict[str, Any] | None]:
    """The trend of each account (`of="account"`) or contact (`of="contact"`) at `positions`,
    None where it has no previous wave (or there is no previous wave), built column by column."""
    trends = result.trends
    if trends is None:
        return [None] * len(positions)
    if of == "contact":
        previous, delta = trends.contact_previous, trends.contact_delta_ri
        change, before = trends.contact_level_change, trends.contact_previous_nps_category
        now = result.contacts.nps_category
    else:
        previous, delta = trends.account_previous, trends.account_delta_ri
        change, before = trends.account_level_change, trends.account_previous_nps_category
        now = result.accounts.nps_category
    changes = change[positions]
    columns = zip(
        (previous[positions] >= 0).tolist(),
        _plain_numbers(delta[positions]),
        [None if c != c else int(c) for c in changes.tolist()],
        _names(NPS_CATEGORIES, before[positions]),
        _names(NPS_CATEGORIES, now[positions]),
        strict=True,
    )
    return [
        {
            "delta_ri": delta_ri,
            "level_change": level_change,
            "nps_category": {"previous": was, "current": is_now},
        }
        if compared
        else None
        for compared, delta_ri, level_change, was, is_now in columns
    ]


def _plain_numbers(values: np.ndarray) -> list[float | None]:
    """Floats as JSON numbers, NaN and infinities as None (one pass over the column)."""
    return [v if math.isfinite(v) else None for v in np.asarray(values, dtype=np.float64).tolist()]


def _names(names: tuple[str, ...], codes: np.ndarray) -> list[str | None]:
    return [names[c] if c >= 0 else None for c in codes.tolist()]


def _account_summaries_json(result: WaveResult, order: np.ndarray) -> list[dict[str, Any]]:
    """The results' summary of every account in `order`, built column by column."""
    accounts, wave, settings = result.accounts, result.wave, result.settings
    columns = zip(
        wave.account_external_id[order].tolist(),
        wave.account_name[order].tolist(),
        _plain_numbers(wave.account_revenue[order]),
        _plain_numbers(accounts.relationship_index[order]),
        [LEVEL_NAMES[c] for c in accounts.level[order].tolist()],
        _plain_numbers(accounts.nps[order]),
        _plain_numbers(accounts.nps_unweighted[order]),
        _plain_numbers(accounts.gap[order]),
        _names(GAP_CLASSES, accounts.gap_class[order]),
        _names(SEGMENTS, accounts.segment[order]),
        accounts.n_buyers[order].tolist(),
        _plain_numbers(accounts.priority[order]),
        np.asarray(accounts.revenue_at_risk[order], dtype=np.float64).tolist(),
        _trends_json(result, order, of="account"),
        strict=True,
    )
    return [
        {
            "external_id": str(external_id),
            "name": str(name),
            "annual_revenue": revenue,
            "relationship_index": ri,
            "level": level,
            "nps": nps,
            "nps_unweighted": nps_unweighted,
            "gap": gap,
            "gap_class": gap_class,
            "segment": segment,
            "n_buyers": int(n_buyers),
            "low_n": _low_n(int(n_buyers), settings),
            "priority": priority,
            "revenue_at_risk": at_risk,
            "trend": trend,
        }
        for (
            external_id,
            name,
            revenue,
            ri,
            level,
            nps,
            nps_unweighted,
            gap,
            gap_class,
            segment,
            n_buyers,
            priority,
            at_risk,
            trend,
        ) in columns
    ]


def _alerts_json(result: WaveResult) -> list[dict[str, Any]]:
    """Every alert trigger as JSON, built column by column."""
    columns = result.alert_columns
    return [
        {
            "reason": reason,
            "account_external_id": account,
            "contact_key": contact,
            "previous": previous,
            "current": current,
        }
        for reason, account, contact, previous, current in zip(
            columns.reason,
            columns.account_external_id,
            columns.contact_key,
            columns.previous,
            columns.current,
            strict=True,
        )
    ]


def wave_result_to_json(
    result: WaveResult,
    *,
    wave_id: str | None = None,
    status: str | None = None,
    final: bool | None = None,
) -> dict[str, Any]:
    """The API.md `/results` document of a scored wave (accounts ranked by priority)."""
    settings = result.settings
    dimensions = {
        name: {
            "buyer": _number(s.buyer),
            "seller": _number(s.seller),
            "gap": _number(s.gap),
            "alpha": _number(s.alpha),
            "classes": {k: _number(v) for k, v in s.classes.items()},
            "n_buyer": s.n_buyer,
            "n_seller": s.n_seller,
            "n_pairs": s.n_pairs,
            "n_alpha": s.n_alpha,
            "low_n": _low_n(s.n_buyer, settings),
        }
        for name, s in result.dimensions.items()
    }
    touchpoints = {
        name: {
            "performance": _number(t.performance),
            "impact": _number(t.impact),
            "quadrant": t.quadrant,
            "n": t.n,
            "n_impact": t.n_impact,
            "low_n": _low_n(t.n, settings),
        }
        for name, t in result.touchpoints.items()
    }
    accounts = _account_summaries_json(result, result.account_ranking)
    trends = result.trends
    return {
        "wave_id": wave_id,
        "status": status,
        "final": final,
        "n_buyers": result.wave.n_buyers,
        "n_sellers": result.wave.n_seller_responses,
        "relationship_index": {
            **_estimate_json(result.relationship_index, settings),
            "revenue_weighted": _weighted_json(
                result.relationship_index_revenue_weighted, settings
            ),
        },
        "nps": _estimate_json(result.nps, settings),
        "nps_revenue_weighted": _weighted_json(result.nps_revenue_weighted, settings),
        "levels": dict(result.levels.contacts),
        "segments": dict(result.segments.contacts),
        "distributions": {
            "levels": {
                "contacts": dict(result.levels.contacts),
                "accounts": dict(result.levels.accounts),
                "revenue": dict(result.levels.revenue),
            },
            "segments": {
                "contacts": dict(result.segments.contacts),
                "accounts": dict(result.segments.accounts),
                "revenue": dict(result.segments.revenue),
            },
        },
        "dimensions": dimensions,
        "touchpoints": touchpoints,
        "moments": {tp: dict(tags) for tp, tags in result.moment_counts.items()},
        "competitors": [{"name": k, "count": v} for k, v in result.competitors.items()],
        "revenue_at_risk": result.revenue_at_risk,
        "accounts": accounts,
        "trends": None
        if trends is None
        else {
            "contacts_compared": trends.contacts_compared,
            "accounts_compared": trends.accounts_compared,
        },
        "alerts": _alerts_json(result),
    }


def _behaviours(library: Mapping[str, Any] | None, dimension: str, gap_class: str) -> list[str]:
    if not library:
        return []
    return list(library["dimensions"][dimension][gap_class])


def seller_plan_to_json(
    result: WaveResult,
    seller: int,
    *,
    coaching_library: Mapping[str, Any] | None = None,
    account: int | None = None,
) -> dict[str, Any]:
    """Seller `seller`'s coaching plan: the top three dimensions with behaviours, and expand
    actions (only those on `account`'s contacts when given)."""
    coaching, wave = result.coaching, result.wave
    dimensions = []
    for d in coaching.top_dimensions[seller].tolist():
        if d < 0:
            continue
        gap_class = _name(GAP_CLASSES, int(coaching.dimension_gap_classes[seller, d]))
        dimensions.append(
            {
                "dimension": DIMENSIONS[d],
                "priority": float(coaching.priority[seller, d]),
                "gap": _number(coaching.dimension_gaps[seller, d]),
                "gap_class": gap_class,
                # without a gap the aligned behaviours apply
                "behaviours": _behaviours(coaching_library, DIMENSIONS[d], gap_class or "aligned"),
            }
        )
    pairs = result.pairs
    chosen = result.rows_of("pairs_by_seller", seller)
    chosen = chosen[coaching.pair_expand[chosen]]
    if account is not None:
        chosen = chosen[wave.contact_account[pairs.contact[chosen]] == account]
    expand = (coaching_library or {}).get("expand", {})
    actions = [
        {
            "type": "expand",
            "contact_email": str(wave.contact_email[c]),
            "account_external_id": str(wave.account_external_id[wave.contact_account[c]]),
            "text": expand.get("text"),
            "behaviours": list(expand.get("behaviours", ())),
        }
        for c in pairs.contact[chosen].tolist()
    ]
    return {
        "seller_email": str(wave.seller_email[seller]),
        "seller_name": str(wave.seller_name[seller]),
        "dimensions": dimensions,
        "actions": actions,
    }


def _contact_json(result: WaveResult, c: int) -> dict[str, Any]:
    contacts, wave = result.contacts, result.wave
    responded = bool(contacts.buyer_row[c] >= 0)
    rows = zip(
        DIMENSIONS,
        _numbers(contacts.dimensions[c]),
        _numbers(contacts.seller_dimensions[c]),
        _numbers(contacts.dimension_gaps[c]),
        contacts.dimension_gap_classes[c].tolist(),
        strict=True,
    )
    dimensions = {
        name: {"buyer": buyer, "seller": seller, "gap": gap, "gap_class": _name(GAP_CLASSES, k)}
        for name, buyer, seller, gap, k in rows
    }
    level = int(contacts.level[c])
    return {
        "email": str(wave.contact_email[c]),
        "name": str(wave.contact_name[c]),
        "role": ROLES[int(wave.contact_role[c])],
        "responded": responded,
        "relationship_index": _number(contacts.relationship_index[c]),
        "level": LEVEL_NAMES[level] if level >= 0 else None,
        "segment": _name(SEGMENTS, int(contacts.segment[c])),
        "nps_category": _name(NPS_CATEGORIES, int(contacts.nps_category[c])),
        "satisfaction_trap": bool(contacts.satisfaction_trap[c]) if responded else None,
        "competitive_index": _number(contacts.competitive_index[c]),
        "gap": _number(contacts.gap[c]),
        "gap_class": _name(GAP_CLASSES, int(contacts.gap_class[c])),
        "nps_gap": _number(contacts.nps_gap[c]),
        "n_seller_responses": int(contacts.n_seller_responses[c]),
        "dimensions": dimensions,
        "trend": _trends_json(result, np.array([c], dtype=np.intp), of="contact")[0],
    }


def account_to_json(
    result: WaveResult,
    external_id: str,
    *,
    coaching_library: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The API.md `/accounts/{external_id}` document: the account, its contacts, moments and
    the coaching of each seller who answered about its contacts (UnknownAccount if absent)."""
    a = result.account_position(external_id)
    wave = result.wave
    (summary,) = _account_summaries_json(result, np.array([a], dtype=np.intp))
    contact_rows = result.rows_of("contacts_by_account", a)
    moment_rows = result.rows_of("moments_by_account", a)
    moments = [
        {
            "contact_email": str(wave.contact_email[wave.buyer_contact[wave.moment_buyer[m]]]),
            "touchpoint": TOUCHPOINTS[int(wave.moment_touchpoint[m])],
            "tag": MOMENT_TAGS[int(wave.moment_tag[m])],
            "text": wave.moment_text[m],
        }
        for m in moment_rows.tolist()
    ]
    sellers = result.pairs.seller[result.rows_of("pairs_by_account", a)]
    seller_order = list(dict.fromkeys(sellers.tolist()))  # first answered, first shown
    return {
        **summary,
        "dimensions": {
            name: {
                "buyer": _number(result.accounts.dimensions[a, d]),
                "gap": _number(result.accounts.dimension_gaps[a, d]),
            }
            for d, name in enumerate(DIMENSIONS)
        },
        "contacts": [_contact_json(result, c) for c in contact_rows.tolist()],
        "moments": moments,
        "coaching": [
            seller_plan_to_json(result, s, coaching_library=coaching_library, account=a)
            for s in seller_order
        ],
    }
