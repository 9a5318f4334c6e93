"""SCORING.md version 2 sections 7 and 8, worked by hand: the account plan, open answers
verbatim, and each seller's prediction accuracy with its change."""

from __future__ import annotations

import gc

import pytest

from services.scoring.engine import (
    account_to_json,
    comments_to_json,
    score_wave,
    wave_result_to_json,
)
from tests.unit.test_engine_formulas import FAST, response, two_accounts_wave, wave_from


def test_account_plan_names_the_next_level_the_two_levers_and_both_segment_moves():
    # one buyer: trust 100, competence 50, recognition 16.67, proactivity 66.67,
    # responsiveness 83.33, commitment 33.33: RI 350 / 6 = 58.33 (transactional); recommend 8
    # gives account NPS 0 (passive): segment stalker
    answers = response(
        None,
        recommend=8,
        trust=(7, 7, 7),
        competence=(4, 4, 4),
        recognition=(2, 2, 2),
        proactivity=(5, 5, 5),
        responsiveness=(6, 6, 6),
        commitment=(3, 3, 3),
    )
    wave = wave_from(
        accounts=[("A", 100.0)], contacts=[("b@a", "A", "user")], buyers={"b@a": answers}
    )
    result = score_wave(wave, FAST)
    (summary,) = wave_result_to_json(result)["accounts"]
    assert summary["segment"] == "stalker"
    plan = summary["plan"]
    assert plan["next_level"] == "predisposed"
    assert plan["ri_needed"] == pytest.approx(60 - 350 / 6)  # 1.67
    # largest headroom: recognition 83.33, commitment 66.67; each reaching the best (100)
    # raises the RI by the difference over six
    assert plan["levers"] == [
        {
            "dimension": "recognition",
            "headroom": pytest.approx(250 / 3),
            "ri_gain": pytest.approx(250 / 18),
        },
        {
            "dimension": "commitment",
            "headroom": pytest.approx(200 / 3),
            "ri_gain": pytest.approx(200 / 18),
        },
    ]
    assert plan["if_level_up"] == "rational"  # 60-80 and passive
    assert plan["if_nps_up"] == "ambivalent"  # 40-60 and promoter
    assert plan["nps_needed"] == pytest.approx(50.0)  # from NPS 0 to the promoter threshold
    assert account_to_json(result, "A")["plan"] == plan  # the account view carries it too


def test_account_plan_at_the_top_and_without_an_ri():
    results = wave_result_to_json(two_accounts_wave())
    accounts = {a["external_id"]: a for a in results["accounts"]}
    # A: RI 87.5 trusted_advisor, NPS 50 promoter: no level and no category above
    a = accounts["A"]["plan"]
    assert a["next_level"] is None and a["ri_needed"] is None and a["if_level_up"] is None
    assert a["if_nps_up"] is None and a["nps_needed"] is None
    # every dimension of A is 87.5: equal headroom 12.5 ranks in dimension order, no gain
    assert [lever["dimension"] for lever in a["levers"]] == ["trust", "competence"]
    assert [lever["ri_gain"] for lever in a["levers"]] == [0.0, 0.0]
    # B: RI 50 transactional, NPS -33.33 detractor (stalker)
    b = accounts["B"]["plan"]
    assert b["next_level"] == "predisposed" and b["ri_needed"] == pytest.approx(10.0)
    assert b["if_level_up"] == "ambivalent"  # 60-80 and detractor
    assert b["if_nps_up"] == "stalker"  # 40-60 and passive
    assert b["nps_needed"] == pytest.approx(100 / 3)  # from -33.33 to 0
    assert accounts["C"]["plan"] is None  # nobody answered


def seller_wave(pairs: list[tuple[str, int]]):
    """Buyers answering all 4 (every dimension 50); seller s@us answering `x` about each."""
    contacts = [(email, "A", "user") for email, _ in pairs]
    return wave_from(
        accounts=[("A", 1.0)],
        contacts=contacts,
        buyers={email: response(4) for email, _ in pairs},
        sellers=[("s@us", email, response(x)) for email, x in pairs],
    )


