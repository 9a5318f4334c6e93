"""The console's chart specs (pure functions): each draws the stored numbers it is given, its
table carries the same numbers, and colour never carries meaning alone."""

from __future__ import annotations

import json

from services.survey.console.charts import (
    LEVEL_COLOURS,
    dimensions_chart,
    mix_chart,
    relationships_chart,
    words,
)
from services.survey.console.charts_committee import committee_chart
from services.survey.console.charts_drivers import drivers_chart, trends_chart
from shared.vocabulary import DIMENSIONS, TOUCHPOINTS

OKABE_ITO = {"#0072B2", "#56B4E9", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#8A8A96", "#ffffff"}


def _layers(chart):
    return chart.spec.get("layer") or [chart.spec]


def test_dimension_dumbbell_draws_buyer_and_seller_with_the_gap_written():
    stored = {
        d: {"buyer": 50.0 + i, "seller": 60.0 + i, "gap": 10.0, "alpha": 0.81, "n": 12}
        for i, d in enumerate(DIMENSIONS)
    }
    stored["trust"] = {"buyer": 40.0, "seller": None, "gap": None, "alpha": None, "n": 3}
    chart = dimensions_chart("c", stored)
    points = chart.spec["data"]["values"]
    assert [p["name"] for p in points if p["side"] == "Buyer"] == [words(d) for d in DIMENSIONS]
    # a missing seller score draws no seller mark, and its row says so
    assert [p for p in points if p["name"] == "Trust" and p["side"] == "Seller"] == []
    assert chart.rows[0] == ["Trust", 40.0, None, None, None, 3]
    assert chart.rows[1] == ["Competence", 51.0, 61.0, 10.0, 0.81, 12]
    # buyer and seller differ by shape, not colour alone; the gap is written as text
    point = _layers(chart)[1]["encoding"]
    assert point["shape"]["scale"]["range"] == ["circle", "square"]
    assert _layers(chart)[2]["encoding"]["text"]["field"] == "gap"
    assert chart.columns == ("Dimension", "Buyer", "Seller", "Gap", "Alpha", "n")


def test_mix_shares_add_up_per_measure_and_values_are_in_the_table():
    distribution = {
        "contacts": {"antagonistic": 2, "transactional": 6, "predisposed": 2},
        "accounts": {"antagonistic": 1, "transactional": 1},
        "revenue": {"antagonistic": 100.0, "transactional": 300.0},
    }
    chart = mix_chart("m", distribution, of="levels")
    by_measure = {}
    for point in chart.spec["data"]["values"]:
        by_measure.setdefault(point["measure"], 0.0)
        by_measure[point["measure"]] += point["share"]
    assert by_measure == {"Contacts": 1.0, "Accounts": 1.0, "Revenue": 1.0}
    assert chart.rows[1] == ["Transactional", 6, 1, 300.0]
    colours = chart.spec["encoding"]["color"]["scale"]
    assert colours["range"][0] == LEVEL_COLOURS["antagonistic"]
    assert set(colours["range"]) <= OKABE_ITO


def test_drivers_use_the_stored_quadrant_and_draw_the_impact_interval():
    stored = {
        t: {
            "performance": 50.0 + i,
            "impact": 0.1 * i,
            "impact_ci95": [0.0, 0.2 * i],
            "quadrant": "protect",
            "n": 20,
        }
        for i, t in enumerate(TOUCHPOINTS)
    }
    stored["billing"] = {
        "performance": 40.0,
        "impact": None,
        "impact_ci95": None,
        "quadrant": None,
        "n": 4,
    }
    chart = drivers_chart("d", stored)
    drawn = chart.spec["data"]["values"]
    assert [d["touchpoint"] for d in drawn] == [words(t) for t in TOUCHPOINTS[:-1]]
    assert all(d["quadrant"] == "Protect" for d in drawn)
    assert chart.rows[-1][0] == "Billing" and chart.rows[-1][4].startswith("No quadrant")
    interval = _layers(chart)[0]
    assert interval["mark"]["type"] == "rule" and interval["encoding"]["y2"] == {"field": "high"}
    assert set(_layers(chart)[1]["encoding"]["shape"]["scale"]["range"]) == {
        "triangle-up",
        "square",
        "circle",
        "diamond",
    }


def test_trends_mark_significance_by_fill_and_label():
    trends = {
        "delta_ri": {"value": 3.37, "ci95": [0.8, 5.4], "significant": True, "n": 35},
        "delta_nps": {"value": 17.1, "ci95": [0.0, 29.7], "significant": False, "n": 35},
    }
    chart = trends_chart("t", trends)
    verdicts = {d["measure"]: d["verdict"] for d in chart.spec["data"]["values"]}
    assert verdicts == {"Change in RI": "significant", "Change in NPS": "not significant"}
    assert chart.rows[0] == ["Change in RI", 3.4, "0.8 to 5.4", "yes", 35]
    assert _layers(chart)[3]["encoding"]["text"] == {"field": "verdict"}


def test_committee_has_one_mark_per_contact_sized_by_role_and_a_question_mark_for_silence():
    contacts = [
        {
            "email": "a@x",
            "name": "Ada",
            "role": "decision_maker",
            "relationship_index": 40.0,
            "level": "transactional",
            "gap": 20.0,
        },
        {"email": "b@x", "name": "Bo", "role": "user", "relationship_index": None, "level": None},
        {
            "email": "c@x",
            "name": "Cy",
            "role": "influencer",
            "relationship_index": 70.0,
            "level": "predisposed",
        },
    ]
    predictions = {
        "a@x": [{"seller": "Sam", "ri": 65.0}, {"seller": "Priya", "ri": 55.0}],
        "b@x": [{"seller": "Sam", "ri": 60.0}],
    }
    chart = committee_chart("k", contacts, predictions)
    people = chart.spec["data"]["values"]
    assert [(p["name"], p["weight"], p["answered"]) for p in people] == [
        ("Ada", 3, True),
        ("Bo", 1, False),
        ("Cy", 2, True),
    ]
    assert people[1]["level"] == "Did not answer"
    guesses = _layers(chart)[0]["data"]["values"]
    assert [(g["name"], g["seller"], g["predicted"], g["gap"]) for g in guesses] == [
        ("Ada", "Sam", 65.0, 25.0),
        ("Ada", "Priya", 55.0, 15.0),
        ("Bo", "Sam", 60.0, None),
    ]
    question = _layers(chart)[3]
    assert question["transform"] == [{"filter": "!datum.answered"}]
    assert question["encoding"]["text"] == {"value": "?"}
    assert len(chart.rows) == 4  # one row per seller's prediction, and Cy without one


def test_seller_relationships_and_every_spec_is_json():
    relationships = [
        {
            "contact_name": "Ada",
            "account_name": "Acme",
            "buyer": {"relationship_index": 40.0},
            "seller": {"relationship_index": 60.0},
            "gap": 20.0,
        },
        {
            "contact_name": "Bo",
            "account_name": "Acme",
            "buyer": None,
            "seller": {"relationship_index": 55.0},
            "gap": None,
        },
    ]
    chart = relationships_chart("r", relationships)
    assert chart.rows == [["Ada (Acme)", 40.0, 60.0, 20.0], ["Bo (Acme)", None, 55.0, None]]
    json.dumps(chart.spec)
    assert chart.spec["config"]["aria"] is False and chart.spec["width"] == "container"
