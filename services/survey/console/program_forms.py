"""The console's program forms: create a program, edit every one of its settings.

Each setting is shown with its default and its one-line explanation, both taken from where
the setting is defined (`ProgramSettingsSchema`'s title and description, the defaults of
`default_settings`), so the API's documentation and the console say the same. The form is
checked as a whole by the API's own schema before anything is written: a refused field
shows its message next to it, and nothing is saved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import redirect, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from services.survey.admin.programs import (
    THRESHOLD_DEFAULTS,
    create_program,
    default_settings,
    get_program,
    update_program,
)
from services.survey.admin.schemas import NAME_MAX, ProgramSettingsSchema, flat_messages
from services.survey.console.blueprint import bp, container, render
from services.survey.console.people import CHANGE_PROGRAMS, Person, require, require_program
from shared.store import Database
from shared.vocabulary import ROLES

# The settings in the form's order, each with how it is typed: a list, a number, per role.
SETTINGS: tuple[tuple[str, str], ...] = (
    ("cut_points", "numbers"),
    ("gap_threshold", "number"),
    ("role_weights", "by_role"),
    ("reminder_days", "numbers"),
    ("languages", "words"),
    ("manager_email", "email"),
    ("case_due_hours", "number"),
    ("min_n", "number"),
    ("min_interval_accounts", "number"),
    ("reliable_change", "number"),
    ("default_reliability", "number"),
)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _number(text: str) -> int | float:
    cleaned = text.strip()
    if not _NUMBER.match(cleaned):
        raise ValueError(f"{cleaned!r} is not a number")
    number = float(cleaned)
    return int(number) if number.is_integer() and "." not in cleaned else number


def _items(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\s]+", text or "") if part.strip()]


def _declared(name: str) -> Mapping[str, Any]:
    return ProgramSettingsSchema._declared_fields[name].metadata


def settings_form(
    values: Mapping[str, Any], errors: Mapping[str, list[str]] | None = None
) -> list[dict[str, Any]]:
    """The settings as form fields: name, label, kind, value shown, default, help, errors."""
    defaults = default_settings()
    errors = errors or {}
    fields = []
    for name, kind in SETTINGS:
        meta = _declared(name)
        field = {
            "name": name,
            "kind": kind,
            "label": meta.get("title", name),
            "help": meta.get("description", "").capitalize(),
            "default": _shown(defaults.get(name)) or "none",
            "errors": errors.get(name, []),
        }
        if kind == "by_role":
            given = values.get(name) or {}
            field["roles"] = [
                {
                    "role": role,
                    "label": role.replace("_", " ").capitalize(),
                    "value": _shown(given.get(role)),
                    "default": _shown(defaults["role_weights"][role]),
                    "errors": errors.get(f"{name}.{role}", []),
                }
                for role in ROLES
            ]
        else:
            field["value"] = _shown(values.get(name))
        fields.append(field)
    return fields


def read_settings_form(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The settings a form sends, typed as the API takes them, checked by the API's schema;
    (settings, {} ) or (what was read, messages by field)."""
    given: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, kind in SETTINGS:
        try:
            if kind == "numbers":
                given[name] = [_number(item) for item in _items(form.get(name, ""))]
            elif kind == "number" and name in THRESHOLD_DEFAULTS and not form.get(name, "").strip():
                given[name] = THRESHOLD_DEFAULTS[name]  # left empty: the default
            elif kind == "number":
                given[name] = _number(form.get(name, ""))
            elif kind == "words":
                given[name] = [item.lower() for item in _items(form.get(name, ""))]
            elif kind == "email":
                given[name] = (form.get(name) or "").strip() or None
            else:
                given[name] = {}
                for role in ROLES:
                    text = (form.get(f"{name}.{role}") or "").strip()
                    try:
                        given[name][role] = _number(text)
                    except ValueError as exc:
                        errors[f"{name}.{role}"] = [str(exc) if text else "enter a number"]
        except ValueError as exc:
            errors[name] = [str(exc)]
    # the schema checks each field that could be read on its own, so that every field's
    # message shows at once (its whole-schema checks are skipped once any field fails)
    schema = ProgramSettingsSchema()
    settings: dict[str, Any] = {}
    for name, value in given.items():
        if name in errors or any(e.startswith(f"{name}.") for e in errors):
            continue
        try:
            settings.update(schema.load({name: value}))
        except ValidationError as exc:
            for field, problems in _by_form_field(flat_messages(exc.messages)).items():
                errors.setdefault(field, []).extend(problems)
    return (given, errors) if errors else (settings, {})