def test_seller_accuracy_and_its_change_since_the_previous_wave():
    # now: one pair off by 33.33 on all six dimensions (6 vs 4), one exact: 100 - 16.67
    now = seller_wave([("x@a", 6), ("y@a", 4)])
    # before: one pair off by 33.33: accuracy 66.67
    before = seller_wave([("x@a", 6)])
    results = wave_result_to_json(score_wave(now, FAST, previous=before))
    assert results["sellers"] == [
        {
            "email": "s@us",
            "name": "s@us",
            "accuracy": pytest.approx(250 / 3),
            "n_pairs": 2,
            "n": 2,  # section 8: the accuracy's n is its pairs
            "low_n": True,  # 2 pairs, under min_n 3
            "accuracy_change": pytest.approx(50 / 3),
        }
    ]
    alone = wave_result_to_json(score_wave(now, FAST))["sellers"][0]
    assert alone["accuracy_change"] is None  # no previous wave


def test_seller_accuracy_is_low_n_by_its_pairs():
    # three pairs reach min_n 3; a seller whose buyers never answered has no accuracy and n 0
    three = seller_wave([("x@a", 6), ("y@a", 4), ("z@a", 5)])
    (seller,) = wave_result_to_json(score_wave(three, FAST))["sellers"]
    assert (seller["n"], seller["n_pairs"], seller["low_n"]) == (3, 3, False)
    unanswered = wave_from(
        accounts=[("A", 1.0)],
        contacts=[("x@a", "A", "user")],
        buyers={},
        sellers=[("s@us", "x@a", response(4))],
    )
    (seller,) = wave_result_to_json(score_wave(unanswered, FAST))["sellers"]
    assert seller["accuracy"] is None
    assert (seller["n"], seller["low_n"]) == (0, True)


def test_seller_accuracy_change_matches_sellers_by_email_whatever_their_order():
    def wave(sellers: list[tuple[str, int]]):
        return wave_from(
            accounts=[("A", 1.0)],
            contacts=[("x@a", "A", "user")],
            buyers={"x@a": response(4)},
            sellers=[(seller, "x@a", response(x)) for seller, x in sellers],
        )

    # before: r@us exact (100), s@us off by 33.33 (66.67); now listed the other way round
    # with t@us new: s@us exact (+33.33), r@us off (-33.33), t@us has no change
    before = wave([("r@us", 4), ("s@us", 6)])
    now = wave([("t@us", 4), ("s@us", 4), ("r@us", 6)])
    sellers = wave_result_to_json(score_wave(now, FAST, previous=before))["sellers"]
    changes = {s["email"]: s["accuracy_change"] for s in sellers}
    assert changes == {
        "t@us": None,
        "s@us": pytest.approx(100 / 3),
        "r@us": pytest.approx(-100 / 3),
    }


def test_open_answers_are_reported_verbatim_with_who_gave_them():
    wave = wave_from(
        accounts=[("A", 1.0)],
        contacts=[("joe@a", "A", "decision_maker"), ("amy@a", "A", "user"), ("q@a", "A", "user")],
        buyers={
            "joe@a": response(
                4,
                comment__start="  Call us before the renewal ",
                comment__continue="the weekly report",
                moments=[{"touchpoint": "billing", "tag": "angry", "text": "Invoice twice!"}],
            ),
            "amy@a": response(4, comment__stop=""),
        },
    )
    result = score_wave(wave, FAST)
    joe, amy, quiet = account_to_json(result, "A")["contacts"]
    assert joe["comments"] == {
        "start": "  Call us before the renewal ",  # verbatim: not trimmed, never scored
        "stop": None,
        "continue": "the weekly report",
    }
    assert amy["comments"] == {"start": None, "stop": None, "continue": None}
    assert quiet["comments"] is None  # did not answer
    who = {
        "account_external_id": "A",
        "account_name": "A Ltd",
        "contact_email": "joe@a",
        "contact_name": "joe",
        "role": "decision_maker",
    }
    assert comments_to_json(result) == [
        {
            **who,
            "kind": "start",
            "touchpoint": None,
            "tag": None,
            "text": "  Call us before the renewal ",
        },
        {**who, "kind": "continue", "touchpoint": None, "tag": None, "text": "the weekly report"},
        {
            **who,
            "kind": "moment",
            "touchpoint": "billing",
            "tag": "angry",
            "text": "Invoice twice!",
        },
    ]


def test_building_the_results_document_leaves_the_cycle_collector_as_it_found_it():
    # the document is built with the collector paused (no cycles to find, thousands of dicts)
    result = two_accounts_wave()
    expected = wave_result_to_json(result)
    was_enabled = gc.isenabled()
    try:
        gc.disable()
        assert wave_result_to_json(result) == expected and not gc.isenabled()
        gc.enable()
        assert wave_result_to_json(result) == expected and gc.isenabled()
    finally:
        (gc.enable if was_enabled else gc.disable)()
