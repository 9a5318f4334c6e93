"""SCORING.md version 2 section 6, worked by hand: the reliable change index of a contact
(reliable and not), the triggers on decision makers and the paired changes with intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.scoring.engine import (
    BOOTSTRAP_COUNTS_RATIO,
    ScoringSettings,
    account_to_json,
    score_wave,
    wave_result_to_json,
)
from services.scoring.engine.account_changes import account_changes
from services.scoring.engine.trends import paired_change
from tests.unit.test_engine_formulas import FAST, RI_40, response, wave_from

ROSTER = dict(
    accounts=[("A", 1.0)],
    contacts=[("joe@a", "A", "user"), ("x@a", "A", "user"), ("y@a", "A", "user")],
)


def test_a_drop_of_ten_among_widely_spread_buyers_is_not_reliable_and_does_not_alert():
    # this wave's RI: joe 40, x 100, y 0; mean 46.67, SD = sqrt((6.67^2 + 53.33^2 + 46.67^2) / 2)
    # = 50.33; r = 0.8 (under 10 buyers with all six), SEM = 50.33 * sqrt(0.2) = 22.51;
    # joe's RCI = -10 / (sqrt 2 * 22.51) = -0.314: within measurement error
    before = wave_from(**ROSTER, buyers={"joe@a": response(4)})  # joe 50
    now = wave_from(
        **ROSTER,
        buyers={"joe@a": response(None, **RI_40), "x@a": response(7), "y@a": response(1)},
    )
    result = score_wave(now, FAST, previous=before)
    joe = account_to_json(result, "A")["contacts"][0]
    sd = math.sqrt(((40 - 140 / 3) ** 2 + (100 - 140 / 3) ** 2 + (140 / 3) ** 2) / 2)
    assert joe["trend"]["delta_ri"] == pytest.approx(-10.0)
    assert joe["trend"]["rci"] == pytest.approx(-10 / (math.sqrt(2) * sd * math.sqrt(0.2)))
    assert joe["trend"]["rci"] == pytest.approx(-0.314, abs=1e-3)
    assert joe["trend"]["reliable"] is False
    assert [a.reason for a in result.alerts if a.contact_key == "joe@a"] == []
    trends = wave_result_to_json(result)["trends"]
    assert trends["reliability"] == 0.8 and trends["sem"] == pytest.approx(sd * math.sqrt(0.2))


def test_the_rci_uses_the_alpha_of_the_six_dimensions_from_ten_buyers():
    # 10 buyers: dimensions all equal within a buyer (answers 1..7): alpha of the six is 1,
    # SEM = 0, so any change is reliable and the index is unbounded (null in JSON)
    emails = [f"b{i}@a" for i in range(10)]
    roster = dict(accounts=[("A", 1.0)], contacts=[(e, "A", "user") for e in emails])
    before = wave_from(**roster, buyers={e: response(4) for e in emails})
    now = wave_from(**roster, buyers={e: response(1 + i % 7) for i, e in enumerate(emails)})
    result = score_wave(now, FAST, previous=before)
    assert result.trends.reliability == pytest.approx(1.0) and result.trends.sem == 0.0
    first, second = account_to_json(result, "A")["contacts"][:2]
    assert first["trend"]["delta_ri"] == pytest.approx(-50.0)
    assert first["trend"]["reliable"] is True and first["trend"]["rci"] is None
    assert second["trend"]["delta_ri"] == pytest.approx(-100 / 3)
    assert [a.reason for a in result.alerts if a.contact_key == "b0@a"] == [
        "level_drop",
        "ri_drop",
        "antagonistic",
    ]


def test_a_decision_maker_the_seller_overestimates_alerts_as_a_blind_spot():
    wave = wave_from(
        accounts=[("A", 1.0)],
        contacts=[("dm@a", "A", "decision_maker"), ("u@a", "A", "user")],
        buyers={"dm@a": response(4), "u@a": response(4)},
        # the seller sees 83.33 where both buyers say 50: a gap of 33.33 on each
        sellers=[("s@us", "dm@a", response(6)), ("s@us", "u@a", response(6))],
    )
    result = score_wave(wave, FAST)
    alerts = [(a.reason, a.contact_key, a.previous, a.current) for a in result.alerts]
    # only the decision maker's blind spot alerts: the seller's RI, then the buyer's
    assert alerts == [
        ("decision_maker_blind_spot", "dm@a", pytest.approx(250 / 3), pytest.approx(50.0))
    ]


def test_a_decision_maker_who_did_not_answer_alerts_once_the_wave_is_closed():
    wave = wave_from(
        accounts=[("A", 1.0)],
        contacts=[("dm@a", "A", "decision_maker"), ("u@a", "A", "user"), ("q@a", "A", "user")],
        buyers={"u@a": response(4)},
    )
    assert score_wave(wave, FAST).alerts == ()  # still open: the decision maker may answer
    closed = score_wave(wave, FAST, closed=True)
    assert [(a.reason, a.contact_key) for a in closed.alerts] == [("silent_decision_maker", "dm@a")]
    assert wave_result_to_json(closed)["alerts"][0]["current"] is None


def paired_waves():
    """Before, all six answer 4 (RI 50) and recommend 8 (passive). Now A's two users answer 5
    (+16.67) and recommend 9; B's decision maker 6 (+33.33, recommends 9) and user 4 (0,
    recommends 6); C's first user 5 (+16.67, recommends 8), its second does not answer."""
    contacts = [
        ("a1@a", "A", "user"),
        ("a2@a", "A", "user"),
        ("b1@b", "B", "decision_maker"),
        ("b2@b", "B", "user"),
        ("c1@c", "C", "user"),
        ("c2@c", "C", "user"),
    ]
    roster = dict(accounts=[("A", 1.0), ("B", 1.0), ("C", 1.0)], contacts=contacts)
    before = wave_from(**roster, buyers={e: response(4, recommend=8) for e, _, _ in contacts})
    now = wave_from(
        **roster,
        buyers={
            "a1@a": response(5, recommend=9),
            "a2@a": response(5, recommend=9),
            "b1@b": response(6, recommend=9),
            "b2@b": response(4, recommend=6),
            "c1@c": response(5, recommend=8),
        },
    )
    return score_wave(now, ScoringSettings(bootstrap_samples=400), previous=before)


