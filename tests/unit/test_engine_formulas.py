"""Worked examples of every SCORING.md formula, with the expected numbers derived by hand.

Item score s = (x - 1) / 6 * 100, so the answers 1..7 score
0, 16.67, 33.33, 50, 66.67, 83.33, 100 (sixths of 100).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.scoring.coaching import load_coaching_library
from services.scoring.engine import (
    DIMENSIONS,
    RATED_ITEMS,
    InvalidScoringSettings,
    ScoringSettings,
    UnknownAccount,
    account_to_json,
    answers_to_matrix,
    build_wave_input,
    cronbach_alpha,
    gap_class_codes,
    level_codes,
    score_wave,
    seller_plan_to_json,
    wave_result_to_json,
)
from tests.support.one_response import score_one

LIBRARY = load_coaching_library()
FAST = ScoringSettings(bootstrap_samples=50)


def items(value: float | None, **dimensions: tuple) -> dict:
    """Every dimension item answered `value`; a keyword gives one dimension's three answers."""
    answers = {f"{d}.{i}": value for d in DIMENSIONS for i in (1, 2, 3)}
    for dimension, triple in dimensions.items():
        for i, x in enumerate(triple, start=1):
            answers[f"{dimension}.{i}"] = x
    return answers


def response(value: float | None = 4, *, recommend: float | None = 8, **extra) -> dict:
    dimensions = {k: v for k, v in extra.items() if k in DIMENSIONS}
    answers = items(value, **dimensions)
    answers["recommend"] = recommend
    answers.update({k.replace("__", "."): v for k, v in extra.items() if k not in DIMENSIONS})
    return answers


def wave_from(
    *,
    accounts: list[tuple[str, float | None]],
    contacts: list[tuple[str, str, str]],
    buyers: dict[str, dict],
    sellers: list[tuple[str, str, dict]] = (),
    reverse_items: frozenset[str] = frozenset(),
):
    """A WaveInput from accounts (id, revenue), contacts (email, account id, role), buyer
    answers by contact e-mail and seller responses (seller e-mail, contact e-mail, answers)."""
    revenue = dict(accounts)
    roster = []
    for email, account, role in contacts:
        assigned = [s for s, c, _ in sellers if c == email] or [None]
        for seller in assigned:
            roster.append(
                {
                    "account_id": account,
                    "account_name": f"{account} Ltd",
                    "annual_revenue": revenue[account],
                    "contact_email": email,
                    "contact_name": email.split("@")[0],
                    "contact_role": role,
                    "seller_email": seller,
                    "seller_name": seller,
                }
            )
    return build_wave_input(
        roster=roster,
        buyer_responses=[{"contact_email": c, "answers": a} for c, a in buyers.items()],
        seller_responses=[
            {"seller_email": s, "contact_email": c, "answers": a} for s, c, a in sellers
        ],
        reverse_items=reverse_items,
    )


# --------------------------------------------------------------------------- section 2


def test_item_scores_are_sixths_of_a_hundred():
    scores = score_one(response(None, trust=(1, 4, 7), competence=(5, 6, 2)))
    assert scores["item_scores"]["trust.1"] == 0.0
    assert scores["item_scores"]["trust.2"] == 50.0
    assert scores["item_scores"]["trust.3"] == 100.0
    assert scores["item_scores"]["competence.1"] == pytest.approx(66.6666666667)
    assert scores["item_scores"]["competence.2"] == pytest.approx(83.3333333333)
    assert scores["item_scores"]["competence.3"] == pytest.approx(16.6666666667)
    assert scores["item_scores"]["recognition.1"] is None


def test_dimension_needs_two_of_its_three_items():
    scores = score_one(response(4, trust=(6, 7, None), competence=(7, None, None)))
    # trust: (83.33 + 100) / 2 = 91.67; competence: 1 of 3 answered -> missing
    assert scores["dimensions"]["trust"] == pytest.approx(91.6666666667)
    assert scores["dimensions"]["competence"] is None
    # RI over the five present dimensions: (91.67 + 4 * 50) / 5 = 58.33
    assert scores["relationship_index"] == pytest.approx(58.3333333333)
    assert scores["level"] == "transactional"


def test_four_dimensions_give_an_index_and_three_do_not():
    missing = (None, None, None)
    four = score_one(response(7, trust=missing, competence=missing))
    assert four["relationship_index"] == 100.0
    three = score_one(response(7, trust=missing, competence=missing, recognition=missing))
    assert three["relationship_index"] is None
    assert three["level"] == "insufficient"
    assert three["segment"] is None
    assert three["dimensions"]["commitment"] == 100.0


# RI exactly on a cut point, built from sixths (commitment left out, five dimensions):
#   80 = (4 * 83.33 + 66.67) / 5   60 = (3 * 50 + 2 * 75) / 5   40 = (3 * 33.33 + 2 * 50) / 5
NO_COMMITMENT = {"commitment": (None, None, None)}
RI_80 = dict(trust=(6, 6, 6), competence=(6, 6, 6), recognition=(6, 6, 6),
             proactivity=(6, 6, 6), responsiveness=(5, 5, 5), **NO_COMMITMENT)  # fmt: skip
RI_60 = dict(trust=(4, 4, 4), competence=(4, 4, 4), recognition=(4, 4, 4),
             proactivity=(5, 6, None), responsiveness=(5, 6, None), **NO_COMMITMENT)  # fmt: skip
RI_40 = dict(trust=(3, 3, 3), competence=(3, 3, 3), recognition=(3, 3, 3),
             proactivity=(4, 4, 4), responsiveness=(4, 4, 4), **NO_COMMITMENT)  # fmt: skip


