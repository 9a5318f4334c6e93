"""The console's wave pages in the service layer: each function checks access first, then calls
the admin API's own service functions (waves, wave_edits, reminders, late_invitations,
monitoring); no page computes a number of its own.

Who may: admins, managers and viewers see a wave of their organisation; admins and managers
change it (a viewer is a 403). A seller gets a 404 on every wave page, as does another
organisation's wave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError

from services.survey.admin import late_invitations, monitoring, reminders, wave_edits, waves
from services.survey.admin.programs import get_program
from services.survey.admin.schemas import WaveCreateSchema, flat_messages
from services.survey.console.people import (
    CHANGE_PROGRAMS,
    SELLER,
    Person,
    may,
    require,
    require_program,
)
from services.survey.errors import ApiError, NotFound, ValidationFailed
from services.survey.respond import screens
from services.survey.respond.wording import words
from shared import clock
from shared.bus import Bus
from shared.questionnaire import load_bank
from shared.settings import Settings
from shared.store import Database, emails
from shared.store import invitations as invitation_store
from shared.vocabulary import BUYER, OPEN

PAGE_SIZE = 50  # rows of a rates or not-answered table on one page
SIDES = (BUYER, SELLER)


def _see_wave(db: Database, person: Person, wave_id: str) -> dict[str, Any]:
    """The organisation's wave for an admin, manager or viewer; 404 for a seller."""
    if person.role == SELLER:
        raise NotFound("wave not found")
    return waves.get_wave(db=db, org_id=person.org_id, wave_id=wave_id)


def _change_wave(db: Database, person: Person, wave_id: str) -> dict[str, Any]:
    wave = _see_wave(db, person, wave_id)
    require(person, CHANGE_PROGRAMS)
    return wave


def _see_program(db: Database, person: Person, program_id: str) -> dict[str, Any]:
    if person.role == SELLER:
        raise NotFound("program not found")
    require_program(db=db, person=person, program_id=program_id)
    return get_program(db=db, org_id=person.org_id, program_id=program_id)


def _summary(wave: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": wave["_id"],
        "name": wave.get("name") or "",
        "status": wave["status"],
        "program_id": wave["program_id"],
        "opens_at": clock.aware(wave.get("opens_at")),
        "closes_at": clock.aware(wave.get("closes_at")),
        "reminder_days": list(wave.get("reminder_days") or []),
    }


def _page(rows: Sequence[Any], page: int) -> tuple[list[Any], dict[str, int]]:
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(1, page), pages)
    start = (page - 1) * PAGE_SIZE
    return list(rows[start : start + PAGE_SIZE]), {"page": page, "pages": pages, "rows": len(rows)}


# --- the program's waves and a new wave -----------------------------------------------------


