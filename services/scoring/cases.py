"""Open the close-the-loop cases of a wave whose results are final (DESIGN.md "Close the loop").

One case per trigger of SCORING.md section 6 (the engine's contact-level alerts, the silent
decision maker included): its kind, account, contact and numbers, the wave and the previous
wave by name, the account owner and the due date (results final + the program's
`case_due_hours`, default 48). Opening only inserts what is not there yet, keyed by (wave,
account, contact, kind), and every field derives from stored data (the due date from the
wave's `closed_at`, which a second close leaves as it was), so a redelivered `wave.closed`
or a restart after a kill opens each case once and the same.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shared.store import Database, roster, waves
from shared.store import cases as case_store

log = logging.getLogger(__name__)


class Trigger(Protocol):
    """What the engine's Alert carries (services.scoring.engine.Alert)."""

    reason: str
    account_external_id: str
    contact_key: str | None
    previous: Any
    current: Any


def due_hours(program: Mapping[str, Any]) -> int:
    """The program's SLA for a case, in hours (setting `case_due_hours`, default 48)."""
    value = (program.get("settings") or {}).get("case_due_hours")
    return int(value) if value else case_store.DEFAULT_DUE_HOURS


def _number(value: Any) -> Any:
    if isinstance(value, float) or hasattr(value, "dtype"):
        number = float(value)
        return None if math.isnan(number) else number
    return value


def build_cases(
    *,
    db: Database,
    wave: Mapping[str, Any],
    program: Mapping[str, Any],
    triggers: Iterable[Trigger],
    owners: Mapping[str, str],
    previous_wave: Mapping[str, Any] | None,
    final_at: datetime,
) -> list[dict[str, Any]]:
    """The case documents of the wave's triggers (not stored)."""
    program_id, org_id = wave["program_id"], wave["org_id"]
    due_at = final_at + timedelta(hours=due_hours(program))
    accounts: dict[str, dict[str, Any]] = {}
    found = []
    for trigger in triggers:
        external_id = trigger.account_external_id
        if external_id not in accounts:
            accounts[external_id] = (
                roster.find_account(
                    db=db, program_id=program_id, external_id=external_id, fields=("name",)
                )
                or {}
            )
        contact = (
            roster.find_contact(
                db=db, program_id=program_id, email=trigger.contact_key, fields=("name", "role")
            )
            or {}
        )
        key = case_store.case_key(
            wave_id=wave["_id"],
            account_external_id=external_id,
            contact_email=trigger.contact_key,
            kind=trigger.reason,
        )
        found.append(
            {
                "_id": case_store.case_id(key),
                "case_key": key,
                "org_id": org_id,
                "program_id": program_id,
                "wave_id": wave["_id"],
                "wave_name": wave.get("name"),
                "previous_wave_id": (previous_wave or {}).get("_id"),
                "previous_wave_name": (previous_wave or {}).get("name"),
                "kind": trigger.reason,
                "account_external_id": external_id,
                "account_name": accounts[external_id].get("name") or external_id,
                "contact_email": trigger.contact_key,
                "contact_name": contact.get("name"),
                "contact_role": contact.get("role"),
                "numbers": {
                    "previous": _number(trigger.previous),
                    "current": _number(trigger.current),
                },
                "owner_email": owners.get(external_id),
                "status": case_store.OPEN,
                "opened_at": final_at,
                "due_at": due_at,
                "closed_at": None,
                "note": None,
                "version": 0,
                "history": [{"at": final_at, "by": "rapport", "what": "opened"}],
            }
        )
    return found


def open_for_wave(
    db: Database,
    wave: Mapping[str, Any],
    program: Mapping[str, Any],
    triggers: Iterable[Trigger],
    owners: Mapping[str, str],
    previous_wave_id: str | None,
) -> int:
    """Open the cases of a wave whose final results are stored; returns how many were new."""
    stored = waves.get(db=db, org_id=None, wave_id=wave["_id"], fields=("closed_at",)) or {}
    final_at = stored.get("closed_at") or datetime.now(UTC)
    if final_at.tzinfo is None:
        final_at = final_at.replace(tzinfo=UTC)
    previous = (
        waves.get(db=db, org_id=None, wave_id=previous_wave_id, fields=("name",))
        if previous_wave_id
        else None
    )
    found = build_cases(
        db=db,
        wave=wave,
        program=program,
        triggers=triggers,
        owners=owners,
        previous_wave=previous,
        final_at=final_at,
    )
    opened = case_store.open_many(db=db, cases=found)
    log.info("cases opened", extra={"wave_id": wave["_id"], "new": opened, "cases": len(found)})
    return opened