@pytest.mark.parametrize(
    ("dimensions", "ri", "level"),
    [
        (RI_80, 80.0, "trusted_advisor"),
        (RI_60, 60.0, "predisposed"),
        (RI_40, 40.0, "transactional"),
    ],
)
def test_a_cut_point_belongs_to_the_level_above(dimensions, ri, level):
    scores = score_one(response(None, **dimensions))
    assert scores["relationship_index"] == pytest.approx(ri, abs=1e-9)
    assert scores["level"] == level


# The same cut points where float sums land an ulp under them (no commitment answers):
#   40: trust (3,5,1) 33.33, competence (1,2,2) 11.11, recognition (2,4,1) 22.22,
#       proactivity (2,6,7) 66.67, responsiveness (3,7,-) 66.67: 200 / 5 = 40
#   60: (1,7,7) 66.67, (5,1,7) 55.56, (1,7,3) 44.44, (3,7,6) 72.22, (5,6,3) 61.11: 300 / 5
#   80: (6,3,7) 72.22, (7,7,4) 83.33, (7,7,-) 100, (6,6,2) 61.11, (7,5,6) 83.33: 400 / 5
NOISY_CUTS = [
    (((3, 5, 1), (1, 2, 2), (2, 4, 1), (2, 6, 7), (3, 7, None)), 40.0, "transactional"),
    (((1, 7, 7), (5, 1, 7), (1, 7, 3), (3, 7, 6), (5, 6, 3)), 60.0, "predisposed"),
    (((6, 3, 7), (7, 7, 4), (7, 7, None), (6, 6, 2), (7, 5, 6)), 80.0, "trusted_advisor"),
]


@pytest.mark.parametrize(("triples", "ri", "level"), NOISY_CUTS)
def test_a_cut_point_reached_through_float_noise_still_belongs_above(triples, ri, level):
    dimensions = dict(zip(DIMENSIONS, triples, strict=False))
    scores = score_one(response(None, **dimensions))
    assert scores["relationship_index"] == pytest.approx(ri, abs=1e-9)
    assert scores["level"] == level


def test_levels_either_side_of_each_cut_point():
    ri = np.array([0.0, 39.99, 40.0, 59.99, 60.0, 79.99, 80.0, 100.0, np.nan])
    # antagonistic 0, transactional 1, predisposed 2, trusted_advisor 3, insufficient 4
    assert level_codes(ri, (40.0, 60.0, 80.0)).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4]
    assert level_codes(ri, (50.0, 70.0, 90.0)).tolist() == [0, 0, 0, 1, 1, 2, 2, 3, 4]


def test_configured_cut_points_move_the_levels():
    settings = ScoringSettings(cut_points=(50, 70, 90))
    scores = score_one(response(6), settings)  # RI 83.33: predisposed under 90
    assert scores["level"] == "predisposed"
    assert score_one(response(6))["level"] == "trusted_advisor"


@pytest.mark.parametrize(
    ("recommend", "category"),
    [
        (10, "promoter"),
        (9, "promoter"),
        (8, "passive"),
        (7, "passive"),
        (6, "detractor"),
        (0, "detractor"),
        (None, None),
    ],  # fmt: skip
)
def test_nps_category_from_recommend(recommend, category):
    assert score_one(response(4, recommend=recommend))["nps_category"] == category


# all items 7 -> RI 100, 5 -> 66.67, 4 -> 50, 2 -> 16.67; recommend 10 / 8 / 3
SEGMENT_CELLS = [
    (7, 10, "ambassador"), (7, 8, "rational"), (7, 3, "ambivalent"),
    (5, 10, "rational"), (5, 8, "rational"), (5, 3, "ambivalent"),
    (4, 10, "ambivalent"), (4, 8, "stalker"), (4, 3, "stalker"),
    (2, 10, "ambivalent"), (2, 8, "opponent"), (2, 3, "opponent"),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "recommend", "segment"), SEGMENT_CELLS)
def test_every_cell_of_the_segment_table(answer, recommend, segment):
    assert score_one(response(answer, recommend=recommend))["segment"] == segment


@pytest.mark.parametrize(
    ("dimensions", "recommend", "segment"),
    [
        (RI_80, 10, "ambassador"),
        (RI_80, 8, "rational"),
        (RI_60, 3, "ambivalent"),
        (RI_60, 8, "rational"),
        (RI_40, 8, "stalker"),
        (RI_40, 10, "ambivalent"),
    ],  # fmt: skip
)
def test_segment_boundaries_follow_the_levels(dimensions, recommend, segment):
    assert score_one(response(None, recommend=recommend, **dimensions))["segment"] == segment


def test_segment_is_null_without_an_index_or_a_recommendation():
    missing = (None, None, None)
    no_index = response(7, recommend=10, trust=missing, competence=missing, recognition=missing)
    assert score_one(no_index)["segment"] is None
    assert score_one(response(7, recommend=None))["segment"] is None


def test_satisfaction_trap_is_satisfied_but_not_committed():
    # commitment all 4 -> 50 < 60
    assert score_one(response(6, satisfaction=6, commitment=(4, 4, 4)))["satisfaction_trap"]
    assert not score_one(response(6, satisfaction=5, commitment=(4, 4, 4)))["satisfaction_trap"]
    # commitment all 5 -> 66.67, committed enough
    assert not score_one(response(6, satisfaction=7, commitment=(5, 5, 5)))["satisfaction_trap"]
    # no commitment score: no trap can be shown
    no_commitment = response(6, satisfaction=7, commitment=(4, None, None))
    assert not score_one(no_commitment)["satisfaction_trap"]


def test_competitive_index_is_the_mean_comparison_times_fifty():
    answers = response(4, competitor__trust=2, competitor__competence=1, competitor__commitment=-1)
    # mean(2, 1, -1) = 2/3 -> 33.33
    assert score_one(answers)["competitive_index"] == pytest.approx(33.3333333333)
    assert score_one(response(4, competitor__trust=-2))["competitive_index"] == -100.0
    assert score_one(response(4))["competitive_index"] is None


