"""Wave results for program managers: what the scoring worker stored, as API.md shapes them."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Flask, Response, current_app, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from services.survey.auth import require_org
from services.survey.errors import NotFound, ValidationFailed
from services.survey.respond.service import wave_questionnaire
from shared import comments
from shared.csv_cells import CsvWriter
from shared.results import unscored_account, unscored_results
from shared.store import Database, roster, scores, waves
from shared.store import results as result_store
from shared.vocabulary import BUYER, CLOSED, DIMENSIONS, MOMENT_TAGS, SELLER, SIDES, TOUCHPOINTS

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
    *(f"dimension.{d}" for d in DIMENSIONS),
    *(f"touchpoint.{t}" for t in TOUCHPOINTS),
    "contact_name",
    "account_name",
    *(f"comment.{kind}" for kind in comments.TEXT_KINDS),
    "moments",
    # a seller row's pair with the buyer's own answers (SCORING.md section 3), as stored
    "gap",
    "gap_class",
    "nps_gap",
    *(f"gap.{d}" for d in DIMENSIONS),
)


def _wave(db: Database, org_id: str, wave_id: str) -> Mapping[str, Any]:
    wave = waves.get(db=db, org_id=org_id, wave_id=wave_id)
    if wave is None:
        raise NotFound("wave not found")
    return wave


def wave_results(*, db: Database, org_id: str, wave_id: str) -> dict[str, Any]:
    """The stored results of a wave; before its first completion is scored, the results of a
    wave nobody has answered (every figure null, its accounts listed)."""
    wave = _wave(db, org_id, wave_id)
    stored = result_store.read(db=db, wave_id=wave_id, org_id=org_id)
    if stored is not None and "results" in stored:  # else only marked stale so far
        results = dict(stored["results"])
        final = bool(stored["final"])
    else:
        results = unscored_results(
            accounts=_roster_accounts(db, wave),
            sellers=_roster_sellers(db, wave),
            pulse=wave_questionnaire(db=db, wave=wave).kind == "pulse",
        )
        final = False
    # the worker marks the wave closed just after writing final results
    results.update(wave_id=wave_id, status=CLOSED if final else wave["status"], final=final)
    return results


def account_results(*, db: Database, org_id: str, wave_id: str, external_id: str) -> dict[str, Any]:
    """One account's results in a wave: contacts with their comments, gaps, moments, coaching."""
    wave = _wave(db, org_id, wave_id)
    stored = scores.get(
        db=db, wave_id=wave_id, kind="account", key=external_id, org_id=org_id, fields=("account",)
    )
    if stored is not None:
        return with_comments(db=db, wave=wave, account=stored["account"])
    # nobody in this account has answered yet: its people, nothing measured
    program = {"program_id": wave["program_id"], "org_id": org_id}
    account = roster.find_account(db=db, **program, external_id=external_id)
    if account is None:
        raise NotFound("account not found in this wave's program")
    contacts = roster.list_contacts(db=db, **program, account_id=account["_id"], by_email=True)
    return with_comments(
        db=db,
        wave=wave,
        account=unscored_account(account=account, contacts=contacts),
        unscored=True,
    )


