"""SCORING.md version 2's counts, worked by hand: every aggregate's n, low_n by the smallest
count, n_accounts, a constant touchpoint, unknown revenue and the effective n."""

from __future__ import annotations

import pytest

from services.scoring.engine import ScoringSettings, score_wave, wave_result_to_json
from tests.unit.test_engine_formulas import FAST, response, two_accounts_wave, wave_from


def one_buyer_per_account(count: int, **settings):
    """`count` accounts of one user each, all answering 5 (RI 66.67) and recommending 9."""
    wave = wave_from(
        accounts=[(f"A{i}", 100.0) for i in range(count)],
        contacts=[(f"b@{i}", f"A{i}", "user") for i in range(count)],
        buyers={f"b@{i}": response(5, recommend=9) for i in range(count)},
    )
    return wave_result_to_json(score_wave(wave, ScoringSettings(**settings) if settings else FAST))


def test_a_wave_interval_needs_five_accounts_besides_min_n_answers():
    four, five = one_buyer_per_account(4), one_buyer_per_account(5)
    # 4 answers from 4 accounts: n >= min_n (3) but 4 < 5 accounts
    assert four["relationship_index"]["n"] == 4 and four["relationship_index"]["n_accounts"] == 4
    assert four["relationship_index"]["low_n"] is True and four["nps"]["low_n"] is True
    assert five["relationship_index"]["n_accounts"] == 5 and five["nps"]["n_accounts"] == 5
    assert five["relationship_index"]["low_n"] is False and five["nps"]["low_n"] is False
    # the program's thresholds are settings
    relaxed = one_buyer_per_account(4, bootstrap_samples=50, min_interval_accounts=4)
    assert relaxed["relationship_index"]["low_n"] is False
    assert ScoringSettings.from_program({"min_n": 5, "min_interval_accounts": 8}).low_n == 5


def test_a_dimension_is_low_n_on_its_pairs_even_with_many_buyers():
    # 6 buyers, sellers about only 2 of them: the gap rests on 2 pairs
    buyers = {f"b{i}@a": response(4) for i in range(6)}
    wave = wave_from(
        accounts=[("A", 1.0)],
        contacts=[(e, "A", "user") for e in buyers],
        buyers=buyers,
        sellers=[("s@us", "b0@a", response(6)), ("s@us", "b1@a", response(6))],
    )
    trust = wave_result_to_json(score_wave(wave, FAST))["dimensions"]["trust"]
    assert (trust["n_buyer"], trust["n_seller"], trust["n_pairs"]) == (6, 2, 2)
    assert trust["n"] == 2 and trust["low_n"] is True
    assert trust["gap"] == pytest.approx(100 / 3)  # (6 - 4) / 6 * 100 on each pair


def test_an_account_reports_the_answers_behind_its_ri_its_nps_and_its_gap():
    # three buyers: one with RI and NPS, one without a recommend, one with 3 dimensions only
    wave = wave_from(
        accounts=[("A", 1000.0)],
        contacts=[("x@a", "A", "user"), ("y@a", "A", "user"), ("z@a", "A", "user")],
        buyers={
            "x@a": response(5, recommend=9),
            "y@a": response(5, recommend=None),
            "z@a": response(
                None, recommend=10, trust=(5, 5, 5), competence=(5, 5, 5), recognition=(5, 5, 5)
            ),
        },
        sellers=[("s@us", "x@a", response(6))],
    )
    (account,) = wave_result_to_json(score_wave(wave, FAST))["accounts"]
    assert account["n_buyers"] == 3
    assert (account["n_ri"], account["n_nps"], account["n_pairs"]) == (2, 2, 1)
    # 3 responses, but RI and NPS each on 2 answers and the gap on 1 pair: all under min_n 3
    assert account["low_n"] is True
    assert account["ri_low_n"] and account["nps_low_n"] and account["gap_low_n"]
    assert account["relationship_index"] == pytest.approx(200 / 3)
    assert account["nps"] == pytest.approx(100.0)