def test_reverse_item_counts_eight_minus_the_answer():
    answers = response(4, trust=(2, 4, 4))
    plain = score_one(answers)
    turned = score_one(answers, reverse_items=frozenset({"trust.1"}))
    assert plain["item_scores"]["trust.1"] == pytest.approx(16.6666666667)
    assert turned["item_scores"]["trust.1"] == pytest.approx(83.3333333333)  # 8 - 2 = 6
    # trust: (83.33 + 50 + 50) / 3 = 61.11
    assert turned["dimensions"]["trust"] == pytest.approx(61.1111111111)


def test_answers_matrix_puts_missing_and_null_as_nan_in_item_order():
    matrix = answers_to_matrix([{"trust.2": 5, "recommend": 9, "satisfaction": None}])
    assert matrix.shape == (1, len(RATED_ITEMS))
    assert matrix[0, RATED_ITEMS.index("trust.2")] == 5.0
    assert matrix[0, RATED_ITEMS.index("recommend")] == 9.0
    assert math.isnan(matrix[0, RATED_ITEMS.index("trust.1")])
    assert math.isnan(matrix[0, RATED_ITEMS.index("satisfaction")])
    assert RATED_ITEMS[:3] == ("trust.1", "trust.2", "trust.3")
    assert RATED_ITEMS[18:20] == ("recommend", "satisfaction")
    assert RATED_ITEMS[20] == "touchpoint.sales" and RATED_ITEMS[-1] == "competitor.commitment"


# --------------------------------------------------------------------------- section 3


def test_gap_threshold_is_inclusive_both_ways():
    gaps = np.array([10.0, 9.99, 0.0, -9.99, -10.0, 25.0, np.nan])
    # blind_spot 0, aligned 1, undervalued 2, missing -1
    assert gap_class_codes(gaps, 10.0).tolist() == [0, 1, 1, 1, 2, 0, -1]


def test_gap_of_exactly_ten_from_answers_is_a_blind_spot():
    # seller RI 60 (RI_60 answers), buyer all 4 -> 50: G = 10
    wave = wave_from(
        accounts=[("A", 1000.0)],
        contacts=[("joe@a", "A", "user")],
        buyers={"joe@a": response(4)},
        sellers=[("sam@us", "joe@a", response(None, **RI_60))],
    )
    result = score_wave(wave, FAST)
    contact = account_to_json(result, "A")["contacts"][0]
    assert contact["gap"] == pytest.approx(10.0)
    assert contact["gap_class"] == "blind_spot"
    # per dimension: trust 50 - 50 = 0, proactivity 75 - 50 = 25, commitment has no seller score
    assert contact["dimensions"]["trust"]["gap_class"] == "aligned"
    assert contact["dimensions"]["proactivity"]["gap"] == pytest.approx(25.0)
    assert contact["dimensions"]["commitment"]["gap"] is None
    assert contact["dimensions"]["commitment"]["gap_class"] is None


def test_contact_with_two_sellers_takes_the_mean_gap():
    # buyer all 4 (50); seller A all 6 (83.33): G = 33.33; seller B all 4: G = 0 -> mean 16.67
    wave = wave_from(
        accounts=[("A", 1000.0)],
        contacts=[("joe@a", "A", "user")],
        buyers={"joe@a": response(4, recommend=7)},
        sellers=[("ann@us", "joe@a", response(6, recommend=10)), ("bob@us", "joe@a", response(4))],
    )
    result = score_wave(wave, FAST)
    contact = account_to_json(result, "A", coaching_library=LIBRARY)["contacts"][0]
    assert contact["gap"] == pytest.approx(16.6666666667)
    assert contact["gap_class"] == "blind_spot"
    assert contact["n_seller_responses"] == 2
    # seller view: mean of 83.33 and 50 = 66.67; NPS gap: mean of (10 - 7) and (8 - 7) = 2
    assert contact["dimensions"]["trust"]["seller"] == pytest.approx(66.6666666667)
    assert contact["nps_gap"] == pytest.approx(2.0)
    results = wave_result_to_json(result)
    trust = results["dimensions"]["trust"]
    assert trust["n_pairs"] == 2
    assert trust["classes"] == {"blind_spot": 0.5, "aligned": 0.5, "undervalued": 0.0}
    assert trust["gap"] == pytest.approx(16.6666666667)
    assert trust["buyer"] == pytest.approx(50.0) and trust["seller"] == pytest.approx(66.6666666667)


# --------------------------------------------------------------------------- section 4 and 5


def two_accounts_wave(**settings):
    """Account A: decision maker all 7 (RI 100, promoter) and user all 4 (RI 50, detractor);
    account B: influencer all 5 (RI 66.67, passive) and user all 2 (RI 16.67, detractor);
    account C: one contact who did not answer."""
    wave = wave_from(
        accounts=[("A", 8000.0), ("B", 3000.0), ("C", 500.0)],
        contacts=[
            ("dm@a", "A", "decision_maker"),
            ("user@a", "A", "user"),
            ("inf@b", "B", "influencer"),
            ("user@b", "B", "user"),
            ("quiet@c", "C", "other"),
        ],
        buyers={
            "dm@a": response(7, recommend=10),
            "user@a": response(4, recommend=3),
            "inf@b": response(5, recommend=8),
            "user@b": response(2, recommend=0),
        },
    )
    return score_wave(wave, ScoringSettings(**settings) if settings else FAST)


