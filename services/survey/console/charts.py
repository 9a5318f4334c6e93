"""The console's charts: Vega-Lite specs built from stored results, each with its data table.

Pure functions (no Flask, no database): the numbers go in as the results documents hold them
and come out as a `Chart` (the spec the page's vega-embed draws, and the same numbers as rows
for the table beside it). Colours are Okabe and Ito's colour-blind-safe palette, and wherever
a colour carries meaning a shape or a text label carries it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.vocabulary import DIMENSIONS, LEVEL_NAMES, SEGMENTS

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency
BLUE, SKY, GREEN, ORANGE, VERMILION, PURPLE, GREY = (
    "#0072B2",
    "#56B4E9",
    "#009E73",
    "#E69F00",
    "#D55E00",
    "#CC79A7",
    "#8A8A96",
)
INK = "#1b1b1f"
LEVEL_COLOURS = {
    "antagonistic": VERMILION,
    "transactional": ORANGE,
    "predisposed": SKY,
    "trusted_advisor": BLUE,
    "insufficient": GREY,
}
SEGMENT_COLOURS = {
    "ambassador": BLUE,
    "rational": SKY,
    "ambivalent": GREY,
    "stalker": ORANGE,
    "opponent": VERMILION,
}
QUADRANT_COLOURS = {"fix_first": VERMILION, "protect": BLUE, "monitor": GREY, "maintain": GREEN}
QUADRANT_SHAPES = {
    "fix_first": "triangle-up",
    "protect": "square",
    "monitor": "circle",
    "maintain": "diamond",
}
ROLE_WEIGHTS = {"decision_maker": 3, "influencer": 2, "user": 1, "other": 1}


def words(name: str | None) -> str:
    """A stored name in the users' words: `trusted_advisor` -> `Trusted advisor`."""
    return "" if name is None else str(name).replace("_", " ").capitalize()


def rounded(value: Any, digits: int = 1) -> float | None:
    """A number for a chart or a table cell, or None when missing."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return round(float(value), digits)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Chart:
    """One chart: an element id, a title and summary (its accessible name and description),
    the Vega-Lite spec, and the table of the same numbers."""

    id: str
    title: str
    summary: str
    spec: dict[str, Any]
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]] = field(default_factory=tuple)


def spec_base(title: str, summary: str, data: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    """A spec's common part; the title is the figure's caption in the page, not in the SVG."""
    return {
        "usermeta": {"title": title},
        "$schema": VEGA_LITE_SCHEMA,
        "description": summary,
        "width": "container",
        "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {"values": data},
        "config": {
            "font": "system-ui, sans-serif",
            "axis": {"labelFontSize": 12, "titleFontSize": 12, "labelLimit": 180},
            "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom"},
            "view": {"stroke": None},
            # the chart's element carries its name and description (role img); the table
            # beside it carries the numbers: the marks themselves are not announced
            "aria": False,
        },
        **body,
    }


def colour_scale(colours: Mapping[str, str], names: Iterable[str]) -> dict[str, Any]:
    names = list(names)
    return {"domain": [words(n) for n in names], "range": [colours[n] for n in names]}


def mix_chart(chart_id: str, distribution: Mapping[str, Mapping[str, Any]], *, of: str) -> Chart:
    """Levels or segments (`of`): contacts, accounts and revenue in each, as three bar rows
    with the value written at each bar (colour is not the only key)."""
    names = LEVEL_NAMES if of == "levels" else SEGMENTS
    colours = LEVEL_COLOURS if of == "levels" else SEGMENT_COLOURS
    measures = (("contacts", "Contacts"), ("accounts", "Accounts"), ("revenue", "Revenue"))
    data, rows = [], []
    for name in names:
        counts = [distribution.get(m, {}).get(name) for m, _ in measures]
        rows.append([words(name), *counts])
        for (measure, label), value in zip(measures, counts, strict=True):
            total = sum(v or 0 for v in distribution.get(measure, {}).values()) or 1
            data.append(
                {
                    "measure": label,
                    "name": words(name),
                    "value": value or 0,
                    "share": (value or 0) / total,
                }
            )
    title = "Level mix" if of == "levels" else "Segment mix"
    summary = f"{title}: contacts, accounts and revenue in each {of[:-1]}, as shares of the total."
    spec = spec_base(
        title,
        summary,
        data,
        mark={"type": "bar", "stroke": "#ffffff", "strokeWidth": 1},
        encoding={
            "y": {"field": "measure", "type": "nominal", "title": None, "sort": None},
            "x": {
                "field": "share",
                "type": "quantitative",
                "axis": {"format": "%"},
                "title": "Share",
            },
            "color": {
                "field": "name",
                "type": "nominal",
                "title": of.capitalize()[:-1],
                "scale": colour_scale(colours, names),
            },
            "order": {"field": "order", "type": "quantitative"},
            "tooltip": [
                {"field": "name", "title": of.capitalize()[:-1]},
                {"field": "measure"},
                {"field": "value", "format": ",.0f"},
            ],
        },
    )
    for index, point in enumerate(data):
        point["order"] = index
    return Chart(
        chart_id,
        title,
        summary,
        spec,
        (of.capitalize()[:-1], "Contacts", "Accounts", "Revenue"),
        rows,
    )


def dumbbell_chart(
    chart_id: str,
    points: Sequence[tuple[str, Any, Any, Any]],
    *,
    title: str,
    label: str = "Dimension",
    extra: Mapping[str, Sequence[Any]] | None = None,
) -> Chart:
    """Buyer against seller per row (`(name, buyer, seller, gap)`): a line from the buyer's
    circle to the seller's square, its length the gap, the gap written at the end."""
    data, rows = [], []
    for index, (name, buyer, seller, gap) in enumerate(points):
        b, s, g = rounded(buyer), rounded(seller), rounded(gap)
        row = [name, b, s, g, *((extra or {}).get(name) or ())]
        rows.append(row)
        if b is not None:
            data.append({"name": name, "side": "Buyer", "score": b, "gap": g, "order": index})
        if s is not None:
            data.append({"name": name, "side": "Seller", "score": s, "gap": g, "order": index})
    summary = (
        f"{title}: the buyers' score (circle) and the sellers' (square) on a 0-100 scale; "
        "the line between them is the gap (seller minus buyer)."
    )
    y = {"field": "name", "type": "nominal", "title": None, "sort": [p[0] for p in points]}
    x = {
        "field": "score",
        "type": "quantitative",
        "scale": {"domain": [0, 100]},
        "title": "Score (0-100)",
    }
    spec = spec_base(title, summary, data, height={"step": 28}, layer=_dumbbell_layers(y, x, label))
    columns = (label, "Buyer", "Seller", "Gap", *(extra or {}).get("__columns__", ()))
    return Chart(chart_id, title, summary, spec, columns, rows)