def test_the_wave_change_has_a_paired_cluster_interval_over_accounts():
    trends = wave_result_to_json(paired_waves())["trends"]
    # ΔRI over the 5 contacts in both: (16.67 + 16.67 + 33.33 + 0 + 16.67) / 5 = 16.67; every
    # account's mean change is 16.67, so every replicate is too: the interval excludes 0
    delta_ri = trends["delta_ri"]
    assert delta_ri["value"] == pytest.approx(50 / 3)
    assert delta_ri["ci95"] == [pytest.approx(50 / 3), pytest.approx(50 / 3)]
    assert delta_ri["significant"] is True
    assert (delta_ri["n"], delta_ri["n_accounts"]) == (5, 3)
    # ΔNPS per contact in points: A +100 +100, B +100 -100, C 0: mean 40; accounts as (sum,
    # count) sorted: C (0, 1), B (0, 2), A (200, 2), drawn by default_rng(0).integers(0, 3)
    delta_nps = trends["delta_nps"]
    assert delta_nps["value"] == pytest.approx(40.0)
    sums, counts = np.array([0.0, 0.0, 200.0]), np.array([1.0, 2.0, 2.0])
    index = np.random.default_rng(0).integers(0, 3, (400, 3))
    low, high = np.percentile(sums[index].sum(axis=1) / counts[index].sum(axis=1), [2.5, 97.5])
    assert delta_nps["ci95"] == [pytest.approx(low), pytest.approx(high)]
    assert delta_nps["significant"] is bool(low > 0 or high < 0)


def test_an_account_change_is_role_weighted_over_its_contacts_in_both_waves():
    result = paired_waves()
    changes = account_to_json(result, "B")["changes"]
    # B: decision maker (weight 3) +33.33, user (1) 0: (3 * 33.33 + 0) / 4 = 25; its contacts
    # are the clusters, (weighted sum, weight) sorted: (0, 1), (100, 3)
    delta_ri = changes["delta_ri"]
    assert delta_ri["value"] == pytest.approx(25.0)
    sums, weights = np.array([0.0, 100.0]), np.array([1.0, 3.0])
    index = np.random.default_rng(0).integers(0, 2, (400, 2))
    low, high = np.percentile(sums[index].sum(axis=1) / weights[index].sum(axis=1), [2.5, 97.5])
    assert delta_ri["ci95"] == [pytest.approx(low), pytest.approx(high)]
    assert (delta_ri["n"], delta_ri["n_contacts"], delta_ri["low_n"]) == (2, 2, True)
    # ΔNPS: (3 * 100 + 1 * -100) / 4 = 50
    assert changes["delta_nps"]["value"] == pytest.approx(50.0)
    assert account_to_json(score_wave(result.wave, FAST), "B")["changes"] is None


def test_every_accounts_interval_at_once_is_paired_change_of_each_account():
    # accounts of 1 to 200 contacts; changes of two (7 and 11: three values, weight 1, so
    # many contacts per distinct one: multinomial counts) from few values, of the others from
    # many (by index), weights 1 to 3, some changes missing
    rng = np.random.default_rng(7)
    sizes = [1, 2, 3, 5, 5, 5, 7, 60, 20, 33, 40, 200]
    account = np.repeat(np.arange(len(sizes)), sizes)
    by_counts = np.isin(account, [7, 11])
    deltas = np.where(by_counts, rng.choice([-100.0, 0.0, 100.0], account.size), 0.0)
    deltas[~by_counts] = rng.normal(0, 20, (~by_counts).sum())
    deltas[rng.random(account.size) < 0.1] = np.nan
    weights = np.where(by_counts, 1.0, rng.choice([1.0, 2.0, 3.0], account.size))
    for a in (7, 11):
        answered = (account == a) & ~np.isnan(deltas)
        assert answered.sum() >= BOOTSTRAP_COUNTS_RATIO * 3
    settings = ScoringSettings(bootstrap_samples=300)
    table = account_changes(deltas, account, weights, len(sizes) + 1, settings)
    for a in range(len(sizes) + 1):  # the last account has no contact
        rows = np.flatnonzero(account == a)
        one = paired_change(deltas[rows], np.arange(rows.size), rows.size, settings, weights[rows])
        got = (table.value[a], table.low[a], table.high[a])
        assert np.allclose(got, (one.value, one.low, one.high), rtol=1e-12, equal_nan=True), a
        assert table.n[a] == one.n


def test_the_results_account_list_carries_each_accounts_paired_changes():
    result = paired_waves()
    listed = {a["external_id"]: a for a in wave_result_to_json(result)["accounts"]}
    for external_id, summary in listed.items():
        assert summary["changes"] == account_to_json(result, external_id)["changes"]
    b = listed["B"]["changes"]["delta_ri"]
    assert b["value"] == pytest.approx(25.0) and (b["n"], b["n_contacts"]) == (2, 2)
    alone = wave_result_to_json(score_wave(result.wave, FAST))["accounts"]
    assert [a["changes"] for a in alone] == [None] * len(alone)  # no previous wave