def test_account_aggregates_are_role_weighted():
    results = wave_result_to_json(two_accounts_wave())
    accounts = {a["external_id"]: a for a in results["accounts"]}
    a, b = accounts["A"], accounts["B"]
    # A: RI (3 * 100 + 1 * 50) / 4 = 87.5; NPS 100 * (3 - 1) / 4 = 50 (promoter, 50 included)
    assert a["relationship_index"] == pytest.approx(87.5)
    assert a["level"] == "trusted_advisor"
    assert a["nps"] == pytest.approx(50.0)
    assert a["nps_unweighted"] == pytest.approx(0.0)  # 100 * (1 - 1) / 2
    assert a["segment"] == "ambassador"
    # B: RI (2 * 66.67 + 1 * 16.67) / 3 = 50; NPS 100 * (0 - 1) / 3 = -33.33
    assert b["relationship_index"] == pytest.approx(50.0)
    assert b["level"] == "transactional"
    assert b["nps"] == pytest.approx(-33.3333333333)
    assert b["nps_unweighted"] == pytest.approx(-50.0)
    assert b["segment"] == "stalker"  # 40-60 and detractor


def test_account_with_no_responses_has_no_scores_and_ranks_last():
    results = wave_result_to_json(two_accounts_wave())
    c = results["accounts"][-1]
    assert c["external_id"] == "C"
    assert c["relationship_index"] is None and c["nps"] is None and c["segment"] is None
    assert c["level"] == "insufficient"
    assert c["n_buyers"] == 0 and c["low_n"] is True
    assert c["priority"] is None and c["revenue_at_risk"] == 0.0
    assert results["distributions"]["levels"]["accounts"]["insufficient"] == 1


def test_priority_ranks_accounts_and_revenue_at_risk_counts_low_levels():
    results = wave_result_to_json(two_accounts_wave())
    # A: 8000 * (100 - 87.5) / 100 = 1000; B: 3000 * (100 - 50) / 100 = 1500; C has no RI
    assert [a["external_id"] for a in results["accounts"]] == ["B", "A", "C"]
    assert results["accounts"][0]["priority"] == pytest.approx(1500.0)
    assert results["accounts"][1]["priority"] == pytest.approx(1000.0)
    # only B is transactional
    assert results["revenue_at_risk"] == 3000.0
    assert results["accounts"][0]["revenue_at_risk"] == 3000.0
    assert results["accounts"][1]["revenue_at_risk"] == 0.0
    assert results["distributions"]["levels"]["revenue"]["transactional"] == 3000.0
    assert results["distributions"]["levels"]["revenue"]["trusted_advisor"] == 8000.0


def test_wave_nps_classic_and_revenue_weighted():
    results = wave_result_to_json(two_accounts_wave())
    # buyers: promoter, detractor, passive, detractor -> 100 * (1 - 2) / 4 = -25
    assert results["nps"]["value"] == pytest.approx(-25.0)
    assert results["nps"]["n"] == 4
    # (8000 * 50 + 3000 * -33.33) / 11000 = 300000 / 11000 = 27.27 over the accounts with an NPS
    assert results["nps_revenue_weighted"]["value"] == pytest.approx(27.2727272727)
    assert results["nps_revenue_weighted"]["n_accounts"] == 2
    # RI: (100 + 50 + 66.67 + 16.67) / 4 = 58.33; by revenue (8000 * 87.5 + 3000 * 50) / 11000
    # = 850000 / 11000 = 77.27
    assert results["relationship_index"]["value"] == pytest.approx(58.3333333333)
    assert results["relationship_index"]["revenue_weighted"]["value"] == pytest.approx(
        77.2727272727
    )


def test_scaling_role_weights_changes_nothing_but_other_weights_do():
    base = wave_result_to_json(two_accounts_wave())
    scaled = wave_result_to_json(
        two_accounts_wave(
            bootstrap_samples=50,
            role_weights={"decision_maker": 30, "influencer": 20, "user": 10, "other": 10},
        )
    )

    def account_a(results):
        return next(a for a in results["accounts"] if a["external_id"] == "A")

    assert account_a(scaled)["relationship_index"] == pytest.approx(87.5)
    flat = wave_result_to_json(
        two_accounts_wave(
            bootstrap_samples=50,
            role_weights={"decision_maker": 1, "influencer": 1, "user": 1, "other": 1},
        )
    )
    assert account_a(flat)["relationship_index"] == pytest.approx(75.0)  # (100 + 50) / 2
    assert account_a(flat)["nps"] == pytest.approx(0.0)  # (1 - 1) / 2
    assert account_a(base)["nps"] == pytest.approx(account_a(scaled)["nps"])


def test_level_and_segment_counts_are_per_buyer_response():
    results = wave_result_to_json(two_accounts_wave())
    assert results["levels"] == {
        "antagonistic": 1,  # 16.67
        "transactional": 1,  # 50
        "predisposed": 1,  # 66.67
        "trusted_advisor": 1,  # 100
        "insufficient": 0,
    }
    # 100/promoter ambassador, 50/detractor stalker, 66.67/passive rational, 16.67/detractor opponent
    assert results["segments"] == {
        "ambassador": 1,
        "rational": 1,
        "ambivalent": 0,
        "stalker": 1,
        "opponent": 1,
    }
    assert results["distributions"]["segments"]["accounts"]["ambassador"] == 1
    assert results["distributions"]["segments"]["accounts"]["stalker"] == 1


def test_small_samples_are_flagged_low_n():
    results = wave_result_to_json(two_accounts_wave())
    # n = 4 answers, but from 2 accounts: a wave interval needs 5 (SCORING.md v2)
    assert results["relationship_index"]["low_n"] is True
    assert results["relationship_index"]["n_accounts"] == 2
    single = wave_from(
        accounts=[("A", 1.0)], contacts=[("a@a", "A", "user")], buyers={"a@a": response(5)}
    )
    small = wave_result_to_json(score_wave(single, FAST))
    assert small["relationship_index"]["n"] == 1 and small["relationship_index"]["low_n"] is True
    assert small["nps"]["low_n"] is True
    assert small["accounts"][0]["low_n"] is True


def alpha_rows(count: int) -> list[list[float]]:
    # half (2, 2, 3), half (6, 6, 5)
    return [[2, 2, 3] if i % 2 == 0 else [6, 6, 5] for i in range(count)]


