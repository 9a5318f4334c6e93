"""The console's roster pages: the accounts table (paged, sorted, searched on the server), one
account's contacts and sellers, importing a CSV from the browser, downloading the roster.

Admins and managers import; viewers read; a seller's address for any roster page is a 404
(the roster names other sellers' contacts). The import is one request: the browser's own
upload (`static/console-import.js` shows its progress through XMLHttpRequest) and the
import in the worker that receives it, as the admin API does it, so no job state has to
be shared between gunicorn workers and a worker restart loses no half-recorded job.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, current_app, request, stream_with_context
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from services.survey.admin.accounts import AccountsQuery, account_detail, accounts_page
from services.survey.admin.programs import get_program
from services.survey.admin.roster import (
    MAX_REPORTED_ERRORS,
    RosterImportInterrupted,
    import_roster_csv,
)
from services.survey.admin.roster_export import roster_csv
from services.survey.admin.roster_file import COLUMNS, REQUIRED_COLUMNS, RosterFileError
from services.survey.console.blueprint import bp, container, render
from services.survey.console.people import (
    CHANGE_PROGRAMS,
    SELLER,
    Person,
    may,
    require,
    require_program,
)
from services.survey.errors import NotFound, ValidationFailed
from shared.store import Database

_ROW_MESSAGE = re.compile(r"^row (\d+): (.*)$", re.DOTALL)
PARTIAL_HEADER = "X-Rapport-Partial"  # sent by console-import.js: answer with the result only


def require_roster(*, db: Database, person: Person, program_id: str) -> dict[str, Any]:
    """The program, when the person may read its roster: 404 for a seller or another
    organisation's program."""
    require_program(db=db, person=person, program_id=program_id)
    if person.role == SELLER:
        raise NotFound("roster not found")
    program = get_program(db=db, org_id=person.org_id, program_id=program_id)
    return {"id": program["_id"], "name": program["name"]}


def accounts_context(
    *, db: Database, person: Person, program_id: str, query: AccountsQuery
) -> dict[str, Any]:
    """The accounts table of a program for this query, and what the person may do."""
    program = require_roster(db=db, person=person, program_id=program_id)
    page = accounts_page(db=db, org_id=person.org_id, program_id=program_id, query=query)
    return {
        "program": program,
        "query": query,
        "accounts": page,
        "may_import": may(person, CHANGE_PROGRAMS),
    }


def account_context(
    *, db: Database, person: Person, program_id: str, account_id: str
) -> dict[str, Any]:
    """One account of the program with its contacts and sellers."""
    program = require_roster(db=db, person=person, program_id=program_id)
    detail = account_detail(
        db=db, org_id=person.org_id, program_id=program_id, account_id=account_id
    )
    return {"program": program, **detail}


def import_context(*, db: Database, person: Person, program_id: str) -> dict[str, Any]:
    """The import form: the columns a roster file needs."""
    program = require_roster(db=db, person=person, program_id=program_id)
    require(person, CHANGE_PROGRAMS)
    return {"program": program, "required": REQUIRED_COLUMNS, "optional": COLUMNS[8:]}


def import_file(
    *, db: Database, person: Person, program_id: str, data: bytes | None
) -> tuple[int, dict[str, Any]]:
    """Import an uploaded CSV; (status, result) where the result holds either the report
    (with its rows' errors) or the one message saying why nothing was imported."""
    require_roster(db=db, person=person, program_id=program_id)
    require(person, CHANGE_PROGRAMS)
    if data is None:
        return 400, {"message": "Choose a CSV file first. Nothing was imported."}
    if not data.strip():
        return 400, {"message": "The file chosen is empty. Nothing was imported."}
    try:
        report = import_roster_csv(db=db, org_id=person.org_id, program_id=program_id, data=data)
    except RosterFileError as exc:  # the file as a whole: nothing imported
        return 400, {"message": _sentence(exc.message) + " Nothing was imported."}
    except RosterImportInterrupted as exc:
        return 503, {"message": _sentence(exc.message)}
    except ValidationFailed as exc:  # every row refused: nothing imported
        errors = [
            {
                "row": int(found.group(1)),
                "column": column if column != "row" else "",
                "message": found.group(2),
            }
            for column, messages in (exc.details or {}).items()
            for message in messages
            if (found := _ROW_MESSAGE.match(message))
        ]
        errors.sort(key=lambda e: e["row"])
        return 400, {
            "message": "No row could be imported: correct the rows below.",
            "errors": errors,
            "truncated": bool(exc.extra),
        }
    errors = [{"row": e.row, "column": e.column, "message": e.message} for e in report.errors]
    return 200, {
        "report": report,
        "errors": errors,
        "truncated": report.errors_truncated,
        "max_errors": MAX_REPORTED_ERRORS,
    }


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


# --- views ----------------------------------------------------------------------------------


def _partial() -> bool:
    return request.headers.get("HX-Request") == "true" and (
        request.headers.get("HX-Request-Type") != "full"
    )


@bp.get("/programs/<program_id>/accounts")
@login_required
def accounts(program_id: str):
    """The accounts table; an htmx request gets the table only."""
    query = AccountsQuery.from_args(request.args)
    context = accounts_context(
        db=container().db, person=current_user, program_id=program_id, query=query
    )
    template = "console/_accounts_table.html" if _partial() else "console/accounts.html"
    html, status, headers = render(template, **context)
    return html, status, {**headers, "Vary": "HX-Request, HX-Request-Type"}


@bp.get("/programs/<program_id>/accounts/<account_id>")
@login_required
def account(program_id: str, account_id: str):
    """One account: its contacts and sellers."""
    context = account_context(
        db=container().db, person=current_user, program_id=program_id, account_id=account_id
    )
    return render("console/account.html", **context)


@bp.route("/programs/<program_id>/roster/import", methods=["GET", "POST"])
@login_required
def import_roster(program_id: str):
    """Import a roster CSV: the form, then the report with the rows' errors as a table."""
    db = container().db
    context = import_context(db=db, person=current_user, program_id=program_id)
    if request.method == "GET":
        return render("console/roster_import.html", **context)
    request.max_content_length = current_app.config.get(
        "ROSTER_MAX_BYTES", current_app.config.get("MAX_CONTENT_LENGTH")
    )
    try:
        chosen = request.files.get("file")
        data = chosen.read() if chosen and chosen.filename else None
    except RequestEntityTooLarge:
        limit = request.max_content_length or 0
        status, result = (
            413,
            {
                "message": f"The file is larger than {limit // (1024 * 1024)} MB: "
                "split it into smaller files. Nothing was imported."
            },
        )
    else:
        status, result = import_file(db=db, person=current_user, program_id=program_id, data=data)
    if request.headers.get(PARTIAL_HEADER) == "import":
        return render("console/_import_result.html", status, result=result, **context)
    return render("console/roster_import.html", status, result=result, **context)


@bp.get("/programs/<program_id>/roster.csv")
@login_required
def download_roster(program_id: str):
    """The roster as a CSV file, in the import's columns."""
    db = container().db
    program = require_roster(db=db, person=current_user, program_id=program_id)
    lines = roster_csv(db=db, org_id=current_user.org_id, program_id=program_id)
    first = next(lines)  # any error is raised here, before the answer starts
    slug = re.sub(r"[^a-z0-9]+", "-", program["name"].lower()).strip("-") or "program"

    def body():
        yield first
        yield from lines

    return Response(
        stream_with_context(body()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="roster-{slug[:60]}.csv"',
            "Cache-Control": "no-store",
        },
    )
