"""Charts of what drives the relationship: touchpoint drivers and the change since the
previous wave (Vega-Lite specs from stored results; pure, like charts.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.survey.console.charts import (
    BLUE,
    INK,
    QUADRANT_COLOURS,
    QUADRANT_SHAPES,
    Chart,
    colour_scale,
    rounded,
    spec_base,
    words,
)
from shared.vocabulary import QUADRANTS, TOUCHPOINTS

NO_QUADRANT = "No quadrant (too few answers)"


def interval(low: Any, high: Any, digits: int = 1) -> str:
    """A 95 % interval as a table shows it."""
    if low is None or high is None:
        return "–"
    return f"{low:.{digits}f} to {high:.{digits}f}"


def _driver(name: str, stored: Mapping[str, Any]) -> dict[str, Any]:
    low, high = (stored.get("impact_ci95") or [None, None])[:2]
    quadrant = stored.get("quadrant")
    return {
        "touchpoint": words(name),
        "performance": rounded(stored.get("performance")),
        "impact": rounded(stored.get("impact"), 2),
        "low": rounded(low, 2),
        "high": rounded(high, 2),
        "quadrant": words(quadrant) if quadrant else NO_QUADRANT,
        "n": stored.get("n"),
    }


def drivers_chart(chart_id: str, touchpoints: Mapping[str, Mapping[str, Any]]) -> Chart:
    """Touchpoint drivers: impact (correlation with RI, its 95 % interval as a bar) against
    performance, each point shaped, coloured and labelled by its stored quadrant; a
    touchpoint without an impact is in the table only."""
    drivers = [_driver(name, touchpoints.get(name) or {}) for name in TOUCHPOINTS]
    rows = [
        [d["touchpoint"], d["performance"], d["impact"], interval(d["low"], d["high"], 2)]
        + [d["quadrant"], d["n"]]
        for d in drivers
    ]
    data = [d for d in drivers if d["performance"] is not None and d["impact"] is not None]
    title = "Touchpoint drivers"
    summary = (
        "Each touchpoint's impact on the relationship (correlation with RI, with its 95 % "
        "interval) against its performance (0-100); the shape and label name its quadrant."
    )
    spec = spec_base(title, summary, data, height=300, layer=_driver_layers())
    columns = ("Touchpoint", "Performance", "Impact", "Impact 95 % interval", "Quadrant", "n")
    return Chart(chart_id, title, summary, spec, columns, rows)


def _driver_layers() -> list[dict[str, Any]]:
    x = {
        "field": "performance",
        "type": "quantitative",
        "title": "Performance (0-100)",
        "scale": {"zero": False},
    }
    y = {"field": "impact", "type": "quantitative", "title": "Impact (correlation with RI)"}
    quadrant = {
        "field": "quadrant",
        "type": "nominal",
        "title": "Quadrant",
        "scale": colour_scale(QUADRANT_COLOURS, QUADRANTS),
    }
    shapes = {
        "domain": [words(q) for q in QUADRANTS],
        "range": [QUADRANT_SHAPES[q] for q in QUADRANTS],
    }
    fields = ("touchpoint", "performance", "impact", "low", "high", "quadrant", "n")
    return [
        {
            "mark": {"type": "rule", "strokeWidth": 2},
            "encoding": {
                "x": x,
                "y": {**y, "field": "low"},
                "y2": {"field": "high"},
                "color": quadrant,
            },
        },
        {
            "mark": {"type": "point", "filled": True, "size": 140, "opacity": 1},
            "encoding": {
                "x": x,
                "y": y,
                "color": quadrant,
                "shape": {**quadrant, "scale": shapes},
                "tooltip": [{"field": f} for f in fields],
            },
        },
        {
            "mark": {
                "type": "text",
                "align": "left",
                "dx": 9,
                "dy": -8,
                "fontSize": 11,
                "color": INK,
            },
            "encoding": {"x": x, "y": y, "text": {"field": "touchpoint"}},
        },
    ]


def trends_chart(chart_id: str, trends: Mapping[str, Any]) -> Chart:
    """Change against the previous wave: ΔRI and ΔNPS with their intervals; a significant
    change is drawn solid and labelled "significant", the others hollow and labelled so."""
    data, rows = [], []
    for key, label in (("delta_ri", "Change in RI"), ("delta_nps", "Change in NPS")):
        stored = trends.get(key) or {}
        low, high = (rounded(v) for v in (stored.get("ci95") or [None, None])[:2])
        significant = bool(stored.get("significant"))
        value = rounded(stored.get("value"))
        rows.append(
            [label, value, interval(low, high), "yes" if significant else "no", stored.get("n")]
        )
        if value is not None:
            verdict = "significant" if significant else "not significant"
            data.append(
                {"measure": label, "value": value, "low": low, "high": high, "verdict": verdict}
            )
    title = "Change since the previous wave"
    summary = "Change in RI and NPS with 95 % intervals; a solid point is a significant change."
    spec = spec_base(title, summary, data, height={"step": 40}, layer=_trend_layers())
    return Chart(
        chart_id,
        title,
        summary,
        spec,
        ("Measure", "Change", "95 % interval", "Significant", "n"),
        rows,
    )


def _trend_layers() -> list[dict[str, Any]]:
    y = {"field": "measure", "type": "nominal", "title": None}
    x = {"field": "value", "type": "quantitative", "title": "Change (points)"}
    verdict = {
        "field": "verdict",
        "type": "nominal",
        "title": None,
        "scale": {"domain": ["significant", "not significant"], "range": [BLUE, "#ffffff"]},
    }
    return [
        {"mark": {"type": "rule", "color": INK}, "encoding": {"x": {"datum": 0}}},
        {
            "mark": {"type": "rule", "color": BLUE, "strokeWidth": 2},
            "encoding": {"y": y, "x": {**x, "field": "low"}, "x2": {"field": "high"}},
        },
        {
            "mark": {"type": "point", "size": 140, "color": BLUE, "strokeWidth": 2},
            "encoding": {
                "y": y,
                "x": x,
                "fill": verdict,
                "tooltip": [{"field": f} for f in ("measure", "value", "low", "high", "verdict")],
            },
        },
        {
            "mark": {"type": "text", "dy": -14, "fontSize": 11},
            "encoding": {"y": y, "x": x, "text": {"field": "verdict"}},
        },
    ]