def test_cronbach_alpha_by_hand():
    # raw items: x1, x2 deviate +-2 (var 40/9), x3 +-1 (var 10/9); totals 7 / 17 deviate +-5
    # (var 250/9): alpha = 3/2 * (1 - 90/250) = 0.96; item scores are a linear map of the raw
    scores = (np.array(alpha_rows(10), dtype=float) - 1) / 6 * 100
    alpha, n = cronbach_alpha(scores, 10)
    assert n == 10
    assert alpha == pytest.approx(0.96)
    alpha, n = cronbach_alpha(scores[:9], 10)
    assert n == 9 and math.isnan(alpha)


def test_wave_alpha_needs_ten_complete_buyer_responses():
    def wave_of(count: int, extra_incomplete: bool):
        buyers = {}
        for i, (a, b, c) in enumerate(alpha_rows(count)):
            buyers[f"b{i}@a"] = response(4, trust=(a, b, c))
        if extra_incomplete:
            buyers["x@a"] = response(4, trust=(7, 7, None))
        emails = list(buyers)
        contacts = [(e, "A", "user") for e in emails]
        return wave_from(accounts=[("A", 1.0)], contacts=contacts, buyers=buyers)

    ten = wave_result_to_json(score_wave(wave_of(10, True), FAST))["dimensions"]["trust"]
    assert ten["alpha"] == pytest.approx(0.96) and ten["n_alpha"] == 10
    nine = wave_result_to_json(score_wave(wave_of(9, True), FAST))["dimensions"]["trust"]
    assert nine["alpha"] is None and nine["n_alpha"] == 9


# dims d and touchpoint answers for ten buyers; every item of a buyer is d, so RI = (d - 1) / 6 * 100
TOUCH_D = [1, 1, 1, 1, 7, 1, 7, 7, 7, 7]
TOUCH_ANSWERS = {
    # t: deviations +-3 against d's +-3: sum of products 4*9 - 9 - 9 + 4*9 = 54, r = 54/90 = 0.6
    "sales": [1, 1, 1, 1, 1, 7, 7, 7, 7, 7],
    # a linear map of d: r = 1; mean 2.5 -> performance 25
    "service": [1, 1, 1, 1, 4, 1, 4, 4, 4, 4],
    # 2 / 7: deviations +-2.5, products sum 45, r = 45 / sqrt(62.5 * 90) = 0.6; mean 4.5 -> 58.33
    "delivery": [2, 2, 2, 2, 2, 7, 7, 7, 7, 7],
    # decreasing in d: r = -1; mean 5.5 -> 75
    "product": [7, 7, 7, 7, 4, 7, 4, 4, 4, 4],
    # one 2 among 1s: products 0.3 + 2.7 = 3, sum of squares 0.9 and 90, r = 3 / 9 = 0.33;
    # mean 1.1 -> 1.67
    "implementation": [1, 1, 1, 1, 1, 1, 1, 1, 1, 2],
}


def touchpoint_wave(count: int = 10):
    buyers = {}
    for i in range(count):
        answers = response(TOUCH_D[i])
        for touchpoint, values in TOUCH_ANSWERS.items():
            answers[f"touchpoint.{touchpoint}"] = values[i]
        buyers[f"b{i}@a"] = answers
    contacts = [(e, "A", "user") for e in buyers]
    return wave_from(accounts=[("A", 1.0)], contacts=contacts, buyers=buyers)


def test_touchpoint_performance_impact_and_quadrants():
    touchpoints = wave_result_to_json(score_wave(touchpoint_wave(), FAST))["touchpoints"]
    assert touchpoints["sales"]["impact"] == pytest.approx(0.6)
    assert touchpoints["service"]["impact"] == pytest.approx(1.0)
    assert touchpoints["delivery"]["impact"] == pytest.approx(0.6)
    assert touchpoints["product"]["impact"] == pytest.approx(-1.0)
    assert touchpoints["implementation"]["impact"] == pytest.approx(1 / 3)
    assert touchpoints["sales"]["performance"] == pytest.approx(50.0)
    assert touchpoints["service"]["performance"] == pytest.approx(25.0)
    assert touchpoints["delivery"]["performance"] == pytest.approx(58.3333333333)
    assert touchpoints["product"]["performance"] == pytest.approx(75.0)
    assert touchpoints["implementation"]["performance"] == pytest.approx(1.6666666667)
    # medians over the five with an impact: impact 0.6, performance 50 (at the median is high)
    assert touchpoints["sales"]["quadrant"] == "protect"
    assert touchpoints["service"]["quadrant"] == "fix_first"
    assert touchpoints["delivery"]["quadrant"] == "protect"
    assert touchpoints["product"]["quadrant"] == "maintain"
    assert touchpoints["implementation"]["quadrant"] == "monitor"
    assert touchpoints["billing"] == {
        "performance": None,
        "impact": None,
        "impact_ci95": [None, None],
        "quadrant": None,
        "n": 0,
        "n_impact": 0,
        "low_n": True,
    }


def test_touchpoint_under_ten_answers_has_no_impact():
    touchpoints = wave_result_to_json(score_wave(touchpoint_wave(9), FAST))["touchpoints"]
    assert touchpoints["sales"]["n"] == 9
    assert touchpoints["sales"]["impact"] is None and touchpoints["sales"]["quadrant"] is None
    # performance still reported: 1,1,1,1,1,7,7,7,7 -> mean 11/3 -> 44.44
    assert touchpoints["sales"]["performance"] == pytest.approx(44.4444444444)


