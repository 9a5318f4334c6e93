"""The program's waves as a list, and a wave's edits: its name, closing date and reminder days.

A draft takes any change; an open wave may be renamed, given other reminder days, and its
closing date moved later (never earlier, never into the past). A wave that is launching,
closing or closed is a 409.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from services.survey.admin.programs import get_program
from services.survey.admin.waves import get_wave, wave_counts
from services.survey.errors import Conflict, ValidationFailed
from shared import clock
from shared.store import Database, waves
from shared.vocabulary import DRAFT, OPEN

EDITABLE = ("name", "closes_at", "reminder_days")


def list_waves(*, db: Database, org_id: str, program_id: str) -> list[dict[str, Any]]:
    """The program's waves, newest first, each with its response counts."""
    get_program(db=db, org_id=org_id, program_id=program_id)
    return [
        {**wave, "counts": wave_counts(db=db, org_id=org_id, wave_id=wave["_id"])}
        for wave in waves.of_program(db=db, org_id=org_id, program_id=program_id)
    ]


def _refuse(field: str, problem: str, more: str = "") -> ValidationFailed:
    return ValidationFailed(f"{field}: {problem}{more}", details={field: [problem]})


def _checked_changes(
    wave: Mapping[str, Any], changes: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise _refuse(unknown[0], "cannot be changed here")
    if not changes:
        raise ValidationFailed(
            "nothing to change: send name, closes_at or reminder_days",
            details={"body": ["name, closes_at or reminder_days is required"]},
        )
    checked: dict[str, Any] = {}
    if "name" in changes:
        name = changes["name"]
        if not isinstance(name, str) or not name.strip():
            raise _refuse("name", "must not be empty")
        checked["name"] = name.strip()
    if "closes_at" in changes:
        closes_at = clock.aware(changes["closes_at"])
        if closes_at is None:
            raise _refuse("closes_at", "must be a date and time")
        if closes_at <= now:
            raise _refuse("closes_at", "must be in the future")
        current = clock.aware(wave.get("closes_at"))
        if wave["status"] == OPEN and current is not None and closes_at < current:
            raise _refuse(
                "closes_at",
                "may only move later while the wave is open",
                f" (it closes {current.isoformat()})",
            )
        opens_at = clock.aware(wave.get("opens_at"))
        if wave["status"] == DRAFT and opens_at is not None and closes_at <= opens_at:
            raise _refuse("closes_at", "must be after opens_at")
        checked["closes_at"] = closes_at
    if "reminder_days" in changes:
        days: Sequence[int] = changes["reminder_days"] or []
        if any(a >= b for a, b in zip(days, days[1:], strict=False)):
            raise _refuse("reminder_days", "must be strictly increasing, without repeats")
        checked["reminder_days"] = list(days)
    return checked


def update_wave(
    *, db: Database, org_id: str, wave_id: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Rename a draft or open wave, move its closing date, change its reminder days; the wave
    with its counts. 400 names the field at fault; 409 unless the wave is draft or open."""
    wave = get_wave(db=db, org_id=org_id, wave_id=wave_id)
    if wave["status"] not in (DRAFT, OPEN):
        raise Conflict(
            f"the wave is {wave['status']}: only a draft or open wave can be changed",
            details={"status": [wave["status"]]},
        )
    now = clock.stored_now()
    checked = _checked_changes(wave, changes, now)
    checked["updated_at"] = now
    updated = waves.update_in_status(
        db=db, org_id=org_id, wave_id=wave_id, status=wave["status"], changes=checked
    )
    if updated is None:
        current = get_wave(db=db, org_id=org_id, wave_id=wave_id)
        raise Conflict(f"the wave became {current['status']} meanwhile: nothing was changed")
    return {**updated, "counts": wave_counts(db=db, org_id=org_id, wave_id=wave_id)}