def _dumbbell_layers(y: dict[str, Any], x: dict[str, Any], label: str) -> list[dict[str, Any]]:
    side = {"field": "side", "type": "nominal", "title": None}
    return [
        {
            "mark": {"type": "line", "color": GREY, "strokeWidth": 3},
            "encoding": {"y": y, "x": x, "detail": {"field": "name"}},
        },
        {
            "mark": {"type": "point", "filled": True, "size": 120, "opacity": 1},
            "encoding": {
                "y": y,
                "x": x,
                "color": {
                    **side,
                    "scale": {"domain": ["Buyer", "Seller"], "range": [BLUE, ORANGE]},
                },
                "shape": {
                    **side,
                    "scale": {"domain": ["Buyer", "Seller"], "range": ["circle", "square"]},
                },
                "tooltip": [
                    {"field": "name", "title": label},
                    {"field": "side"},
                    {"field": "score", "format": ".1f"},
                    {"field": "gap", "format": "+.1f"},
                ],
            },
        },
        {
            "transform": [{"filter": "datum.side === 'Seller' && datum.gap !== null"}],
            "mark": {"type": "text", "align": "left", "dx": 10, "fontSize": 11, "color": INK},
            "encoding": {
                "y": y,
                "x": x,
                "text": {"field": "gap", "type": "quantitative", "format": "+.1f"},
            },
        },
    ]


def dimensions_chart(chart_id: str, dimensions: Mapping[str, Mapping[str, Any]]) -> Chart:
    """The wave's buyer against seller per dimension, with the gap and alpha in the table."""
    points = [
        (
            words(d),
            (dimensions.get(d) or {}).get("buyer"),
            (dimensions.get(d) or {}).get("seller"),
            (dimensions.get(d) or {}).get("gap"),
        )
        for d in DIMENSIONS
    ]
    extra: dict[str, Sequence[Any]] = {"__columns__": ("Alpha", "n")}
    for d in DIMENSIONS:
        stored = dimensions.get(d) or {}
        extra[words(d)] = (rounded(stored.get("alpha"), 2), stored.get("n"))
    return dumbbell_chart(
        chart_id, points, title="Buyer against seller, per dimension", extra=extra
    )


def relationships_chart(chart_id: str, relationships: Sequence[Mapping[str, Any]]) -> Chart:
    """A seller's relationships: their prediction against each buyer's own RI."""
    points = [
        (
            f"{r.get('contact_name') or r.get('contact_email')} ({r.get('account_name') or ''})",
            (r.get("buyer") or {}).get("relationship_index"),
            (r.get("seller") or {}).get("relationship_index"),
            r.get("gap"),
        )
        for r in relationships
    ]
    return dumbbell_chart(
        chart_id, points, title="Your prediction against each buyer", label="Contact"
    )