def test_moments_counted_by_touchpoint_and_tag_and_listed_per_account():
    first = response(5, moments=None)
    first["moments"] = [
        {"touchpoint": "billing", "tag": "angry", "text": "Invoice wrong twice."},
        {"touchpoint": "service", "tag": "delighted", "text": "Fixed in an hour."},
    ]
    second = response(5)
    second["moments"] = [{"touchpoint": "billing", "tag": "angry", "text": "Late credit note."}]
    wave = wave_from(
        accounts=[("A", 1.0), ("B", 1.0)],
        contacts=[("a@a", "A", "user"), ("b@b", "B", "user")],
        buyers={"a@a": first, "b@b": second},
    )
    result = score_wave(wave, FAST)
    moments = wave_result_to_json(result)["moments"]
    assert moments["billing"] == {"delighted": 0, "let_down": 0, "angry": 2}
    assert moments["service"]["delighted"] == 1
    assert [m["text"] for m in account_to_json(result, "A")["moments"]] == [
        "Invoice wrong twice.",
        "Fixed in an hour.",
    ]
    assert account_to_json(result, "B")["moments"][0]["contact_email"] == "b@b"


def test_competitor_names_are_normalised_and_counted():
    names = ["Acme Corp", "  acme   CORP ", "ACME\tcorp", "Globex", "", None]
    buyers = {}
    for i, name in enumerate(names):
        answers = response(4)
        answers["competitor.name"] = name
        buyers[f"b{i}@a"] = answers
    wave = wave_from(
        accounts=[("A", 1.0)], contacts=[(e, "A", "user") for e in buyers], buyers=buyers
    )
    assert wave_result_to_json(score_wave(wave, FAST))["competitors"] == [
        {"name": "acme corp", "count": 3},
        {"name": "globex", "count": 1},
    ]


def test_bootstrap_is_the_seeded_percentile_interval_over_accounts():
    # 80 accounts of 2 buyers who answer alike: 4 distinct accounts for RI and 3 for NPS,
    # at least 16 accounts per distinct one, so the counts over distinct accounts are drawn
    answers = [1, 3, 4, 7] * 20
    recommends = [9, 7, 3, 10, 0] * 16
    wave = wave_from(
        accounts=[(f"A{a}", 1.0) for a in range(80)],
        contacts=[(f"b{i}@{a}", f"A{a}", "user") for a in range(80) for i in range(2)],
        buyers={
            f"b{i}@{a}": response(x, recommend=r)
            for a, (x, r) in enumerate(zip(answers, recommends, strict=True))
            for i in range(2)
        },
    )
    result = score_wave(wave, ScoringSettings(bootstrap_samples=500))
    again = score_wave(wave, ScoringSettings(bootstrap_samples=500))
    # the definition: replicate b draws each distinct account (sum S, count N, ascending) as
    # often as row b of default_rng(0).multinomial(m, accounts / m, size=B) says, and its
    # statistic is sum S / sum N; RI and NPS each from a fresh rng
    for values, figure in (
        ([(x - 1) / 6 * 100 for x in answers], result.relationship_index),
        ([100.0 if r >= 9 else 0.0 if r >= 7 else -100.0 for r in recommends], result.nps),
    ):
        distinct, accounts = np.unique(values, return_counts=True)
        rng = np.random.default_rng(0)
        drawn = rng.multinomial(80, accounts / 80, size=500)
        means = drawn @ (2 * distinct) / (drawn @ np.full(distinct.size, 2.0))
        low, high = np.percentile(means, [2.5, 97.5])
        assert figure.low == pytest.approx(low)
        assert figure.high == pytest.approx(high)
        assert low < figure.value < high
        assert figure.n == 160 and figure.n_accounts == 80
    assert (again.relationship_index.low, again.relationship_index.high) == (
        result.relationship_index.low,
        result.relationship_index.high,
    )
    other = score_wave(wave, ScoringSettings(bootstrap_samples=500, bootstrap_seed=1))
    assert (other.relationship_index.low, other.relationship_index.high) != (
        result.relationship_index.low,
        result.relationship_index.high,
    )


def test_bootstrap_of_few_accounts_per_value_resamples_account_indices():
    # 6 accounts of 1 to 3 buyers: each account's RI sum S and count N
    sizes_and_answers = [
        (1, [7]),
        (3, [1, 2, 3]),
        (2, [5, 5]),
        (1, [4]),
        (2, [2, 6]),
        (3, [7, 7, 1]),
    ]
    contacts, buyers = [], {}
    for a, (_, xs) in enumerate(sizes_and_answers):
        for i, x in enumerate(xs):
            contacts.append((f"b{i}@{a}", f"A{a}", "user"))
            buyers[f"b{i}@{a}"] = response(x)
    wave = wave_from(accounts=[(f"A{a}", 1.0) for a in range(6)], contacts=contacts, buyers=buyers)
    result = score_wave(wave, ScoringSettings(bootstrap_samples=500))
    # 6 distinct accounts (under 16 each): replicate b takes the accounts sorted by (S, N) at
    # row b of default_rng(0).integers(0, 6, (B, 6)), its mean sum S / sum N
    # (S rounded: 16.67 + 83.33 and 100 are the same sum, then the smaller count first)
    clusters = sorted(
        ((sum((x - 1) / 6 * 100 for x in xs), n) for n, xs in sizes_and_answers),
        key=lambda c: (round(c[0], 6), c[1]),
    )
    sums = np.array([s for s, _ in clusters])
    counts = np.array([n for _, n in clusters], dtype=float)
    index = np.random.default_rng(0).integers(0, 6, (500, 6))
    means = sums[index].sum(axis=1) / counts[index].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    assert result.relationship_index.low == pytest.approx(low)
    assert result.relationship_index.high == pytest.approx(high)
    assert result.relationship_index.n_accounts == 6 and result.relationship_index.n == 12
    assert low < result.relationship_index.value < high


def test_bootstrap_of_identical_answers_has_no_width():
    wave = wave_from(
        accounts=[("A", 1.0)],
        contacts=[(f"b{i}@a", "A", "user") for i in range(5)],
        buyers={f"b{i}@a": response(5, recommend=9) for i in range(5)},
    )
    results = wave_result_to_json(score_wave(wave))
    assert results["relationship_index"]["ci95"] == [
        pytest.approx(66.6666666667),
        pytest.approx(66.6666666667),
    ]
    assert results["nps"]["ci95"] == [100.0, 100.0]


