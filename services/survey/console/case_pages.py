"""The console's close-the-loop pages: a wave's cases (filters, the share closed in time) and
one case (what triggered it, its history, the change form), over services/survey/admin/cases.py.

Admins and managers see and change every case of the organisation; viewers read; a seller
sees only the cases they own (any other is a 404). A case email's `?t=` token only leads to
the case page: who may see or change it is decided by the signed-in person's role.
"""

from __future__ import annotations

from typing import Any

from flask import flash, get_flashed_messages, redirect, request, url_for
from flask_login import current_user, login_required

from services.survey.admin import cases as case_service
from services.survey.admin.waves import get_wave
from services.survey.console.blueprint import bp, container, render
from services.survey.console.people import (
    READ_PROGRAMS,
    SELLER,
    Person,
    require,
    require_program,
)
from services.survey.errors import ApiError, Forbidden, NotFound
from shared.store.cases import STATUSES
from shared.tokens import case_id_from_token

KINDS = {
    "decision_maker_blind_spot": "Decision maker's blind spot",
    "became_detractor": "Became a detractor",
    "antagonistic": "Antagonistic",
    "level_drop": "Relationship level dropped",
    "ri_drop": "Relationship index dropped",
    "silent_decision_maker": "Silent decision maker",
}
STATUS_WORDS = {"open": "Open", "in_progress": "In progress", "closed": "Closed"}
_CHANGERS = frozenset({"admin", "manager"})


def _filters() -> dict[str, Any]:
    args = request.args
    overdue = {"yes": True, "no": False}.get(args.get("overdue", ""))
    return {
        "status": args.get("status") or None,
        "owner": (args.get("owner") or "").strip() or None,
        "kind": args.get("kind") or None,
        "account": (args.get("account") or "").strip() or None,
        "overdue": overdue,
    }


def _sellers_own(person: Person, filters: dict[str, Any]) -> dict[str, Any]:
    """A seller's list is always only their own cases."""
    if person.role == SELLER:
        return {**filters, "owner": person.email}
    return filters


@bp.get("/waves/<wave_id>/cases")
@login_required
def wave_cases(wave_id: str):
    """The wave's cases with filters, and the share closed in time (wave and per owner)."""
    db, person = container().db, current_user
    require(person, READ_PROGRAMS)
    wave = get_wave(db=db, org_id=person.org_id, wave_id=wave_id)
    require_program(db=db, person=person, program_id=wave["program_id"])
    filters = _sellers_own(person, _filters())
    found = case_service.list_cases(db=db, org_id=person.org_id, wave_id=wave_id, **filters)
    summary = found["closed_in_time"]
    if person.role == SELLER:
        summary = {
            "wave": None,
            "owners": [o for o in summary["owners"] if o["owner_email"] == person.email],
        }
    return render(
        "console/cases.html",
        wave=wave,
        cases=found["items"],
        summary=summary,
        filters=request.args,
        kinds=KINDS,
        statuses=STATUS_WORDS,
        seller=person.role == SELLER,
    )


def _case_for(person: Person, case_id: str) -> dict[str, Any]:
    require(person, READ_PROGRAMS)
    case = case_service.get_case(db=container().db, org_id=person.org_id, case_id=case_id)
    if person.role == SELLER and case.get("owner_email") != person.email:
        raise NotFound("case not found")
    return case


def _may_change(person: Person, case: dict[str, Any]) -> bool:
    """Admins and managers change any case; a seller the cases they own."""
    return person.role in _CHANGERS or (
        person.role == SELLER and case.get("owner_email") == person.email
    )


def _case_page(case_id: str, status: int = 200, errors: dict[str, str] | None = None):
    case = _case_for(current_user, case_id)
    return render(
        "console/case.html",
        status,
        case=case,
        errors=errors or {},
        done=list(get_flashed_messages()),
        kinds=KINDS,
        statuses=STATUS_WORDS,
        next_statuses=STATUSES[STATUSES.index(case["status"]) :],
        may_change=_may_change(current_user, case),
    )


@bp.get("/cases/<case_id>")
@login_required
def case_page(case_id: str):
    """One case. A valid `?t=` token of this case only brings the reader here (signed in);
    any other token is ignored."""
    token = request.args.get("t")
    if token is not None and case_id_from_token(token, container().settings) == case_id:
        return redirect(url_for("console.case_page", case_id=case_id))
    return _case_page(case_id)


def _field_errors(exc: ApiError) -> dict[str, str]:
    details = exc.details or {}
    errors = {name: "; ".join(map(str, msgs)) for name, msgs in details.items()}
    return errors or {"form": exc.message}


@bp.post("/cases/<case_id>")
@login_required
def change_case(case_id: str):
    """Move the case on, add a note, hand it to another owner; by the signed-in person."""
    person = current_user
    found = _case_for(person, case_id)
    if not _may_change(person, found):
        raise Forbidden(f"a {person.role} may not change a case")
    form = request.form
    try:
        case_service.change_case(
            db=container().db,
            org_id=person.org_id,
            case_id=case_id,
            status=form.get("status") or None,
            note=form.get("note") or None,
            owner_email=(form.get("owner_email") or "").strip() or None,
            by=person.email,
        )
    except ApiError as exc:
        if exc.status not in (400, 409):
            raise
        return _case_page(case_id, exc.status, _field_errors(exc))
    flash("Case saved.")
    return redirect(url_for("console.case_page", case_id=case_id))