def _roster_accounts(db: Database, wave: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The program's accounts that have contacts, by name (nothing ranks them yet)."""
    program = {"program_id": wave["program_id"], "org_id": wave["org_id"]}
    with_contacts = roster.accounts_with_contacts(db=db, **program)
    accounts = roster.list_accounts(
        db=db, **program, fields=("external_id", "name", "annual_revenue")
    )
    return sorted(
        (a for a in accounts if a["_id"] in with_contacts),
        key=lambda a: (str(a.get("name") or ""), str(a["external_id"])),
    )


def _roster_sellers(db: Database, wave: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The program's sellers who have buyers, by email."""
    program = {"program_id": wave["program_id"], "org_id": wave["org_id"]}
    assigned = {
        a["seller_email"]
        for a in roster.list_assignments(db=db, **program, fields=("seller_email",))
    }
    sellers = roster.list_sellers(db=db, **program, fields=("email", "name"))
    return sorted((s for s in sellers if s["email"] in assigned), key=lambda s: s["email"])


def with_comments(
    *,
    db: Database,
    wave: Mapping[str, Any],
    account: Mapping[str, Any],
    unscored: bool = False,
) -> dict[str, Any]:
    """The account document with each contact's own words added (read from the responses,
    never scored): `comments: {start, stop, continue}`, `seller_comments` (what each seller
    thought the contact would say) and the name of whoever reported each moment. With
    `unscored` (answers the worker has not scored yet) also who answered and their moments."""
    program = {"program_id": wave.get("program_id"), "org_id": wave["org_id"]}
    ids = {}
    for contact in account.get("contacts") or ():
        found = roster.find_contact(db=db, **program, email=contact.get("email"), fields=("_id",))
        if found is not None:
            ids[contact.get("email")] = found["_id"]
    responses = comments.contacts_responses(
        db, wave_id=wave["_id"], org_id=wave["org_id"], contact_ids=ids.values()
    )
    people = comments.People(db, org_id=wave["org_id"], program_id=wave.get("program_id"))
    contacts: list[dict[str, Any]] = []
    unscored_moments: list[dict[str, Any]] = []
    for contact in account.get("contacts") or ():
        about = responses.get(ids.get(contact.get("email")), [])
        buyer = next((r for r in about if r.get("side") == BUYER), None)
        said = comments.comments_in(buyer.get("answers")) if buyer else []
        sellers = [
            {
                "seller_email": r.get("seller_email"),
                "seller_name": people.seller(r.get("seller_email")).get("name"),
                **comments.texts(comments.comments_in(r.get("answers"))),
            }
            for r in about
            if r.get("side") == SELLER
        ]
        contacts.append({**contact, "comments": comments.texts(said), "seller_comments": sellers})
        if unscored:
            contacts[-1]["responded"] = buyer is not None
            unscored_moments.extend(
                {
                    "contact_email": contact.get("email"),
                    "touchpoint": c.touchpoint,
                    "tag": c.tag,
                    "text": c.text,
                }
                for c in said
                if c.kind == "moment"
            )
    names = {c.get("email"): c.get("name") for c in contacts}
    moments = [
        {**m, "contact_name": names.get(m.get("contact_email"))}
        for m in (unscored_moments if unscored else account.get("moments") or ())
    ]
    return {**account, "contacts": contacts, "moments": moments}


def export_rows(*, db: Database, org_id: str, wave_id: str) -> Iterator[str]:
    """The CSV export, one row per scored response, streamed; every cell through `CsvWriter`."""
    wave = _wave(db, org_id, wave_id)
    scope = {"org_id": org_id, "program_id": wave["program_id"]}
    account_names = {
        a["external_id"]: a.get("name") or ""
        for a in roster.list_accounts(db=db, **scope, fields=("external_id", "name"))
    }
    contact_names = {
        c["email"]: c.get("name") or ""
        for c in roster.list_contacts(db=db, **scope, fields=("email", "name"))
    }
    buffer = io.StringIO()
    writer = CsvWriter(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(EXPORT_COLUMNS)
    yield flush()
    cursor = scores.response_rows(db=db, wave_id=wave_id, org_id=org_id)
    # both streams in response id order: one pass, whatever the wave's size
    said = _InOrder(comments.responses_comments(db, wave_id=wave_id, org_id=org_id))
    for doc in cursor:
        dims, touch = doc.get("dimensions") or {}, doc.get("touchpoints") or {}
        writer.writerow(
            [
                doc["key"],
                doc.get("side"),
                doc.get("account_external_id"),
                doc.get("contact_email"),
                doc.get("seller_email"),
                doc.get("relationship_index"),
                doc.get("level"),
                doc.get("nps_category"),
                doc.get("segment"),
                doc.get("satisfaction_trap"),
                doc.get("competitive_index"),
                doc.get("recommend"),
                *(dims.get(d) for d in DIMENSIONS),
                *(touch.get(t) for t in TOUCHPOINTS),
                contact_names.get(doc.get("contact_email"), ""),
                account_names.get(doc.get("account_external_id"), ""),
                *_comment_cells(said.get(doc["key"])),
                *_pair_cells(doc.get("pair")),
            ]
        )
        yield flush()


def _comment_cells(said: list[comments.Comment] | None) -> list[str]:
    """The export's comment.start/stop/continue cells (verbatim) and its moments cell (JSON)."""
    said = said or []
    moments = [
        {"touchpoint": c.touchpoint, "tag": c.tag, "text": c.text}
        for c in said
        if c.kind == "moment"
    ]
    return [
        *(text or "" for text in comments.texts(said).values()),
        json.dumps(moments, ensure_ascii=False) if moments else "",
    ]


def _pair_cells(pair: dict[str, Any] | None) -> list[Any]:
    """The export's gap cells of a seller row whose buyer answered; empty otherwise."""
    pair = pair or {}
    gaps = pair.get("dimension_gaps") or {}
    return [pair.get("gap"), pair.get("gap_class"), pair.get("nps_gap")] + [
        gaps.get(d) for d in DIMENSIONS
    ]


class _InOrder:
    """Looks up items of a stream sorted by key, for keys asked in the same order (a merge)."""

    def __init__(self, stream: Iterator[tuple[str, Any]]) -> None:
        self._stream = stream
        self._head = next(stream, None)

    def get(self, key: str) -> Any:
        while self._head is not None and self._head[0] < key:
            self._head = next(self._stream, None)
        return self._head[1] if self._head is not None and self._head[0] == key else None


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


class CommentsQuerySchema(Schema):
    """The filters and paging of a wave's comments list."""

    account = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "only this account's contacts (its external id)"},
    )
    contact = fields.String(
        validate=validate.Length(min=1, max=320),
        metadata={"description": "only what was said about this contact (their email)"},
    )
    side = fields.String(
        validate=validate.OneOf(SIDES),
        metadata={
            "description": "buyer: the contact's own words; seller: what a seller thought the "
            "contact would say"
        },
    )
    kind = fields.String(validate=validate.OneOf(comments.KINDS))
    touchpoint = fields.String(
        validate=validate.OneOf(TOUCHPOINTS),
        metadata={"description": "moments at this touchpoint only"},
    )
    tag = fields.String(
        validate=validate.OneOf(MOMENT_TAGS),
        metadata={"description": "moments with this feeling only"},
    )
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "text search: comments containing these words, any case"},
    )
    limit = fields.Integer(
        load_default=comments.PAGE_SIZE,
        validate=validate.Range(min=1, max=comments.PAGE_MAX),
        metadata={"description": "comments per page at most"},
    )
    cursor = fields.String(
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "the previous page's `next_cursor`, for the next page"},
    )


