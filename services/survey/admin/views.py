"""The admin API of API.md: parse, call one service function, render."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request
from flask.views import MethodView
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from services.bootstrap import Container
from services.survey.admin import (
    cases,
    late_invitations,
    programs,
    reminders,
    roster,
    wave_edits,
    waves,
)
from services.survey.admin.case_schemas import (
    CaseListSchema,
    CasePatchSchema,
    CaseQuerySchema,
    CaseSchema,
)
from services.survey.admin.schemas import (
    ROSTER_EXAMPLE_CSV,
    ROSTER_EXAMPLE_ROWS,
    AccountListSchema,
    LaunchReportSchema,
    LaunchSchema,
    LinkListSchema,
    OrganisationPatchSchema,
    OrganisationSchema,
    ProgramCreateSchema,
    ProgramListSchema,
    ProgramPatchSchema,
    ProgramSchema,
    RosterBodySchema,
    RosterReportSchema,
    WaveCreateSchema,
    WaveSchema,
    flat_messages,
    invalid_input_message,
)
from services.survey.admin.wave_schemas import (
    LateInvitationReportSchema,
    LateInvitationSchema,
    ReminderReportSchema,
    RemindersSchema,
    WaveListSchema,
    WavePatchSchema,
)
from services.survey.auth import require_org
from services.survey.errors import ValidationFailed, error_body
from services.survey.logo import LOGO_TYPES, MAX_LOGO_BYTES, LogoTooLarge, store_logo
from services.survey.organisations import get_organisation, update_branding
from services.survey.request_body import Blueprint

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/api/v1",
    description="Admin API: programs, rosters and waves (Authorization: Bearer <api key>).",
)

BEARER = [{"bearer": []}]
# What spreadsheets and browsers send for a CSV file; the content decides the rest.
CSV_TYPES = {
    "text/csv",
    "application/csv",
    "text/comma-separated-values",
    "application/vnd.ms-excel",
    "text/plain",
    "application/octet-stream",
}
ROSTER_BODY = {
    "required": True,
    "description": (
        "One row per contact–seller assignment. CSV as text/csv or as a multipart file field "
        "`file` (UTF-8 with or without BOM, `,` or `;` separated), or JSON rows."
    ),
    "content": {
        "text/csv": {
            "schema": {
                "type": "string",
                "minLength": 1,
                "description": "a header line naming the columns, then at least one valid row",
            },
            "example": ROSTER_EXAMPLE_CSV,
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary", "minLength": 1}},
                "required": ["file"],
            }
        },
        "application/json": {
            "schema": RosterBodySchema,
            "example": {"rows": list(ROSTER_EXAMPLE_ROWS)},
        },
    },
}


def _container() -> Container:
    return current_app.extensions["rapport"]


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")


@bp.before_request
def _authenticate_and_check_body() -> None:
    g.org_id = require_org()
    # Another organisation's program or wave is a 404 before its body is even read.
    path = request.view_args or {}
    db = _container().db
    if "program_id" in path:
        programs.get_program(db=db, org_id=g.org_id, program_id=path["program_id"])
    if "wave_id" in path:
        waves.get_wave(db=db, org_id=g.org_id, wave_id=path["wave_id"])
    if "case_id" in path:
        cases.get_case(db=db, org_id=g.org_id, case_id=path["case_id"])
    if request.method == "PATCH" and not _has_body():
        raise ValidationFailed(
            "the body is missing: send a JSON object with the fields to change",
            details={"body": ["is required"]},
        )
    roster_upload = request.url_rule is not None and request.url_rule.rule.endswith("/roster")
    if (
        request.method in ("POST", "PATCH")
        and not roster_upload
        and _has_body()
        and not request.is_json
    ):
        raise UnsupportedMediaType("send the body as application/json")


@bp.after_request
def _challenge(response: Response) -> Response:
    if response.status_code == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="rapport"')
    return response


@bp.errorhandler(BadRequest)
def _bad_input(exc: BadRequest) -> tuple[Response, int]:
    # webargs' 400s: name every field in the message and flatten nested paths.
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    details: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for location in messages.values():
            if isinstance(location, dict):
                details.update(flat_messages(location))
            elif isinstance(location, list):
                details.setdefault("body", []).extend(str(m) for m in location)
    message = invalid_input_message(details) if details else str(exc.description)
    return jsonify(error_body(400, "validation_error", message, details)), 400


# --- organisation --------------------------------------------------------------------------


@bp.route("/organisation")
class Organisation(MethodView):
    @bp.doc(security=BEARER)
    @bp.response(200, OrganisationSchema)
    def get(self) -> dict[str, Any]:
        """The organisation's branding: the name respondents read, who emails come from."""
        return get_organisation(db=_container().db, org_id=g.org_id)

    @bp.doc(security=BEARER)
    @bp.arguments(OrganisationPatchSchema, error_status_code=400)
    @bp.response(200, OrganisationSchema)
    def patch(self, body: dict[str, Any]) -> dict[str, Any]:
        """Change the branding; fields left out stay, a null clears one."""
        return update_branding(db=_container().db, org_id=g.org_id, changes=body)


