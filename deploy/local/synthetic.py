"""Synthetic waves for tests, demos and benchmarks: a roster and plausible answers from both sides.

Each contact has a latent relationship quality (an account effect plus their own); buyers
answer it with noise and some "don't know", sellers answer it through their own optimism.
Revenues follow a Pareto law (roughly 20% of accounts bring 80% of revenue). The roster
depends only on `seed`; `wave` changes the answers, so waves 0 and 1 of a seed form a
program with trends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.scoring.engine import (
    COLUMN,
    COMPETITOR_ITEMS,
    DIMENSION_ITEMS,
    DIMENSIONS,
    ITEMS_PER_DIMENSION,
    MIN_DIMENSIONS,
    MOMENT_TAGS,
    RATED_ITEMS,
    ROLES,
    TOUCHPOINT_ITEMS,
    TOUCHPOINTS,
    WaveInput,
)

_PARETO_SHAPE = 1.16  # the 80/20 law
_REVENUE_SCALE = 40_000.0
_NON_DECISION_ROLES = (1, 2, 3)  # influencer, user, other
_NON_DECISION_SHARES = (0.35, 0.45, 0.20)
_SECOND_SELLER_SHARE = 0.5
_DONT_KNOW = 0.04  # per rated item
_TOUCHPOINT_NOT_APPLICABLE = 0.35
_COMPETITOR_ASKED = 0.4  # buyers who compare us with a leader
_COMPETITOR_NAMED = 0.3
_MOMENT_SHARES = (0.75, 0.2, 0.05)  # buyers with 0, 1, 2 critical moments
_DIMENSION_OFFSETS = np.array([0.3, 0.2, -0.1, -0.4, -0.2, 0.1])  # proactivity is hardest
_TOUCHPOINT_OFFSETS = np.array([0.2, 0.0, -0.1, 0.1, -0.3, -0.4])
_COMPETITORS = ("Acme Corp", "Globex", "Initech", "Umbrella Partners", "Stark Industries", "us")
_MOMENT_TEXTS = {
    "delighted": (
        "The {tp} team solved our problem the same day.",
        "They called us before we noticed the issue with {tp}.",
        "Great follow-up on {tp}, everything in writing.",
    ),
    "let_down": (
        "Nobody got back to us about {tp} for a week.",
        "The {tp} promise was not kept.",
        "We had to chase {tp} three times.",
    ),
    "angry": (
        "The {tp} mistake cost us a customer.",
        "We were surprised by {tp} and nobody warned us.",
    ),
}
_COMPANY_WORDS = (
    ("Northwind", "Contoso", "Fabrikam", "Tailspin", "Wingtip", "Litware", "Proseware", "Adatum"),
    ("Logistics", "Foods", "Energy", "Health", "Retail", "Systems", "Capital", "Motors"),
)
_FIRST_NAMES = ("Joe", "Ana", "Li", "Sam", "Priya", "Omar", "Eva", "Ken", "Zoe", "Luis")
_LAST_NAMES = ("Martin", "Okafor", "Chen", "Novak", "Silva", "Khan", "Berg", "Rossi")


@dataclass(frozen=True)
class _Roster:
    account_revenue: np.ndarray
    account_effect: np.ndarray
    contact_account: np.ndarray
    contact_role: np.ndarray
    contact_effect: np.ndarray  # relationship quality of each contact
    dimension_effect: np.ndarray  # contacts x DIMENSIONS
    assignment_contact: np.ndarray  # roster rows: one per contact-seller assignment
    assignment_seller: np.ndarray
    seller_bias: np.ndarray
    n_sellers: int


def _roster(n_accounts: int, contacts_per_account: int, seed: int) -> _Roster:
    rng = np.random.default_rng([seed, 0])
    n_contacts = n_accounts * contacts_per_account
    revenue = np.round((rng.pareto(_PARETO_SHAPE, n_accounts) + 1.0) * _REVENUE_SCALE, -2)
    account_effect = rng.normal(0.0, 0.8, n_accounts)
    contact_account = np.repeat(np.arange(n_accounts), contacts_per_account)
    role = rng.choice(_NON_DECISION_ROLES, size=n_contacts, p=_NON_DECISION_SHARES)
    role[::contacts_per_account] = ROLES.index("decision_maker")  # every account has one
    contact_effect = account_effect[contact_account] + rng.normal(0.0, 0.6, n_contacts)
    dimension_effect = rng.normal(0.0, 0.4, (n_contacts, len(DIMENSIONS))) + _DIMENSION_OFFSETS
    n_sellers = max(2, math.ceil(n_accounts / 8))
    owner = rng.integers(0, n_sellers, n_accounts)
    second = (owner + 1 + rng.integers(0, n_sellers - 1, n_accounts)) % n_sellers
    has_second = rng.random(n_contacts) < _SECOND_SELLER_SHARE
    # rows ordered by contact, the account owner first (the primary seller)
    contacts = np.arange(n_contacts)
    assignment_contact = np.concatenate([contacts, contacts[has_second]])
    assignment_seller = np.concatenate(
        [owner[contact_account], second[contact_account[has_second]]]
    )
    order = np.lexsort((np.arange(assignment_contact.size), assignment_contact))
    assignment_contact, assignment_seller = assignment_contact[order], assignment_seller[order]
    # number sellers by first appearance, as a roster import would
    _, first = np.unique(assignment_seller, return_index=True)
    appearing = assignment_seller[np.sort(first)]
    renumber = np.full(n_sellers, -1)
    renumber[appearing] = np.arange(appearing.size)
    seller_bias = rng.normal(0.35, 0.4, n_sellers)  # sellers tend to be optimistic
    return _Roster(
        account_revenue=revenue,
        account_effect=account_effect,
        contact_account=contact_account,
        contact_role=role,
        contact_effect=contact_effect,
        dimension_effect=dimension_effect,
        assignment_contact=assignment_contact,
        assignment_seller=renumber[assignment_seller],
        seller_bias=seller_bias[appearing],
        n_sellers=int(appearing.size),
    )


def _agreement(rng: np.random.Generator, centre: np.ndarray, noise: float) -> np.ndarray:
    return np.clip(np.rint(centre + rng.normal(0.0, noise, centre.shape)), 1, 7)


def _answers(
    rng: np.random.Generator,
    quality: np.ndarray,
    dimension_effect: np.ndarray,
    *,
    buyer: bool,
) -> np.ndarray:
    """Answers matrix (rows x RATED_ITEMS) for latent qualities, with missing items."""
    n = quality.shape[0]
    matrix = np.full((n, len(RATED_ITEMS)), np.nan)
    centre = 4.6 + 1.2 * (quality[:, None] + dimension_effect)
    items = _agreement(rng, np.repeat(centre, ITEMS_PER_DIMENSION, axis=1), 0.7)
    dont_know = rng.random(items.shape) < _DONT_KNOW
    answered = (~dont_know).reshape(n, len(DIMENSIONS), ITEMS_PER_DIMENSION).sum(axis=2)
    # the survey only accepts a submission with enough dimensions; those answered them all
    short = (answered >= 2).sum(axis=1) < MIN_DIMENSIONS
    dont_know[short] = False
    items[dont_know] = np.nan
    matrix[:, : len(DIMENSION_ITEMS)] = items
    matrix[:, COLUMN["recommend"]] = np.clip(
        np.rint(7.0 + 1.6 * quality + rng.normal(0, 1.2, n)), 0, 10
    )
    satisfaction = _agreement(rng, 5.0 + 1.1 * quality, 0.8)
    satisfaction[rng.random(n) < _DONT_KNOW / 2] = np.nan
    matrix[:, COLUMN["satisfaction"]] = satisfaction
    touchpoints = _agreement(rng, 4.6 + quality[:, None] + _TOUCHPOINT_OFFSETS, 0.9)
    touchpoints[rng.random(touchpoints.shape) < _TOUCHPOINT_NOT_APPLICABLE] = np.nan
    columns = [COLUMN[i] for i in TOUCHPOINT_ITEMS]
    matrix[:, columns] = touchpoints
    if buyer:
        compared = np.clip(np.rint(0.8 * quality[:, None] + rng.normal(0, 0.8, (n, 6))), -2, 2)
        compared[rng.random(n) >= _COMPETITOR_ASKED] = np.nan
        compared[rng.random(compared.shape) < _DONT_KNOW * 3] = np.nan
        matrix[:, [COLUMN[i] for i in COMPETITOR_ITEMS]] = compared
    return matrix


@dataclass(frozen=True)
class _Wave:
    roster: _Roster
    buyer_contact: np.ndarray
    buyer_answers: np.ndarray
    seller_rows: np.ndarray  # roster assignment rows that answered
    seller_answers: np.ndarray
    moment_buyer: np.ndarray
    moment_touchpoint: np.ndarray
    moment_tag: np.ndarray
    moment_text: list[str]
    buyer_competitor: list[str | None]


def _pick(rng: np.random.Generator, size: int, count: int | None, rate: float) -> np.ndarray:
    if count is not None:
        if count > size:
            raise ValueError(f"asked for {count} responses out of {size}")
        return np.sort(rng.choice(size, size=count, replace=False))
    return np.flatnonzero(rng.random(size) < rate)


def _simulate(
    n_accounts: int,
    contacts_per_account: int,
    seed: int,
    wave: int,
    buyer_responses: int | None,
    seller_responses: int | None,
    buyer_response_rate: float,
    seller_response_rate: float,
) -> _Wave:
    if n_accounts < 1 or contacts_per_account < 1:
        raise ValueError("a wave needs at least one account and one contact per account")
    roster = _roster(n_accounts, contacts_per_account, seed)
    rng = np.random.default_rng([seed, wave + 1])
    n_contacts = roster.contact_account.size
    # relationships move a little from one wave to the next
    quality = roster.contact_effect + (rng.normal(0.0, 0.4, n_contacts) if wave else 0.0)
    buyer_contact = _pick(rng, n_contacts, buyer_responses, buyer_response_rate)
    buyer_answers = _answers(
        rng, quality[buyer_contact], roster.dimension_effect[buyer_contact], buyer=True
    )
    seller_rows = _pick(rng, roster.assignment_contact.size, seller_responses, seller_response_rate)
    about = roster.assignment_contact[seller_rows]
    perceived = (
        quality[about]
        + roster.seller_bias[roster.assignment_seller[seller_rows]]
        + rng.normal(0.0, 0.5, about.size)
    )
    seller_answers = _answers(
        rng,
        perceived,
        roster.dimension_effect[about] + rng.normal(0.0, 0.3, (about.size, len(DIMENSIONS))),
        buyer=False,
    )
    # critical moments: happier buyers tell of delight, unhappier ones of let-downs
    n_buyers = buyer_contact.size
    per_buyer = rng.choice(len(_MOMENT_SHARES), size=n_buyers, p=_MOMENT_SHARES)
    moment_buyer = np.repeat(np.arange(n_buyers), per_buyer)
    delighted = rng.random(moment_buyer.size) < 1.0 / (
        1.0 + np.exp(-quality[buyer_contact][moment_buyer])
    )
    angry = rng.random(moment_buyer.size) < 0.3
    moment_tag = np.where(delighted, 0, np.where(angry, 2, 1))
    moment_touchpoint = rng.integers(0, len(TOUCHPOINTS), moment_buyer.size)
    choice = rng.integers(0, 1 << 30, moment_buyer.size)
    moment_text = [
        _MOMENT_TEXTS[MOMENT_TAGS[tag]][pick % len(_MOMENT_TEXTS[MOMENT_TAGS[tag]])].format(
            tp=TOUCHPOINTS[tp]
        )
        for tag, tp, pick in zip(
            moment_tag.tolist(), moment_touchpoint.tolist(), choice.tolist(), strict=True
        )
    ]
    named = rng.random(n_buyers) < _COMPETITOR_NAMED
    which = rng.integers(0, len(_COMPETITORS), n_buyers)
    style = rng.integers(0, 4, n_buyers)
    buyer_competitor: list[str | None] = [
        _styled(_COMPETITORS[w], s) if n else None
        for n, w, s in zip(named.tolist(), which.tolist(), style.tolist(), strict=True)
    ]
    return _Wave(
        roster=roster,
        buyer_contact=buyer_contact,
        buyer_answers=buyer_answers,
        seller_rows=seller_rows,
        seller_answers=seller_answers,
        moment_buyer=moment_buyer,
        moment_touchpoint=moment_touchpoint,
        moment_tag=moment_tag,
        moment_text=moment_text,
        buyer_competitor=buyer_competitor,
    )


def _styled(name: str, style: int) -> str:
    """The same leader as different people type it."""
    if style == 1:
        return name.upper()
    if style == 2:
        return "  " + name.lower().replace(" ", "   ") + " "
    if style == 3:
        return name.casefold()
    return name


def _account_id(a: int) -> str:
    return f"ACC-{a:06d}"


def _account_name(a: int) -> str:
    first, second = _COMPANY_WORDS
    return f"{first[a % len(first)]} {second[(a // len(first)) % len(second)]} {a}"


def _contact_email(c: int, account: int) -> str:
    return f"contact{c}@client{account}.example.com"


def _person(i: int) -> str:
    return f"{_FIRST_NAMES[i % len(_FIRST_NAMES)]} {_LAST_NAMES[(i // 7) % len(_LAST_NAMES)]}"


def _seller_email(s: int) -> str:
    return f"seller{s}@vendor.example.com"


def generate_wave(
    n_accounts: int,
    contacts_per_account: int = 5,
    seed: int = 0,
    *,
    wave: int = 0,
    buyer_responses: int | None = None,
    seller_responses: int | None = None,
    buyer_response_rate: float = 0.8,
    seller_response_rate: float = 0.8,
) -> WaveInput:
    """A synthetic wave as engine input; `buyer_responses` / `seller_responses` fix the exact
    numbers of responses, else each contact and assignment answers at the given rate."""
    sim = _simulate(
        n_accounts,
        contacts_per_account,
        seed,
        wave,
        buyer_responses,
        seller_responses,
        buyer_response_rate,
        seller_response_rate,
    )
    roster = sim.roster
    n_contacts = roster.contact_account.size
    emails = [_contact_email(c, a) for c, a in enumerate(roster.contact_account.tolist())]
    return WaveInput(
        account_external_id=[_account_id(a) for a in range(n_accounts)],
        account_name=[_account_name(a) for a in range(n_accounts)],
        account_revenue=roster.account_revenue,
        contact_key=emails,
        contact_email=emails,
        contact_name=[_person(c) for c in range(n_contacts)],
        contact_role=roster.contact_role,
        contact_account=roster.contact_account,
        seller_email=[_seller_email(s) for s in range(roster.n_sellers)],
        seller_name=[_person(s + 3) for s in range(roster.n_sellers)],
        buyer_answers=sim.buyer_answers,
        buyer_contact=sim.buyer_contact,
        seller_answers=sim.seller_answers,
        seller_id=roster.assignment_seller[sim.seller_rows],
        seller_contact=roster.assignment_contact[sim.seller_rows],
        moment_buyer=sim.moment_buyer,
        moment_touchpoint=sim.moment_touchpoint,
        moment_tag=sim.moment_tag,
        moment_text=sim.moment_text,
        buyer_competitor=sim.buyer_competitor,
    )


def _answer_dict(row: list[float]) -> dict[str, Any]:
    return {item: (None if v != v else int(v)) for item, v in zip(RATED_ITEMS, row, strict=True)}


def generate_roster_and_answers(
    n_accounts: int,
    contacts_per_account: int = 5,
    seed: int = 0,
    *,
    wave: int = 0,
    buyer_responses: int | None = None,
    seller_responses: int | None = None,
    buyer_response_rate: float = 0.8,
    seller_response_rate: float = 0.8,
) -> dict[str, list[dict[str, Any]]]:
    """The same wave as generate_wave, as API-shaped records: `roster` rows (API.md roster
    columns), `buyer_responses` `{contact_email, answers}` and `seller_responses`
    `{seller_email, contact_email, answers}`; build_wave_input turns them into generate_wave's input."""
    sim = _simulate(
        n_accounts,
        contacts_per_account,
        seed,
        wave,
        buyer_responses,
        seller_responses,
        buyer_response_rate,
        seller_response_rate,
    )
    roster = sim.roster
    account_of = roster.contact_account.tolist()
    rows = [
        {
            "account_id": _account_id(account_of[c]),
            "account_name": _account_name(account_of[c]),
            "annual_revenue": float(roster.account_revenue[account_of[c]]),
            "contact_email": _contact_email(c, account_of[c]),
            "contact_name": _person(c),
            "contact_role": ROLES[int(roster.contact_role[c])],
            "seller_email": _seller_email(s),
            "seller_name": _person(s + 3),
        }
        for c, s in zip(
            roster.assignment_contact.tolist(), roster.assignment_seller.tolist(), strict=True
        )
    ]
    moments: list[list[dict[str, str]]] = [[] for _ in range(sim.buyer_contact.size)]
    for b, tp, tag, text in zip(
        sim.moment_buyer.tolist(),
        sim.moment_touchpoint.tolist(),
        sim.moment_tag.tolist(),
        sim.moment_text,
        strict=True,
    ):
        moments[b].append({"touchpoint": TOUCHPOINTS[tp], "tag": MOMENT_TAGS[tag], "text": text})
    buyers = []
    for b, (c, row) in enumerate(
        zip(sim.buyer_contact.tolist(), sim.buyer_answers.tolist(), strict=True)
    ):
        answers = _answer_dict(row)
        if not any(answers[i] is not None for i in COMPETITOR_ITEMS):
            for item in COMPETITOR_ITEMS:  # not asked, not "don't know"
                del answers[item]
        answers["moments"] = moments[b] or None
        answers["competitor.name"] = sim.buyer_competitor[b]
        buyers.append({"contact_email": _contact_email(c, account_of[c]), "answers": answers})
    sellers = []
    for r, row in zip(sim.seller_rows.tolist(), sim.seller_answers.tolist(), strict=True):
        c, s = int(roster.assignment_contact[r]), int(roster.assignment_seller[r])
        answers = {k: v for k, v in _answer_dict(row).items() if k not in COMPETITOR_ITEMS}
        sellers.append(
            {
                "seller_email": _seller_email(s),
                "contact_email": _contact_email(c, account_of[c]),
                "answers": answers,
            }
        )
    return {"roster": rows, "buyer_responses": buyers, "seller_responses": sellers}
