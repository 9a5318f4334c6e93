"""Close-the-loop cases (DESIGN.md): list a wave's cases, read one, change one.

The scoring worker opens the cases when a wave's results are final (services/scoring/cases.py);
here people work them: `open -> in_progress -> closed`, closing needs a note, the owner can be
handed to another user or seller of the organisation, and every change is recorded in the
case's history (who, when, what). Functions take (db, org_id, ...) and return plain data, for
the admin API and the console alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.survey.admin.waves import get_wave
from services.survey.errors import Conflict, NotFound, ValidationFailed
from shared.store import Database, roster, users
from shared.store import cases as case_store
from shared.store.cases import CLOSED, STATUSES

SHOWN_FIELDS = (
    "wave_id",
    "wave_name",
    "previous_wave_id",
    "previous_wave_name",
    "kind",
    "account_external_id",
    "account_name",
    "contact_email",
    "contact_name",
    "contact_role",
    "numbers",
    "owner_email",
    "status",
    "opened_at",
    "due_at",
    "closed_at",
    "note",
    "history",
)
NEVER_BACK = "a case goes open -> in_progress -> closed, never back"
CLOSING_NEEDS_A_NOTE = "is required to close a case"
CHANGE_ATTEMPTS = 3  # a change racing another is retried on the case as it is now


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def is_overdue(case: Mapping[str, Any], now: datetime) -> bool:
    """Not closed and past its due date."""
    due = _aware(case.get("due_at"))
    return case.get("status") != CLOSED and due is not None and due < now


def closed_in_time(case: Mapping[str, Any]) -> bool | None:
    """Closed by its due date; None while it is not closed."""
    if case.get("status") != CLOSED:
        return None
    closed, due = _aware(case.get("closed_at")), _aware(case.get("due_at"))
    return closed is not None and due is not None and closed <= due


def case_view(case: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A stored case as the API shows it."""
    view = {"id": case["_id"], **{name: case.get(name) for name in SHOWN_FIELDS}}
    view["history"] = list(case.get("history") or ())
    view["overdue"] = is_overdue(case, now)
    view["closed_in_time"] = closed_in_time(case)
    return view


def _tally(found: list[Mapping[str, Any]], now: datetime) -> dict[str, Any]:
    """How many cases, closed, closed in time, overdue, and the share closed in time of the
    cases whose outcome is known (closed, or past due): null when there are none."""
    closed = [c for c in found if c.get("status") == CLOSED]
    in_time = sum(1 for c in closed if closed_in_time(c))
    overdue = sum(1 for c in found if is_overdue(c, now))
    decided = len(closed) + overdue
    return {
        "cases": len(found),
        "open": sum(1 for c in found if c.get("status") != CLOSED),
        "closed": len(closed),
        "closed_in_time": in_time,
        "overdue": overdue,
        "closed_in_time_share": in_time / decided if decided else None,
    }


def closed_in_time_summary(found: list[Mapping[str, Any]], now: datetime) -> dict[str, Any]:
    """The share closed in time over the wave's cases, and per owner."""
    owners: dict[str | None, list[Mapping[str, Any]]] = {}
    for case in found:
        owners.setdefault(case.get("owner_email"), []).append(case)
    return {
        "wave": _tally(found, now),
        "owners": [
            {"owner_email": owner, **_tally(of_owner, now)}
            for owner, of_owner in sorted(owners.items(), key=lambda o: str(o[0] or ""))
        ],
    }