LOGO_BODY = {
    "required": True,
    "description": "a PNG or SVG image of at most 200 KB (an SVG is sanitised)",
    "content": {
        kind: {"schema": {"type": "string", "format": "binary", "minLength": 1}}
        for kind in LOGO_TYPES
    },
}


@bp.route("/organisation/logo")
class OrganisationLogo(MethodView):
    @bp.doc(
        security=BEARER,
        requestBody=LOGO_BODY,
        responses={
            "413": {"description": "larger than 200 KB"},
            "415": {"description": "neither image/png nor image/svg+xml"},
        },
    )
    @bp.response(204)
    def put(self) -> tuple[str, int]:
        """Upload the logo shown on survey pages: image/png or image/svg+xml, at most 200 KB.
        An SVG keeps only drawing elements (no script, link, image, style or event handler)."""
        if (request.content_length or 0) > MAX_LOGO_BYTES:
            raise LogoTooLarge(f"the logo is {request.content_length // 1024} KB: at most 200 KB")
        data = request.stream.read(MAX_LOGO_BYTES + 1)
        store_logo(db=_container().db, org_id=g.org_id, content_type=request.mimetype, data=data)
        return "", 204


# --- programs ------------------------------------------------------------------------------


@bp.route("/programs")
class Programs(MethodView):
    @bp.doc(security=BEARER)
    @bp.response(200, ProgramListSchema)
    def get(self) -> dict[str, Any]:
        """The organisation's programs, newest first."""
        return {"items": programs.list_programs(db=_container().db, org_id=g.org_id)}

    @bp.doc(security=BEARER)
    @bp.arguments(ProgramCreateSchema, error_status_code=400)
    @bp.response(201, ProgramSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a program; settings left out take the SCORING.md defaults."""
        return programs.create_program(
            db=_container().db, org_id=g.org_id, name=body["name"], settings=body.get("settings")
        )


@bp.route("/programs/<program_id>")
class Program(MethodView):
    @bp.doc(security=BEARER)
    @bp.response(200, ProgramSchema)
    def get(self, program_id: str) -> dict[str, Any]:
        """One program with its settings."""
        return programs.get_program(db=_container().db, org_id=g.org_id, program_id=program_id)

    @bp.doc(security=BEARER)
    @bp.arguments(ProgramPatchSchema, error_status_code=400)
    @bp.response(200, ProgramSchema)
    def patch(self, body: dict[str, Any], program_id: str) -> dict[str, Any]:
        """Rename the program or change settings (merged into its own, validated as on create)."""
        return programs.update_program(
            db=_container().db,
            org_id=g.org_id,
            program_id=program_id,
            name=body.get("name"),
            settings=body.get("settings"),
        )


@bp.route("/programs/<program_id>/accounts")
class ProgramAccounts(MethodView):
    @bp.doc(security=BEARER)
    @bp.response(200, AccountListSchema)
    def get(self, program_id: str) -> dict[str, Any]:
        """The program's accounts with their numbers of contacts and sellers."""
        items = programs.list_accounts(db=_container().db, org_id=g.org_id, program_id=program_id)
        return {"items": items}


# --- roster --------------------------------------------------------------------------------


@bp.route("/programs/<program_id>/roster")
class ProgramRoster(MethodView):
    @bp.doc(security=BEARER, requestBody=ROSTER_BODY)
    @bp.response(200, RosterReportSchema)
    def post(self, program_id: str) -> roster.RosterReport:
        """Import the roster: good rows are imported, bad rows reported with row and column."""
        container = _container()
        request.max_content_length = current_app.config.get(
            "ROSTER_MAX_BYTES", current_app.config.get("MAX_CONTENT_LENGTH")
        )
        mimetype = request.mimetype
        if request.is_json:
            upload = roster.RosterUpload(request.get_data(), is_json=True)
        elif mimetype == "multipart/form-data":
            file = request.files.get("file")
            if file is None:
                raise ValidationFailed(
                    "send the roster as the multipart file field `file`",
                    details={"file": ["Missing data for required field."]},
                )
            upload = roster.RosterUpload(file.read())
        elif mimetype in CSV_TYPES:
            upload = roster.RosterUpload(request.get_data())
        else:
            raise UnsupportedMediaType(
                "send the roster as text/csv, as a multipart file field `file`, or as JSON rows"
            )
        return roster.import_roster(
            db=container.db, org_id=g.org_id, program_id=program_id, upload=upload
        )


# --- waves ---------------------------------------------------------------------------------


@bp.route("/programs/<program_id>/waves")
class ProgramWaves(MethodView):
    @bp.doc(security=BEARER)
    @bp.response(200, WaveListSchema)
    def get(self, program_id: str) -> dict[str, Any]:
        """The program's waves, newest first, each with its response counts."""
        db = _container().db
        return {"items": wave_edits.list_waves(db=db, org_id=g.org_id, program_id=program_id)}

    @bp.doc(security=BEARER)
    @bp.arguments(WaveCreateSchema, error_status_code=400)
    @bp.response(201, WaveSchema)
    def post(self, body: dict[str, Any], program_id: str) -> dict[str, Any]:
        """Create a draft wave; reminder days default to the program's."""
        return waves.create_wave(
            db=_container().db,
            org_id=g.org_id,
            program_id=program_id,
            name=body["name"],
            closes_at=body["closes_at"],
            opens_at=body.get("opens_at"),
            reminder_days=body.get("reminder_days"),
        )


@bp.route("/waves/<wave_id>")
class Wave(MethodView):
    @bp.doc(security=BEARER)
    @bp.response(200, WaveSchema)
    def get(self, wave_id: str) -> dict[str, Any]:
        """The wave's status and, per side, how many were invited, opened, started, completed."""
        return waves.wave_status(db=_container().db, org_id=g.org_id, wave_id=wave_id)

    @bp.doc(security=BEARER)
    @bp.arguments(WavePatchSchema, error_status_code=400)
    @bp.response(200, WaveSchema)
    def patch(self, body: dict[str, Any], wave_id: str) -> dict[str, Any]:
        """Rename a draft or open wave, change its reminder days, move its closing date (an open
        wave's only later, never into the past); a launching, closing or closed wave is a 409."""
        return wave_edits.update_wave(
            db=_container().db, org_id=g.org_id, wave_id=wave_id, changes=body
        )


@bp.route("/waves/<wave_id>/launch")
class WaveLaunch(MethodView):
    @bp.doc(security=BEARER)
    @bp.arguments(LaunchSchema, error_status_code=400)
    @bp.response(200, LaunchReportSchema)
    def post(self, body: dict[str, Any], wave_id: str) -> waves.LaunchReport:
        """Invite every buyer contact and seller and open the wave.

        A second launch is a 409, and so is a launch that would invite someone another open
        wave of the program already invites (the error names that wave)."""
        container = _container()
        return waves.launch_wave(
            db=container.db,
            bus=container.bus,
            org_id=g.org_id,
            wave_id=wave_id,
            delivery=body["delivery"],
        )


@bp.route("/waves/<wave_id>/links")
class WaveLinks(MethodView):
    @bp.doc(security=BEARER)
    @bp.response(200, LinkListSchema)
    def get(self, wave_id: str) -> dict[str, Any]:
        """Every invitee's personal link (signed; re-created on each call)."""
        container = _container()
        items = waves.wave_links(
            db=container.db, settings=container.settings, org_id=g.org_id, wave_id=wave_id
        )
        return {"items": items}


@bp.route("/waves/<wave_id>/close")
class WaveClose(MethodView):
    @bp.doc(security=BEARER)
    @bp.response(202, WaveSchema)
    def post(self, wave_id: str) -> dict[str, Any]:
        """Close an open wave; any other status, closing and closed included, is a 409."""
        container = _container()
        return waves.close_wave(
            db=container.db, bus=container.bus, org_id=g.org_id, wave_id=wave_id
        )


@bp.route("/waves/<wave_id>/reminders")
class WaveReminders(MethodView):
    @bp.doc(security=BEARER)
    @bp.arguments(RemindersSchema, error_status_code=400)
    @bp.response(202, ReminderReportSchema)
    def post(self, body: dict[str, Any], wave_id: str) -> reminders.ReminderReport:
        """Remind now: everyone not completed, or the people named (one not invited is a 400).

        Never the completed, the opted out, or anyone reminded in the last 24 hours: a
        repeated request queues nothing. Only an open wave (409 otherwise)."""
        container = _container()
        return reminders.send_reminders(
            db=container.db, bus=container.bus, org_id=g.org_id, wave_id=wave_id, to=body["to"]
        )


@bp.route("/waves/<wave_id>/invitations")
class WaveLateInvitations(MethodView):
    @bp.doc(security=BEARER)
    @bp.arguments(LateInvitationSchema, error_status_code=400)
    @bp.response(200, LateInvitationReportSchema)
    def post(self, body: dict[str, Any], wave_id: str) -> late_invitations.LateInvitationReport:
        """Invite the roster's contacts and sellers added since launch; sellers get their new
        buyer contacts as new subjects (a seller who had completed is in progress again).
        Calling it again invites nobody twice. Only an open wave (409 otherwise)."""
        container = _container()
        return late_invitations.invite_late(
            db=container.db,
            bus=container.bus,
            org_id=g.org_id,
            wave_id=wave_id,
            delivery=body["delivery"],
        )


@bp.route("/waves/<wave_id>/links/<email>/revoke")
class WaveLinkRevoke(MethodView):
    @bp.doc(security=BEARER)
    @bp.response(204)
    def post(self, wave_id: str, email: str) -> tuple[str, int]:
        """Revoke the person's link: it answers "link not valid" from now on (404 when the
        person is not invited to the wave; revoking twice is the same)."""
        late_invitations.revoke_link(
            db=_container().db, org_id=g.org_id, wave_id=wave_id, email=email
        )
        return "", 204


@bp.route("/waves/<wave_id>/links/<email>/reissue")
class WaveLinkReissue(MethodView):
    @bp.doc(security=BEARER)
    @bp.response(200, LinkListSchema)
    def post(self, wave_id: str, email: str) -> dict[str, Any]:
        """A new link for the person (after a revoke, or to replace a forwarded one): every
        earlier link of theirs answers "link not valid"; their answers so far stay. Only an
        open wave (409 otherwise); 404 when the person is not invited to it."""
        container = _container()
        items = late_invitations.reissue_link(
            db=container.db,
            settings=container.settings,
            org_id=g.org_id,
            wave_id=wave_id,
            email=email,
        )
        return {"items": items}


# --- close-the-loop cases -------------------------------------------------------------------


@bp.route("/waves/<wave_id>/cases")
class WaveCases(MethodView):
    @bp.doc(security=BEARER)
    @bp.arguments(CaseQuerySchema, location="query", error_status_code=400)
    @bp.response(200, CaseListSchema)
    def get(self, query: dict[str, Any], wave_id: str) -> dict[str, Any]:
        """The wave's close-the-loop cases (one per trigger of SCORING.md section 6, opened
        when its results are final), filtered by status, owner, kind, account or overdue, and
        the share closed in time over all its cases, for the wave and per owner."""
        return cases.list_cases(db=_container().db, org_id=g.org_id, wave_id=wave_id, **query)


@bp.route("/cases/<case_id>")
class Case(MethodView):
    @bp.doc(security=BEARER)
    @bp.response(200, CaseSchema)
    def get(self, case_id: str) -> dict[str, Any]:
        """One case with its history."""
        return cases.get_case(db=_container().db, org_id=g.org_id, case_id=case_id)

    @bp.doc(security=BEARER)
    @bp.arguments(CasePatchSchema, error_status_code=400)
    @bp.response(200, CaseSchema)
    def patch(self, body: dict[str, Any], case_id: str) -> dict[str, Any]:
        """Move the case on (open -> in_progress -> closed, never back; closing needs a note),
        add a note, or hand it to another user or seller of the organisation (`owner_email`):
        send status, note or owner_email. Every change is recorded in the case's history."""
        return cases.change_case(
            db=_container().db, org_id=g.org_id, case_id=case_id, by="api key", **body
        )