# --------------------------------------------------------------------------- section 6


def test_trends_and_alerts_against_the_previous_wave():
    roster = dict(
        accounts=[("A", 1000.0)],
        contacts=[("joe@a", "A", "decision_maker"), ("amy@a", "A", "user")],
    )
    before = wave_from(
        **roster, buyers={"joe@a": response(7, recommend=10), "amy@a": response(5, recommend=8)}
    )
    now = wave_from(
        **roster, buyers={"joe@a": response(4, recommend=5), "amy@a": response(2, recommend=8)}
    )
    result = score_wave(now, FAST, previous=before)
    joe, amy = account_to_json(result, "A")["contacts"]
    # joe: 100 -> 50 (trusted_advisor -> transactional: 2 steps), promoter -> detractor;
    # RCI: SD of this wave's RI (50, 16.67) = 33.33 / sqrt 2, r = 0.8 (under 10 buyers), so
    # RCI = -50 / (sqrt 2 * 33.33 / sqrt 2 * sqrt 0.2) = -50 / 14.907 = -3.354: reliable
    assert joe["trend"] == {
        "delta_ri": pytest.approx(-50.0),
        "level_change": -2,
        "nps_category": {"previous": "promoter", "current": "detractor"},
        "rci": pytest.approx(-50 / (100 / 3 * math.sqrt(0.2))),
        "reliable": True,
    }
    # amy: 66.67 -> 16.67 (predisposed -> antagonistic), passive stays passive
    assert amy["trend"]["delta_ri"] == pytest.approx(-50.0)
    assert amy["trend"]["level_change"] == -2
    # account: (3 * 100 + 66.67) / 4 = 91.67 -> (3 * 50 + 16.67) / 4 = 41.67
    account = wave_result_to_json(result)["accounts"][0]
    assert account["trend"]["delta_ri"] == pytest.approx(-50.0)
    assert account["trend"]["level_change"] == -2  # trusted_advisor -> transactional
    # SCORING.md v2 section 6 lists contact triggers only: the account's own drop (level and
    # RI) is reported in its trend and fires nothing itself
    reasons = [(a.contact_key, a.reason) for a in result.alerts]
    assert reasons == [
        ("joe@a", "level_drop"),
        ("joe@a", "ri_drop"),
        ("joe@a", "became_detractor"),
        ("amy@a", "level_drop"),
        ("amy@a", "ri_drop"),
        ("amy@a", "antagonistic"),
    ]
    assert result.alerts[0].previous == "trusted_advisor"
    assert result.alerts[0].current == "transactional"
    assert result.alerts[1].previous == pytest.approx(100.0)
    assert result.alerts[1].current == pytest.approx(50.0)
    assert all(a.account_external_id == "A" for a in result.alerts)


def test_drop_of_exactly_ten_alerts_and_smaller_does_not():
    # beside joe, x (40) and y (50) keep the wave's SD of RI small: with joe at 40 it is
    # sqrt((2 * 3.33^2 + 6.67^2) / 2) = 5.77, SEM = 5.77 * sqrt(0.2) = 2.58, and joe's drop of
    # 10 has RCI = -10 / (sqrt 2 * 2.58) = -2.74: reliable
    roster = dict(
        accounts=[("A", 1.0)],
        contacts=[("joe@a", "A", "user"), ("x@a", "A", "user"), ("y@a", "A", "user")],
    )
    others = {"x@a": response(None, **RI_40), "y@a": response(4)}
    before = wave_from(**roster, buyers={"joe@a": response(4), **others})  # 50
    exactly = wave_from(**roster, buyers={"joe@a": response(None, **RI_40), **others})  # 40
    result = score_wave(exactly, FAST, previous=before)
    assert [a.reason for a in result.alerts if a.contact_key == "joe@a"] == ["ri_drop"]
    smaller = wave_from(**roster, buyers={"joe@a": response(4, trust=(3, 4, 4)), **others})
    assert score_wave(smaller, FAST, previous=before).alerts == ()  # 49.07


def test_antagonistic_buyer_alerts_without_a_previous_wave():
    wave = wave_from(
        accounts=[("A", 1.0)], contacts=[("joe@a", "A", "user")], buyers={"joe@a": response(1)}
    )
    result = score_wave(wave, FAST)
    assert result.trends is None
    assert [(a.reason, a.contact_key, a.current) for a in result.alerts] == [
        ("antagonistic", "joe@a", 0.0)
    ]


# --------------------------------------------------------------------------- section 7


def coaching_wave():
    """Seller sam answers about three contacts of account A.

    c1 (decision maker, w 3): buyer trust 4s (50), competence 3s (33.33), recognition 7s
    (100), proactivity 3s (33.33), responsiveness 6s (83.33), commitment 5s (66.67); sam
    says the same except trust 6s (83.33, G = 33.33).
    c2 (user, w 1): buyer all 7 except proactivity 1s (0); sam says the same.
    c3 (influencer, w 2): buyer all 6 (RI 83.33), sam all 4 (G = -33.33): undervalued.
    """
    c1 = dict(trust=(4, 4, 4), competence=(3, 3, 3), recognition=(7, 7, 7),
              proactivity=(3, 3, 3), responsiveness=(6, 6, 6), commitment=(5, 5, 5))  # fmt: skip
    c1_seller = {**c1, "trust": (6, 6, 6)}
    c2 = dict(proactivity=(1, 1, 1))
    return wave_from(
        accounts=[("A", 1.0)],
        contacts=[
            ("c1@a", "A", "decision_maker"),
            ("c2@a", "A", "user"),
            ("c3@a", "A", "influencer"),
        ],
        buyers={"c1@a": response(None, **c1), "c2@a": response(7, **c2), "c3@a": response(6)},
        sellers=[
            ("sam@us", "c1@a", response(None, **c1_seller)),
            ("sam@us", "c2@a", response(7, **c2)),
            ("sam@us", "c3@a", response(4)),
        ],
    )