def list_cases(
    *,
    db: Database,
    org_id: str,
    wave_id: str,
    status: str | None = None,
    owner: str | None = None,
    kind: str | None = None,
    account: str | None = None,
    overdue: bool | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The wave's cases matching the filters (by account, contact, kind), and the share
    closed in time over all of the wave's cases, per wave and per owner. Another
    organisation's wave is NotFound."""
    get_wave(db=db, org_id=org_id, wave_id=wave_id)
    now = now or datetime.now(UTC)
    found = case_store.of_wave(db=db, org_id=org_id, wave_id=wave_id)
    wanted = {
        "status": status,
        "owner_email": owner.strip().lower() if owner else None,
        "kind": kind,
        "account_external_id": account,
    }
    items = [
        case_view(c, now)
        for c in found
        if all(value is None or c.get(name) == value for name, value in wanted.items())
        and (overdue is None or is_overdue(c, now) == overdue)
    ]
    return {
        "wave_id": wave_id,
        "items": items,
        "closed_in_time": closed_in_time_summary(found, now),
    }


def get_case(*, db: Database, org_id: str, case_id: str, now: datetime | None = None) -> dict:
    """One case of the organisation (another's, or none, is NotFound)."""
    case = case_store.get(db=db, org_id=org_id, case_id=case_id)
    if case is None:
        raise NotFound("case not found")
    return case_view(case, now or datetime.now(UTC))


def _check_owner(db: Database, org_id: str, program_id: str, email: str) -> str:
    """The new owner's email if they are a user of the organisation or a seller of the
    case's program, else a 400 naming owner_email."""
    email = email.strip().lower()
    user = users.find_by_email(db=db, email=email)
    if user is not None and user.get("org_id") == org_id:
        return email
    seller = roster.find_seller(
        db=db, program_id=program_id, org_id=org_id, email=email, fields=("_id",)
    )
    if seller is not None:
        return email
    message = "owner_email: not a user or seller of this organisation"
    raise ValidationFailed(message, details={"owner_email": [message.split(": ", 1)[1]]})


def _changes(
    case: Mapping[str, Any],
    *,
    status: str | None,
    note: str | None,
    owner_email: str | None,
    by: str,
    now: datetime,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The fields to set and the history entries of one change request."""
    changes: dict[str, Any] = {"updated_at": now}
    history: list[dict[str, Any]] = []
    current = case.get("status")
    if status is not None and status != current:
        if current == CLOSED or STATUSES.index(status) < STATUSES.index(current):
            raise Conflict(
                f"status: the case is {current}; {NEVER_BACK}",
                details={"status": [NEVER_BACK]},
            )
        changes["status"] = status
        if status == CLOSED:
            changes["closed_at"] = now
        history.append({"at": now, "by": by, "what": "status", "from": current, "to": status})
    if owner_email is not None and owner_email != case.get("owner_email"):
        changes["owner_email"] = owner_email
        history.append(
            {
                "at": now,
                "by": by,
                "what": "owner",
                "from": case.get("owner_email"),
                "to": owner_email,
            }
        )
    if note:
        changes["note"] = note
        history.append({"at": now, "by": by, "what": "note", "note": note})
    return changes, history


def change_case(
    *,
    db: Database,
    org_id: str,
    case_id: str,
    status: str | None = None,
    note: str | None = None,
    owner_email: str | None = None,
    by: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move a case on, add a note, or hand it to another owner; `by` is who did it. Closing
    needs a note (a 400 naming `note`); a closed case cannot move back (409); a new owner
    must be a user or seller of the organisation (a 400 naming `owner_email`)."""
    note = (note or "").strip() or None
    if status is not None and status not in STATUSES:
        raise ValidationFailed(
            f"status: must be one of {', '.join(STATUSES)}", details={"status": ["unknown"]}
        )
    if status == CLOSED and note is None:
        message = "note: closing a case needs a note saying what was done"
        raise ValidationFailed(message, details={"note": [CLOSING_NEEDS_A_NOTE]})
    for _ in range(CHANGE_ATTEMPTS):
        now_at = now or datetime.now(UTC)
        case = case_store.get(db=db, org_id=org_id, case_id=case_id)
        if case is None:
            raise NotFound("case not found")
        new_owner = (
            _check_owner(db, org_id, case["program_id"], owner_email) if owner_email else None
        )
        changes, history = _changes(
            case, status=status, note=note, owner_email=new_owner, by=by, now=now_at
        )
        if not history:
            return case_view(case, now_at)
        updated = case_store.update(
            db=db,
            org_id=org_id,
            case_id=case_id,
            version=case.get("version", 0),
            changes=changes,
            history=history,
        )
        if updated is not None:
            return case_view(updated, now_at)
    raise Conflict("the case changed meanwhile: read it again and retry")
