"""The buying committee chart of an account: every contact as one mark, the buyer's RI against
each seller's prediction (Vega-Lite spec from stored results; pure, like charts.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.survey.console.charts import (
    GREY,
    INK,
    LEVEL_COLOURS,
    ROLE_WEIGHTS,
    Chart,
    rounded,
    spec_base,
    words,
)
from shared.vocabulary import LEVEL_NAMES, ROLES

SILENT = "Did not answer"
SILENT_AT = 50  # where a contact who did not answer is drawn (a "?", no RI)


def _person(contact: Mapping[str, Any]) -> dict[str, Any]:
    role = contact.get("role") or "other"
    ri = rounded(contact.get("relationship_index"))
    answered = ri is not None
    return {
        "name": contact.get("name") or contact.get("email"),
        "role": words(role),
        "ri": ri if answered else SILENT_AT,
        "buyer_ri": ri,
        "weight": ROLE_WEIGHTS.get(role, 1),
        "level": words(contact.get("level")) if answered else SILENT,
        "answered": answered,
        "gap": rounded(contact.get("gap")),
    }


def committee_chart(
    chart_id: str,
    contacts: Sequence[Mapping[str, Any]],
    predictions: Mapping[str, Sequence[Mapping[str, Any]]],
) -> Chart:
    """One mark per contact, in its role's column, at the buyer's RI, its size the role
    weight, its colour the level; each seller's prediction a dash joined to it by a line (the
    gap); a "?" for a contact who did not answer. `predictions`: contact email -> `[{seller,
    ri}]` (the sellers' stored response scores)."""
    people, guesses, rows = [], [], []
    for contact in contacts:
        person = _person(contact)
        people.append(person)
        sellers = [
            g for g in predictions.get(contact.get("email")) or () if g.get("ri") is not None
        ]
        for guess in sellers:
            predicted = rounded(guess.get("ri"))
            gap = rounded(predicted - person["buyer_ri"]) if person["answered"] else None
            guesses.append(
                {**person, "predicted": predicted, "seller": guess.get("seller"), "gap": gap}
            )
            rows.append(
                [person["name"], person["role"], person["level"], person["buyer_ri"]]
                + [guess.get("seller"), predicted, gap]
            )
        if not sellers:
            rows.append(
                [person["name"], person["role"], person["level"], person["buyer_ri"]] + [None] * 3
            )
    title = "Buying committee"
    summary = (
        "Each contact by role: the buyer's RI (a circle sized by role weight, coloured by "
        "level), each seller's prediction (a dash) joined to it, the line being the gap; "
        "? did not answer."
    )
    spec = spec_base(title, summary, people, height=320, layer=_layers(guesses))
    columns = ("Contact", "Role", "Level", "Buyer RI", "Seller", "Seller's prediction", "Gap")
    return Chart(chart_id, title, summary, spec, columns, rows)


def _layers(guesses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    roles = [words(r) for r in ROLES]
    x = {
        "field": "role",
        "type": "nominal",
        "title": None,
        "sort": roles,
        "scale": {"domain": roles},
    }
    y = {
        "field": "ri",
        "type": "quantitative",
        "title": "Relationship index (0-100)",
        "scale": {"domain": [0, 100]},
    }
    offset = {"field": "name", "type": "nominal", "legend": None}
    level = {
        "field": "level",
        "type": "nominal",
        "title": "Level",
        "scale": {
            "domain": [*(words(n) for n in LEVEL_NAMES), SILENT],
            "range": [*(LEVEL_COLOURS[n] for n in LEVEL_NAMES), "#ffffff"],
        },
    }
    size = {
        "field": "weight",
        "type": "quantitative",
        "title": "Role weight",
        "scale": {"domain": [1, 3], "range": [120, 520]},
    }
    where = {"x": x, "xOffset": offset, "y": y}
    return [
        {
            "data": {"values": guesses},
            "mark": {"type": "rule", "color": GREY, "strokeWidth": 2},
            "encoding": {**where, "y2": {"field": "predicted"}},
        },
        {
            "data": {"values": guesses},
            "mark": {"type": "tick", "color": INK, "thickness": 3, "size": 18},
            "encoding": {
                **where,
                "y": {**y, "field": "predicted"},
                "tooltip": [
                    {"field": "name"},
                    {"field": "seller"},
                    {"field": "predicted", "title": "Seller's prediction"},
                    {"field": "gap"},
                ],
            },
        },
        {
            "mark": {
                "type": "point",
                "filled": True,
                "opacity": 1,
                "stroke": INK,
                "strokeWidth": 1,
            },
            "encoding": {
                **where,
                "size": size,
                "color": level,
                "tooltip": [
                    {"field": "name"},
                    {"field": "role"},
                    {"field": "level"},
                    {"field": "buyer_ri", "title": "Buyer RI"},
                    {"field": "gap"},
                ],
            },
        },
        {
            "transform": [{"filter": "!datum.answered"}],
            "mark": {"type": "text", "fontSize": 16, "fontWeight": "bold", "color": INK},
            "encoding": {**where, "text": {"value": "?"}},
        },
    ]