class CommentSchema(Schema):
    """One open answer, verbatim, with who gave it."""

    side = fields.String(metadata={"enum": list(SIDES)})
    kind = fields.String(metadata={"enum": list(comments.KINDS)})
    touchpoint = fields.String(allow_none=True, metadata={"description": "moments only"})
    tag = fields.String(allow_none=True, metadata={"description": "moments only"})
    text = fields.String(metadata={"description": 'as written (a moment may have none: "")'})
    account_external_id = fields.String(allow_none=True)
    account_name = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    contact_name = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    seller_email = fields.String(
        allow_none=True, metadata={"description": "the seller who wrote it (side seller)"}
    )
    seller_name = fields.String(allow_none=True)
    completed_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class CommentPageSchema(Schema):
    items = fields.List(fields.Nested(CommentSchema))
    next_cursor = fields.String(
        allow_none=True,
        metadata={"description": "pass as `cursor` for the next page; null on the last page"},
    )


@bp.route("/<wave_id>/comments")
class WaveComments(MethodView):
    @bp.doc(security=[{"bearer": []}])
    @bp.arguments(CommentsQuerySchema, location="query", error_status_code=400, unknown=RAISE)
    @bp.response(200, CommentPageSchema)
    def get(self, query: dict[str, Any], wave_id: str):
        """The open answers of a wave (start, stop, continue and critical moments), verbatim
        and with who gave them, newest first, in pages.

        Only completed responses count. A page holds at most `limit` comments and reads at
        most 2,000 responses, so with a narrow filter on a big wave a page can be short, even
        empty, while `next_cursor` is set: follow `next_cursor` until it is null.
        """
        db = current_app.extensions["rapport"].db
        wave = _wave(db, require_org(), wave_id)
        filters = ("account", "contact", "side", "kind", "touchpoint", "tag", "q")
        where = comments.CommentFilter(**{name: query.get(name) for name in filters})
        try:
            page = comments.wave_comments(
                db, wave=wave, where=where, limit=query["limit"], cursor=query.get("cursor")
            )
        except comments.BadCursor as exc:
            raise ValidationFailed(str(exc), details={"cursor": [str(exc)]}) from None
        return {"items": page.items, "next_cursor": page.next_cursor}


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
