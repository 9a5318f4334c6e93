"""The console's pages: the programs, a program, the organisation's settings.

Each page's context is built by one function from the service layer (the admin API's own
functions); the view only renders it. Access is checked in those functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, redirect, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError
from werkzeug.exceptions import NotFound as NoLogo

from services.survey.admin.programs import get_program, list_programs
from services.survey.admin.schemas import (
    OrganisationPatchSchema,
    ProgramSettingsSchema,
    flat_messages,
)
from services.survey.console.blueprint import bp, container, render
from services.survey.console.people import (
    CHANGE_ORGANISATION,
    READ_ORGANISATION,
    READ_PROGRAMS,
    Person,
    may,
    require,
    require_program,
    sees_program,
)
from services.survey.logo import LOGO_MAX_BYTES, SVG, LogoRefused, checked_logo
from services.survey.organisations import get_logo, get_organisation, set_logo, update_branding
from shared.organisation import BRANDING_FIELDS
from shared.store import Database

# The branding form, in the order of API.md 1.1, each with its label and one-line help.
BRANDING_FORM: tuple[tuple[str, str, str, str], ...] = (
    ("display_name", "Display name", "text", "The name respondents and sellers read."),
    ("sender_name", "Sender name", "text", "The From name of every email (default: display name)."),
    ("reply_to", "Reply-to address", "email", "Where replies to Rapport's emails go."),
    ("accent_color", "Accent colour", "text", "A colour like #1d4ed8 for survey pages and emails."),
    ("privacy_url", "Privacy notice link", "url", "The privacy notice respondents can read."),
    ("contact_name", "Contact name", "text", "Who respondents can ask about the survey."),
    ("contact_email", "Contact email", "email", "Where respondents can ask."),
)


# --- page contexts (service layer in, plain values out) -------------------------------------


def programs_context(*, db: Database, person: Person) -> dict[str, Any]:
    """The programs the person may see, newest first."""
    require(person, READ_PROGRAMS)
    programs = [
        {"id": p["_id"], "name": p["name"], "created_at": p.get("created_at")}
        for p in list_programs(db=db, org_id=person.org_id)
        if sees_program(db=db, person=person, program_id=p["_id"])
    ]
    return {"programs": programs}


def _setting_help(name: str) -> str:
    declared = ProgramSettingsSchema._declared_fields.get(name)
    return (declared.metadata.get("description", "") if declared else "").capitalize()


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def program_context(*, db: Database, person: Person, program_id: str) -> dict[str, Any]:
    """A program's name and settings, each with its one-line explanation."""
    require_program(db=db, person=person, program_id=program_id)
    program = get_program(db=db, org_id=person.org_id, program_id=program_id)
    settings = [
        {"name": name, "value": _shown(value), "help": _setting_help(name)}
        for name, value in (program.get("settings") or {}).items()
    ]
    return {"program": {"id": program["_id"], "name": program["name"]}, "settings": settings}


def organisation_context(
    *, db: Database, person: Person, values: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The branding form: stored values (or those just sent back), who may change them."""
    require(person, READ_ORGANISATION)
    organisation = get_organisation(db=db, org_id=person.org_id)
    shown = values if values is not None else organisation
    logo = get_logo(db=db, org_id=person.org_id, with_data=False)
    return {
        "organisation": organisation,
        "logo_version": logo["sha256"][:12] if logo else None,
        "fields": [
            {"name": n, "label": label, "type": kind, "help": help_, "value": shown.get(n) or ""}
            for n, label, kind, help_ in BRANDING_FORM
        ],
        "may_change": may(person, CHANGE_ORGANISATION),
    }


def change_branding(
    *, db: Database, person: Person, form: Mapping[str, str], logo: bytes | None = None
) -> dict[str, list[str]]:
    """Validate the branding form and the logo (if one was chosen) whole, then save them (an
    empty field clears it); the messages by field when refused, and then nothing is saved."""
    require(person, CHANGE_ORGANISATION)
    body = {name: (form.get(name) or "").strip() or None for name in BRANDING_FIELDS}
    errors: dict[str, list[str]] = {}
    try:
        changes = OrganisationPatchSchema().load(body)
    except ValidationError as exc:
        errors = flat_messages(exc.messages)
    checked = None
    if logo is not None:
        try:
            checked = checked_logo(logo)
        except LogoRefused as exc:
            errors["logo"] = [str(exc)]
    if errors:
        return errors
    if checked is not None:
        set_logo(db=db, org_id=person.org_id, data=checked.data, content_type=checked.content_type)
    update_branding(db=db, org_id=person.org_id, changes=changes)
    return {}


def logo_context(*, db: Database, person: Person) -> dict[str, Any] | None:
    """The organisation's logo for the console, or None."""
    require(person, READ_ORGANISATION)
    return get_logo(db=db, org_id=person.org_id)


# --- views ----------------------------------------------------------------------------------


@bp.get("/programs")
@login_required
def programs():
    """The organisation's programs: the first page after signing in."""
    context = programs_context(db=container().db, person=current_user)
    return render("console/programs.html", **context)


@bp.get("/programs/<program_id>")
@login_required
def program(program_id: str):
    """One program: its name and settings."""
    context = program_context(db=container().db, person=current_user, program_id=program_id)
    return render("console/program.html", **context)


@bp.route("/organisation", methods=["GET", "POST"])
@login_required
def organisation():
    """The organisation's branding; admins change it."""
    db = container().db
    if request.method == "GET":
        context = organisation_context(db=db, person=current_user)
        return render(
            "console/organisation.html", saved=request.args.get("saved") == "1", **context
        )
    chosen = request.files.get("logo")
    logo = chosen.read(LOGO_MAX_BYTES + 1) if chosen and chosen.filename else None
    errors = change_branding(db=db, person=current_user, form=request.form, logo=logo)
    if not errors:
        return redirect(url_for("console.organisation", saved=1))
    context = organisation_context(db=db, person=current_user, values=request.form)
    return render("console/organisation.html", 400, errors=errors, **context)


@bp.get("/organisation/logo")
@login_required
def logo():
    """The organisation's logo as stored (a PNG)."""
    found = logo_context(db=container().db, person=current_user)
    if found is None:
        raise NoLogo()
    headers = {"Cache-Control": "private, max-age=300", "Content-Disposition": "inline"}
    if found["content_type"] == SVG:  # opened on its own, an SVG still runs nothing
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return Response(bytes(found["data"]), mimetype=found["content_type"], headers=headers)