def test_an_account_with_three_answers_on_each_figure_is_not_low_n():
    buyers = {f"b{i}@a": response(5, recommend=9) for i in range(3)}
    wave = wave_from(
        accounts=[("A", 1.0)],
        contacts=[(e, "A", "user") for e in buyers],
        buyers=buyers,
        sellers=[("s@us", e, response(6)) for e in buyers],
    )
    (account,) = wave_result_to_json(score_wave(wave, FAST))["accounts"]
    assert (account["n_ri"], account["n_nps"], account["n_pairs"]) == (3, 3, 3)
    assert not (account["low_n"] or account["ri_low_n"] or account["gap_low_n"])


def test_a_touchpoint_everyone_rated_alike_has_no_impact_and_no_quadrant():
    # 12 buyers, RI 0..100 in steps; everyone rates delivery 5 (66.67: its float mean over
    # 12 is an ulp off, which gave an impact of noise), sales follows RI, service opposes it
    buyers = {}
    for i in range(12):
        x = 1 + i % 7
        buyers[f"b{i}@a"] = response(
            x, touchpoint__sales=x, touchpoint__service=8 - x, touchpoint__delivery=5
        )
    wave = wave_from(
        accounts=[("A", 1.0)], contacts=[(e, "A", "user") for e in buyers], buyers=buyers
    )
    touchpoints = wave_result_to_json(score_wave(wave, FAST))["touchpoints"]
    assert touchpoints["delivery"]["impact"] is None
    assert touchpoints["delivery"]["quadrant"] is None
    assert touchpoints["delivery"]["n"] == 12 and touchpoints["delivery"]["performance"] == (
        pytest.approx(200 / 3)
    )
    # the medians come from sales (+1) and service (-1) alone
    assert touchpoints["sales"]["impact"] == pytest.approx(1.0)
    assert touchpoints["service"]["impact"] == pytest.approx(-1.0)
    # answers 1..7, 1..5: sales averages 43 / 12, service 8 - that, above the median
    assert touchpoints["sales"]["quadrant"] == "fix_first"
    assert touchpoints["service"]["quadrant"] == "maintain"


def test_unknown_revenue_counts_in_no_revenue_figure_and_is_counted():
    # U: revenue unknown, transactional (all 4: RI 50); K: 1000, transactional; T: 3000, trusted
    wave = wave_from(
        accounts=[("U", None), ("K", 1000.0), ("T", 3000.0)],
        contacts=[("u@u", "U", "user"), ("k@k", "K", "user"), ("t@t", "T", "user")],
        buyers={
            "u@u": response(4, recommend=0),
            "k@k": response(4, recommend=7),
            "t@t": response(7, recommend=10),
        },
    )
    results = wave_result_to_json(score_wave(wave, FAST))
    accounts = {a["external_id"]: a for a in results["accounts"]}
    assert results["revenue_at_risk"] == 1000.0  # K only: U's revenue is not known
    assert results["accounts_without_revenue"] == 1
    assert accounts["U"]["revenue_at_risk"] is None and accounts["U"]["level"] == "transactional"
    assert accounts["K"]["revenue_at_risk"] == 1000.0
    # revenue-weighted NPS over K (0) and T (100): 3000 * 100 / 4000 = 75; U left out
    weighted = results["nps_revenue_weighted"]
    assert weighted["value"] == pytest.approx(75.0)
    assert weighted["n_accounts"] == 2 and weighted["n"] == 2
    # (1000 + 3000)^2 / (1000^2 + 3000^2) = 16 / 10; T holds 3000 / 4000
    assert weighted["effective_n"] == pytest.approx(1.6)
    assert weighted["largest_share"] == pytest.approx(0.75)


def test_effective_n_and_largest_share_of_the_revenue_weighted_figures():
    results = wave_result_to_json(two_accounts_wave())
    # A 8000 and B 3000 have an RI and an NPS (C has neither): 11000^2 / (8000^2 + 3000^2)
    for figure in (
        results["nps_revenue_weighted"],
        results["relationship_index"]["revenue_weighted"],
    ):
        assert figure["effective_n"] == pytest.approx(121 / 73)
        assert figure["largest_share"] == pytest.approx(8 / 11)
        assert figure["n"] == 2
    # equal revenues: the effective n is the number of accounts, none holds more than 1 / n
    even = one_buyer_per_account(5)["nps_revenue_weighted"]
    assert even["effective_n"] == pytest.approx(5.0)
    assert even["largest_share"] == pytest.approx(0.2)
