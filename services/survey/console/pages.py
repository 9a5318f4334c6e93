"""The console's pages: the programs, a program, the organisation's settings.

Each page's context is built by one function from the service layer (the admin API's own
functions); the view only renders it. Access is checked in those functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import redirect, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

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
from services.survey.errors import ApiError
from services.survey.logo import MAX_LOGO_BYTES, PNG, SVG, store_logo
from services.survey.organisations import get_organisation, update_branding
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
    from services.survey.console.results_pages import program_waves

    return {
        "program": {"id": program["_id"], "name": program["name"]},
        "settings": settings,
        "waves": program_waves(db=db, person=person, program_id=program_id),
    }


def organisation_context(
    *, db: Database, person: Person, values: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The branding form: stored values (or those just sent back), who may change them."""
    require(person, READ_ORGANISATION)
    organisation = get_organisation(db=db, org_id=person.org_id)
    shown = values if values is not None else organisation
    return {
        "organisation": organisation,
        "logo_url": organisation.get("logo_url"),
        "fields": [
            {"name": n, "label": label, "type": kind, "help": help_, "value": shown.get(n) or ""}
            for n, label, kind, help_ in BRANDING_FORM
        ],
        "may_change": may(person, CHANGE_ORGANISATION),
    }


def change_branding(
    *, db: Database, person: Person, form: Mapping[str, str], logo: bytes | None = None
) -> dict[str, list[str]]:
    """Validate the branding form, then the logo (if one was chosen, through the API's
    store_logo), then save the branding (an empty field clears it); the messages by field
    when refused, and then nothing is saved."""
    require(person, CHANGE_ORGANISATION)
    body = {name: (form.get(name) or "").strip() or None for name, *_ in BRANDING_FORM}
    errors: dict[str, list[str]] = {}
    try:
        changes = OrganisationPatchSchema().load(body)
    except ValidationError as exc:
        errors = flat_messages(exc.messages)
    if errors:
        return errors
    if logo is not None:
        # judged by its content: browsers name an SVG's type in several ways
        kind = PNG if logo.startswith(b"\x89PNG") else SVG
        try:
            store_logo(db=db, org_id=person.org_id, content_type=kind, data=logo)
        except ApiError as exc:  # refused before anything is stored
            return {"logo": [exc.message]}
    update_branding(db=db, org_id=person.org_id, changes=changes)
    return {}


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
    logo = chosen.read(MAX_LOGO_BYTES + 1) if chosen and chosen.filename else None
    errors = change_branding(db=db, person=current_user, form=request.form, logo=logo)
    if not errors:
        return redirect(url_for("console.organisation", saved=1))
    context = organisation_context(db=db, person=current_user, values=request.form)
    return render("console/organisation.html", 400, errors=errors, **context)