def test_coaching_priority_top_three_and_behaviours():
    result = score_wave(coaching_wave(), FAST)
    plan = seller_plan_to_json(result, 0, coaching_library=LIBRARY)
    # priority = sum of w * (need + blind), need = (100 - D)/100, blind = max(0, G)/100:
    #   proactivity: 3 * 0.6667 + 1 * 1.0 + 2 * 0.1667 = 3.3333
    #   trust: 3 * (0.5 + 0.3333) + 0 + 2 * 0.1667 = 2.8333
    #   competence: 3 * 0.6667 + 0 + 2 * 0.1667 = 2.3333
    #   commitment: 3 * 0.3333 + 0 + 0.3333 = 1.3333; responsiveness 0.5 + 0.3333; recognition 0.3333
    assert [d["dimension"] for d in plan["dimensions"]] == ["proactivity", "trust", "competence"]
    priorities = [d["priority"] for d in plan["dimensions"]]
    assert priorities == pytest.approx([10 / 3, 17 / 6, 7 / 3])
    # sam's trust gap, weighted: (3 * 33.33 + 1 * 0 + 2 * -33.33) / 6 = 5.56 -> aligned
    trust = plan["dimensions"][1]
    assert trust["gap"] == pytest.approx(5.5555555556)
    assert trust["gap_class"] == "aligned"
    assert trust["behaviours"] == LIBRARY["dimensions"]["trust"]["aligned"]
    # c3 is undervalued with a buyer RI of 83.33 >= 60: ask for the next piece of business
    assert [(a["type"], a["contact_email"]) for a in plan["actions"]] == [("expand", "c3@a")]
    assert plan["actions"][0]["text"] == LIBRARY["expand"]["text"]


def test_coaching_uses_the_blind_spot_behaviours_of_an_overestimating_seller():
    # buyer all 4 (50), seller all 6 (83.33): every dimension a blind spot
    wave = wave_from(
        accounts=[("A", 1.0)],
        contacts=[("joe@a", "A", "user")],
        buyers={"joe@a": response(4)},
        sellers=[("sam@us", "joe@a", response(6))],
    )
    coaching = account_to_json(score_wave(wave, FAST), "A", coaching_library=LIBRARY)["coaching"]
    assert [c["seller_email"] for c in coaching] == ["sam@us"]
    first = coaching[0]["dimensions"][0]
    # all six tie at 1 * (0.5 + 0.3333): dimension order decides
    assert first["dimension"] == "trust"
    assert first["priority"] == pytest.approx(0.8333333333)
    assert first["behaviours"] == LIBRARY["dimensions"]["trust"]["blind_spot"]
    assert coaching[0]["actions"] == []


# --------------------------------------------------------------------------- settings and JSON


def test_program_settings_override_the_defaults():
    settings = ScoringSettings.from_program(
        {"cut_points": [30, 50, 70], "gap_threshold": 5, "role_weights": {"user": 2}, "x": 1}
    )
    assert settings.cut_points == (30.0, 50.0, 70.0)
    assert settings.gap_threshold == 5.0
    assert settings.role_weights["user"] == 2.0 and settings.role_weights["decision_maker"] == 3.0
    assert ScoringSettings.from_program(None) == ScoringSettings()
    for bad in ({"cut_points": [60, 40, 80]}, {"role_weights": {"boss": 4}}, {"gap_threshold": -1}):
        with pytest.raises(InvalidScoringSettings):
            ScoringSettings.from_program(bad)


def test_results_document_has_the_api_fields_with_plain_values():
    results = wave_result_to_json(two_accounts_wave(), wave_id="w1", status="closed", final=True)
    for key in ("wave_id", "status", "final", "n_buyers", "n_sellers", "relationship_index",
                "nps", "nps_revenue_weighted", "levels", "segments", "dimensions",
                "touchpoints", "revenue_at_risk", "accounts"):  # fmt: skip
        assert key in results
    assert results["wave_id"] == "w1" and results["final"] is True
    assert results["n_buyers"] == 4 and results["n_sellers"] == 0
    assert set(results["relationship_index"]) >= {"value", "ci95", "n"}
    assert set(results["dimensions"]["trust"]) >= {"buyer", "seller", "gap", "alpha", "classes"}
    assert results["dimensions"]["trust"]["seller"] is None  # no seller answered: null, not NaN
    assert set(results["touchpoints"]["sales"]) >= {"performance", "impact", "quadrant", "n"}
    assert set(results["accounts"][0]) >= {
        "external_id", "name", "annual_revenue", "relationship_index", "level", "nps",
        "nps_unweighted", "gap", "segment", "n_buyers", "priority",
    }  # fmt: skip
    assert type(results["accounts"][0]["n_buyers"]) is int
    assert type(results["accounts"][0]["relationship_index"]) is float


def test_account_document_has_contacts_moments_and_coaching():
    result = two_accounts_wave()
    document = account_to_json(result, "A", coaching_library=LIBRARY)
    assert document["external_id"] == "A" and document["name"] == "A Ltd"
    assert [c["email"] for c in document["contacts"]] == ["dm@a", "user@a"]
    dm = document["contacts"][0]
    assert dm["role"] == "decision_maker" and dm["level"] == "trusted_advisor"
    assert dm["segment"] == "ambassador" and dm["nps_category"] == "promoter"
    assert dm["dimensions"]["trust"] == {
        "buyer": 100.0,
        "seller": None,
        "gap": None,
        "gap_class": None,
    }
    assert document["moments"] == [] and document["coaching"] == []
    quiet = account_to_json(result, "C")["contacts"][0]
    assert quiet["responded"] is False and quiet["level"] is None
    with pytest.raises(UnknownAccount):
        account_to_json(result, "nope")