def waves_context(
    *, db: Database, person: Person, program_id: str, values: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The program's waves (newest first, with their counts) and the new-wave form."""
    program = _see_program(db, person, program_id)
    listed = wave_edits.list_waves(db=db, org_id=person.org_id, program_id=program_id)
    reminder_days = (program.get("settings") or {}).get("reminder_days") or []
    return {
        "program": {"id": program["_id"], "name": program["name"]},
        "waves": [{**_summary(w), "counts": w["counts"]} for w in listed],
        "may_change": may(person, CHANGE_PROGRAMS),
        "values": values or {"reminder_days": ", ".join(str(d) for d in reminder_days)},
    }


def _form_datetime(value: str) -> str | None:
    """A datetime-local field (read as UTC) in the API's ISO form; None when empty."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value  # the schema names it: "Not a valid datetime."
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


def _form_days(value: str) -> list[Any] | None:
    parts = [p.strip() for p in (value or "").replace(";", ",").split(",") if p.strip()]
    if not parts:
        return None
    return [int(p) if p.lstrip("-").isdigit() else p for p in parts]


def create_wave(
    *, db: Database, person: Person, program_id: str, form: Mapping[str, str]
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """Create a draft wave from the form, validated by the API's schema; (wave, {}) or
    (None, messages by field) and nothing saved."""
    _see_program(db, person, program_id)
    require(person, CHANGE_PROGRAMS)
    body: dict[str, Any] = {"name": (form.get("name") or "").strip()}
    for field in ("closes_at", "opens_at"):
        shown = _form_datetime(form.get(field, ""))
        if shown is not None:
            body[field] = shown
    days = _form_days(form.get("reminder_days", ""))
    if days is not None:
        body["reminder_days"] = days
    if not body["name"]:
        body.pop("name")
    try:
        data = WaveCreateSchema().load(body)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for key, messages in flat_messages(exc.messages).items():
            # "reminder_days.1" (the second day) is shown next to the reminder days field
            errors.setdefault(key.split(".")[0], []).extend(messages)
        return None, errors
    try:
        wave = waves.create_wave(
            db=db,
            org_id=person.org_id,
            program_id=program_id,
            name=data["name"],
            closes_at=data["closes_at"],
            opens_at=data.get("opens_at"),
            reminder_days=data.get("reminder_days"),
        )
    except ValidationFailed as exc:
        return None, exc.details or {"name": [exc.message]}
    return wave, {}


# --- preview, launch ------------------------------------------------------------------------


def preview_context(
    *, db: Database, person: Person, wave_id: str, side: str, language: str, sender: str
) -> dict[str, Any]:
    """The questionnaire as a buyer or a seller reads it, in one of the bank's languages,
    worded by the respondent pages' own function; nothing is saved."""
    wave = _see_wave(db, person, wave_id)
    bank = load_bank()
    if side not in SIDES:
        raise NotFound("no such side: buyer or seller")
    if language not in bank.languages:
        raise NotFound(f"no such language: {', '.join(bank.languages)}")
    buyer_name = "Example Buyer" if side == SELLER else None
    sections = screens.worded_sections(side, language, buyer_name, sender or None)
    return {
        "wave": _summary(wave),
        "side": side,
        "language": language,
        "languages": list(bank.languages),
        "sides": list(SIDES),
        "sections": sections,
        "facts": screens.welcome_facts(bank),
        "w": words(language),
    }


def launch_context(*, db: Database, person: Person, wave_id: str) -> dict[str, Any]:
    """What launching would do: the buyers and sellers the roster would invite today (opted
    out left out), computed by the launch's own roster and invitation functions."""
    wave = _see_wave(db, person, wave_id)
    program = get_program(db=db, org_id=person.org_id, program_id=wave["program_id"])
    roster = waves.load_launch_roster(db=db, org_id=person.org_id, program=program)
    built = waves.build_invitations(wave=wave, roster=roster, now=clock.stored_now())
    counted = [i for i in built if not i["opted_out"]]
    return {
        "wave": _summary(wave),
        "program": {"id": program["_id"], "name": program["name"]},
        "buyers": sum(1 for i in counted if i["side"] == BUYER),
        "sellers": sum(1 for i in counted if i["side"] == SELLER),
        "opted_out": len(built) - len(counted),
        "accounts": len(roster.accounts),
        "may_change": may(person, CHANGE_PROGRAMS),
    }


def launch(
    *, db: Database, bus: Bus, person: Person, wave_id: str, delivery: str
) -> waves.LaunchReport:
    """Launch the wave (the API's launch_wave): 409 unless a draft with people to invite."""
    _change_wave(db, person, wave_id)
    return waves.launch_wave(
        db=db, bus=bus, org_id=person.org_id, wave_id=wave_id, delivery=delivery
    )


# --- the open wave --------------------------------------------------------------------------


def rates_context(
    *,
    db: Database,
    person: Person,
    wave_id: str,
    accounts_page: int = 1,
    sellers_page: int = 1,
    rows: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Response rates by side, by account and by seller (a page of each), as of now."""
    wave = _see_wave(db, person, wave_id)
    rates = monitoring.response_rates(db=db, org_id=person.org_id, wave_id=wave_id, rows=rows)
    accounts, accounts_paging = _page(rates["accounts"], accounts_page)
    sellers, sellers_paging = _page(rates["sellers"], sellers_page)
    return {
        "wave": _summary(wave),
        "sides": rates["sides"],
        "accounts": accounts,
        "accounts_paging": accounts_paging,
        "sellers": sellers,
        "sellers_paging": sellers_paging,
        "as_of": clock.now(),
    }


def wave_context(
    *,
    db: Database,
    person: Person,
    wave_id: str,
    silent: bool = False,
    page: int = 1,
    accounts_page: int = 1,
    sellers_page: int = 1,
) -> dict[str, Any]:
    """The wave page: its state, the rates, who has not answered (a page; only the silent
    decision makers when asked), and what the person may do. The wave's invitations are
    read once for both."""
    _see_wave(db, person, wave_id)
    rows = monitoring.wave_rows(db=db, org_id=person.org_id, wave_id=wave_id)
    rates = rates_context(
        db=db,
        person=person,
        wave_id=wave_id,
        accounts_page=accounts_page,
        sellers_page=sellers_page,
        rows=rows,
    )
    wave = rates["wave"]
    program = get_program(db=db, org_id=person.org_id, program_id=wave["program_id"])
    waiting = monitoring.not_answered(
        db=db, org_id=person.org_id, wave_id=wave_id, silent_decision_makers=silent, rows=rows
    )
    people, paging = _page(waiting, page)
    return {
        **rates,
        "program": {"id": program["_id"], "name": program["name"]},
        "silent": silent,
        "people": people,
        "people_paging": paging,
        "is_open": wave["status"] == OPEN,
        "may_change": may(person, CHANGE_PROGRAMS),
    }


def remind(
    *, db: Database, bus: Bus, person: Person, wave_id: str, everyone: bool, emails: Sequence[str]
) -> reminders.ReminderReport:
    """Remind now: everyone not completed, or the people ticked (none ticked is a 400)."""
    _change_wave(db, person, wave_id)
    to: str | list[str] = reminders.NOT_COMPLETED if everyone else list(emails)
    if not everyone and not emails:
        raise ValidationFailed(
            "tick the people to remind, or remind everyone not completed",
            details={"email": ["tick at least one person"]},
        )
    return reminders.send_reminders(db=db, bus=bus, org_id=person.org_id, wave_id=wave_id, to=to)


def invite_late(
    *, db: Database, bus: Bus, person: Person, wave_id: str
) -> late_invitations.LateInvitationReport:
    """Invite the contacts and sellers added to the roster since launch (by email)."""
    _change_wave(db, person, wave_id)
    return late_invitations.invite_late(
        db=db, bus=bus, org_id=person.org_id, wave_id=wave_id, delivery="email"
    )


def link_context(
    *, db: Database, settings: Settings, person: Person, wave_id: str, email: str
) -> dict[str, Any]:
    """A person's current link(s) in the wave, or that it was revoked; 404 when not invited."""
    wave = _see_wave(db, person, wave_id)
    address = (email or "").strip().lower()
    links = [
        link
        for link in waves.wave_links(
            db=db, settings=settings, org_id=person.org_id, wave_id=wave_id
        )
        if link["email"] == address
    ]
    if not links and not invitation_store.of_people(
        db=db, org_id=person.org_id, wave_id=wave_id, emails=[address], fields=("_id",)
    ):
        raise NotFound(f"{address} is not invited to this wave")
    return {
        "wave": _summary(wave),
        "email": address,
        "links": links,
        "revoked": not links,
        "is_open": wave["status"] == OPEN,
        "may_change": may(person, CHANGE_PROGRAMS),
    }


def revoke(*, db: Database, person: Person, wave_id: str, email: str) -> None:
    """Revoke the person's link: it answers "link not valid" from now on."""
    _change_wave(db, person, wave_id)
    late_invitations.revoke_link(db=db, org_id=person.org_id, wave_id=wave_id, email=email)


def reissue(
    *, db: Database, settings: Settings, person: Person, wave_id: str, email: str
) -> list[dict[str, Any]]:
    """A new link for the person; every earlier one stops working."""
    _change_wave(db, person, wave_id)
    return late_invitations.reissue_link(
        db=db, settings=settings, org_id=person.org_id, wave_id=wave_id, email=email
    )


def move_closing_date(
    *, db: Database, person: Person, wave_id: str, closes_at: str
) -> dict[str, list[str]]:
    """Move the closing date (the API's update_wave: an open wave's only later); the
    messages by field when refused."""
    _change_wave(db, person, wave_id)
    shown = _form_datetime(closes_at)
    if shown is None:
        return {"closes_at": ["a date and time is required"]}
    try:
        parsed = datetime.fromisoformat(shown)
    except ValueError:
        return {"closes_at": ["not a date and time"]}
    try:
        wave_edits.update_wave(
            db=db, org_id=person.org_id, wave_id=wave_id, changes={"closes_at": parsed}
        )
    except ApiError as exc:
        if exc.status == 400:
            return {"closes_at": [m for ms in exc.details.values() for m in ms] or [exc.message]}
        raise
    return {}


def close(*, db: Database, bus: Bus, person: Person, wave_id: str) -> dict[str, Any]:
    """Close the open wave (409 otherwise); scoring follows."""
    _change_wave(db, person, wave_id)
    return waves.close_wave(db=db, bus=bus, org_id=person.org_id, wave_id=wave_id)


# --- the email log --------------------------------------------------------------------------


def emails_context(
    *, db: Database, person: Person, wave_id: str, status: str | None = None
) -> dict[str, Any]:
    """The wave's emails, newest first (at most 500): to whom, kind, status, failure reason."""
    wave = _see_wave(db, person, wave_id)
    log = monitoring.email_log(db=db, org_id=person.org_id, wave_id=wave_id, status=status)
    return {
        "wave": _summary(wave),
        "emails": log,
        "status_filter": status or "",
        "may_change": may(person, CHANGE_PROGRAMS),
    }


def resend(*, db: Database, person: Person, wave_id: str, email_id: str) -> dict[str, Any]:
    """Resend one email of this wave (the API's resend); another wave's email is a 404."""
    _change_wave(db, person, wave_id)
    found = emails.get_of_org(db=db, org_id=person.org_id, email_id=email_id)
    if found is None or found.get("wave_id") != wave_id:
        raise NotFound("email not found")
    return monitoring.resend(db=db, org_id=person.org_id, email_id=email_id)