def _by_form_field(messages: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Marshmallow's "cut_points.1" or "role_weights.user.value" as the form's field names."""
    errors: dict[str, list[str]] = {}
    for key, problems in messages.items():
        parts = key.split(".")
        if parts[0] == "role_weights" and len(parts) > 1 and parts[1] in ROLES:
            field = f"role_weights.{parts[1]}"
        else:
            field = parts[0]
            if len(parts) > 1 and parts[1].isdigit():
                problems = [f"item {int(parts[1]) + 1}: {p}" for p in problems]
        errors.setdefault(field, []).extend(problems)
    return errors


def _read_name(form: Mapping[str, str]) -> tuple[str, list[str]]:
    name = " ".join((form.get("name") or "").split())
    if not name:
        return name, ["enter the program's name"]
    if len(name) > NAME_MAX:
        return name, [f"at most {NAME_MAX} characters"]
    return name, []


# --- page contexts --------------------------------------------------------------------------


def new_program_context(
    *, person: Person, form: Mapping[str, str] | None = None, errors: Mapping | None = None
) -> dict[str, Any]:
    """The empty "new program" form (the defaults filled in), or the one just sent back."""
    require(person, CHANGE_PROGRAMS)
    values = default_settings() if form is None else _form_values(form)
    return {
        "name": (form or {}).get("name", ""),
        "fields": settings_form(values, errors),
        "errors": errors or {},
    }


def _form_values(form: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {name: form.get(name, "") for name, _ in SETTINGS}
    values["role_weights"] = {r: form.get(f"role_weights.{r}", "") for r in ROLES}
    return values


def create_program_from_form(
    *, db: Database, person: Person, form: Mapping[str, str]
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """The program created from the form, or None and the messages by field (nothing saved)."""
    require(person, CHANGE_PROGRAMS)
    name, name_errors = _read_name(form)
    settings, errors = read_settings_form(form)
    if name_errors:
        errors = {"name": name_errors, **errors}
    if errors:
        return None, errors
    return create_program(db=db, org_id=person.org_id, name=name, settings=settings), {}


def edit_program_context(
    *,
    db: Database,
    person: Person,
    program_id: str,
    form: Mapping[str, str] | None = None,
    errors: Mapping | None = None,
) -> dict[str, Any]:
    """A program's settings form: its stored values, or those just sent back."""
    require_program(db=db, person=person, program_id=program_id)
    require(person, CHANGE_PROGRAMS)
    program = get_program(db=db, org_id=person.org_id, program_id=program_id)
    values = (program.get("settings") or {}) if form is None else _form_values(form)
    return {
        "program": {"id": program["_id"], "name": program["name"]},
        "name": program["name"] if form is None else form.get("name", ""),
        "fields": settings_form(values, errors),
        "errors": errors or {},
    }


def save_program_form(
    *, db: Database, person: Person, program_id: str, form: Mapping[str, str]
) -> dict[str, list[str]]:
    """Save the name and every setting from the form at once; the messages by field when
    refused, and then nothing is saved."""
    require_program(db=db, person=person, program_id=program_id)
    require(person, CHANGE_PROGRAMS)
    name, name_errors = _read_name(form)
    settings, errors = read_settings_form(form)
    if name_errors:
        errors = {"name": name_errors, **errors}
    if errors:
        return errors
    # an empty manager email is None here, which removes it
    update_program(db=db, org_id=person.org_id, program_id=program_id, name=name, settings=settings)
    return {}


# --- views ----------------------------------------------------------------------------------


@bp.route("/programs/new", methods=["GET", "POST"])
@login_required
def new_program():
    """Create a program: its name and settings (the defaults filled in)."""
    if request.method == "GET":
        return render("console/program_form.html", **new_program_context(person=current_user))
    program, errors = create_program_from_form(
        db=container().db, person=current_user, form=request.form
    )
    if program is not None:
        return redirect(url_for("console.program", program_id=program["_id"], created=1))
    context = new_program_context(person=current_user, form=request.form, errors=errors)
    return render("console/program_form.html", 400, **context)


@bp.route("/programs/<program_id>/settings", methods=["GET", "POST"])
@login_required
def program_settings(program_id: str):
    """Edit a program's name and every setting."""
    db = container().db
    scope = {"db": db, "person": current_user, "program_id": program_id}
    if request.method == "GET":
        return render("console/program_form.html", **edit_program_context(**scope))
    errors = save_program_form(**scope, form=request.form)
    if not errors:
        return redirect(url_for("console.program", program_id=program_id, saved=1))
    context = edit_program_context(**scope, form=request.form, errors=errors)
    return render("console/program_form.html", 400, **context)
