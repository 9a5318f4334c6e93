"""Wave results for program managers: what the scoring worker stored, as API.md shapes them."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Flask, Response, current_app, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint
from pymongo.database import Database

from services.scoring import engine
from services.scoring.worker import load_wave
from services.survey.auth import require_org
from services.survey.errors import NotFound
from shared.results import read_results
from shared.store import composite_id

bp = Blueprint("results", __name__, url_prefix="/api/v1/waves", description="Wave results")


def _answer(description: str, media_type: str = "application/json") -> dict[str, Any]:
    """The documented 200 of a view that renders its own answer (API.md gives its shape)."""
    schema = {"type": "string"} if media_type == "text/csv" else {"type": "object"}
    return {"200": {"description": description, "content": {media_type: {"schema": schema}}}}


EXPORT_COLUMNS = (
    "response_id",
    "side",
    "account_external_id",
    "contact_email",
    "seller_email",
    "relationship_index",
    "level",
    "nps_category",
    "segment",
    "satisfaction_trap",
    "competitive_index",
    "recommend",
    *(f"dimension.{d}" for d in engine.DIMENSIONS),
    *(f"touchpoint.{t}" for t in engine.TOUCHPOINTS),
)


def _wave(db: Database, org_id: str, wave_id: str) -> Mapping[str, Any]:
    wave = db.waves.find_one({"_id": wave_id, "org_id": org_id})
    if wave is None:
        raise NotFound("wave not found")
    return wave


def wave_results(*, db: Database, org_id: str, wave_id: str) -> dict[str, Any]:
    """The stored results of a wave; before the first completion is scored, computed on the spot."""
    wave = _wave(db, org_id, wave_id)
    stored = read_results(db, {"wave_id": wave_id, "org_id": org_id})
    if stored is not None and "results" in stored:  # else only marked stale so far
        results = dict(stored["results"])
        final = bool(stored["final"])
    else:
        loaded = load_wave(db, wave_id)
        results = engine.wave_result_to_json(engine.score_wave(loaded.input, loaded.settings))
        final = False
    # the worker marks the wave closed just after writing final results
    results.update(wave_id=wave_id, status="closed" if final else wave["status"], final=final)
    return results


def account_results(*, db: Database, org_id: str, wave_id: str, external_id: str) -> dict[str, Any]:
    """One account's results in a wave: contacts, gaps, moments and coaching."""
    _wave(db, org_id, wave_id)
    stored = db.scores.find_one(
        {"_id": composite_id(wave_id, "account", external_id), "org_id": org_id}
    )
    if stored is not None:
        return stored["account"]
    # nobody in this account has answered yet: score its slice of the wave on the spot
    loaded = load_wave(db, wave_id, accounts_filter={"external_id": external_id})
    result = engine.score_wave(
        loaded.input, dataclasses.replace(loaded.settings, bootstrap_samples=0)
    )
    try:
        return engine.account_to_json(result, external_id)
    except engine.UnknownAccount:
        raise NotFound("account not found in this wave's program") from None


def export_rows(*, db: Database, org_id: str, wave_id: str) -> Iterator[str]:
    """The CSV export, one row per scored response, streamed."""
    _wave(db, org_id, wave_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(EXPORT_COLUMNS)
    yield flush()
    cursor = db.scores.find({"wave_id": wave_id, "org_id": org_id, "kind": "response"}).sort(
        "key", 1
    )
    for doc in cursor:
        dims, touch = doc.get("dimensions") or {}, doc.get("touchpoints") or {}
        writer.writerow(
            [
                doc["key"],
                doc.get("side"),
                doc.get("account_external_id"),
                doc.get("contact_email"),
                doc.get("seller_email") or "",
                _cell(doc.get("relationship_index")),
                doc.get("level"),
                doc.get("nps_category") or "",
                doc.get("segment") or "",
                doc.get("satisfaction_trap"),
                _cell(doc.get("competitive_index")),
                _cell(doc.get("recommend")),
                *(_cell(dims.get(d)) for d in engine.DIMENSIONS),
                *(_cell(touch.get(t)) for t in engine.TOUCHPOINTS),
            ]
        )
        yield flush()


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


@bp.route("/<wave_id>/results")
class WaveResults(MethodView):
    @bp.doc(security=[{"bearer": []}], responses=_answer("the wave's results (API.md)"))
    def get(self, wave_id: str):
        """Wave results: RI, NPS with intervals, levels, segments, dimensions, touchpoints, accounts."""
        return wave_results(
            db=current_app.extensions["rapport"].db, org_id=require_org(), wave_id=wave_id
        )


@bp.route("/<wave_id>/accounts/<external_id>")
class AccountResults(MethodView):
    @bp.doc(security=[{"bearer": []}], responses=_answer("one account's results (API.md)"))
    def get(self, wave_id: str, external_id: str):
        """One account: its contacts with gaps and classes, critical moments and coaching."""
        return account_results(
            db=current_app.extensions["rapport"].db,
            org_id=require_org(),
            wave_id=wave_id,
            external_id=external_id,
        )


@bp.route("/<wave_id>/export.csv")
class ResultsExport(MethodView):
    @bp.doc(security=[{"bearer": []}], responses=_answer("one row per response", "text/csv"))
    def get(self, wave_id: str):
        """One CSV row per completed response with its scores."""
        org_id = require_org()
        rows = export_rows(db=current_app.extensions["rapport"].db, org_id=org_id, wave_id=wave_id)
        first = next(rows)  # raises NotFound before the response starts streaming
        body = stream_with_context(_chain(first, rows))
        return Response(
            body,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="wave-{wave_id}.csv"'},
        )


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def register(app: Flask) -> None:
    """Mount the results endpoints on the app's OpenAPI-documented API."""
    app.extensions["rapport_api"].register_blueprint(bp)
