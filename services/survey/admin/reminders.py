"""Reminders on demand: remind everyone who has not completed, or the people named.

Never to who completed, opted out, was revoked, or was reminded in the last 24 hours (by a
request like this one or by the scheduled reminders). Each request claims its people with
one conditional update (`last_reminded_at`, `reminder_round`), so a repeated or concurrent
request finds them reminded and queues nothing. The emails go the path of every invitation
email: an `invitations.created` event (kind "reminder") through the outbox to notify, whose
email keys (`reminder:<invitation>:manual:<round>`) make a redelivered event send nothing twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from services.survey.admin.waves import EVENT_BATCH, get_wave
from services.survey.errors import Conflict, ValidationFailed
from shared import clock
from shared.bus import Bus
from shared.events import INVITATIONS_CREATED, Event
from shared.ids import new_id
from shared.outbox import publish_staged, stage_events
from shared.store import Database, emails, opt_outs
from shared.store import invitations as invitation_store
from shared.vocabulary import COMPLETED, OPEN

log = logging.getLogger(__name__)

NOT_COMPLETED = "not_completed"
QUIET_PERIOD = timedelta(hours=24)  # nobody is reminded twice within this
MAX_NAMED = 5000
_REMINDER_EVENTS = uuid.UUID("3c0f5a7e-1d2b-4e8f-9a61-7b5d2c4e8f10")
_FIELDS = ("person_email", "side", "status", "revoked", "opted_out", "last_reminded_at")


@dataclass(frozen=True)
class ReminderReport:
    """What a reminder request did: how many reminders were queued, who was left out and why."""

    wave_id: str
    queued: int
    skipped: Mapping[str, int] = field(default_factory=dict)
    events_published: int = 0


def _named_emails(to: Sequence[Any]) -> list[str]:
    if not to:
        raise ValidationFailed(
            'to: name at least one email, or send "not_completed"',
            details={"to": ["is empty"]},
        )
    if len(to) > MAX_NAMED:
        raise ValidationFailed(
            f"to: at most {MAX_NAMED} emails", details={"to": [f"more than {MAX_NAMED}"]}
        )
    wrong = [str(e) for e in to if not isinstance(e, str) or "@" not in e]
    if wrong:
        raise ValidationFailed(
            f"to: not an email: {', '.join(wrong[:5])}", details={"to": [f"not an email: {wrong}"]}
        )
    return sorted({e.strip().lower() for e in to})


def _candidates(
    db: Database, org_id: str, wave_id: str, to: str | Sequence[Any]
) -> list[dict[str, Any]]:
    if to == NOT_COMPLETED:
        return invitation_store.of_people(db=db, org_id=org_id, wave_id=wave_id, fields=_FIELDS)
    if isinstance(to, str) or not isinstance(to, list | tuple):
        raise ValidationFailed(
            'to: send "not_completed" or a list of emails',
            details={"to": ['must be "not_completed" or a list of emails']},
        )
    named = _named_emails(to)
    found = invitation_store.of_people(
        db=db, org_id=org_id, wave_id=wave_id, emails=named, fields=_FIELDS
    )
    unknown = sorted(set(named) - {inv["person_email"] for inv in found})
    if unknown:
        raise ValidationFailed(
            f"to: not invited to this wave: {', '.join(unknown[:10])}"
            + (f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else ""),
            details={"to": [f"not invited to this wave: {email}" for email in unknown]},
        )
    return found


def _why_not(invitation: Mapping[str, Any], opted_out: set[str], since: Any) -> str | None:
    if invitation.get("status") == COMPLETED:
        return "completed"
    if invitation.get("revoked"):
        return "revoked"
    if invitation.get("opted_out") or invitation["person_email"] in opted_out:
        return "opted_out"
    reminded = clock.aware(invitation.get("last_reminded_at"))
    if reminded is not None and reminded >= since:
        return "reminded_recently"
    return None


def reminder_events(
    *, wave: Mapping[str, Any], round_id: str, invitation_ids: Sequence[str]
) -> list[Event]:
    """The `invitations.created` events (kind reminder) of one round, at most 500 ids each."""
    events = []
    for start in range(0, len(invitation_ids), EVENT_BATCH):
        chunk = list(invitation_ids[start : start + EVENT_BATCH])
        payload = {
            "org_id": wave["org_id"],
            "wave_id": wave["_id"],
            "invitation_ids": chunk,
            "kind": "reminder",
            "reminder_round": round_id,
        }
        event_id = uuid.uuid5(_REMINDER_EVENTS, f"{wave['_id']}:{round_id}:{start}").hex
        events.append(Event(INVITATIONS_CREATED, payload, event_id=event_id))
    return events


def send_reminders(
    *, db: Database, bus: Bus, org_id: str, wave_id: str, to: str | Sequence[Any]
) -> ReminderReport:
    """Queue a reminder for everyone not completed (`to="not_completed"`) or for the people
    named (a list of emails; one not invited to the wave is a 400 naming it). Only an open
    wave takes reminders (409 otherwise)."""
    wave = get_wave(db=db, org_id=org_id, wave_id=wave_id)
    if wave["status"] != OPEN:
        raise Conflict(f"the wave is {wave['status']}: only an open wave sends reminders")
    candidates = _candidates(db, org_id, wave_id, to)
    now = clock.stored_now()
    since = now - QUIET_PERIOD
    opted_out = opt_outs.emails(
        db=db, org_id=org_id, among=sorted({c["person_email"] for c in candidates})
    )
    skipped: dict[str, int] = {}
    wanted = []
    for invitation in candidates:
        reason = _why_not(invitation, opted_out, since)
        if reason is None:
            wanted.append(invitation["_id"])
        else:
            skipped[reason] = skipped.get(reason, 0) + 1
    # the scheduled reminders are recorded as emails only
    recent = emails.reminded_since(db=db, wave_id=wave_id, invitation_ids=wanted, since=since)
    if recent:
        skipped["reminded_recently"] = skipped.get("reminded_recently", 0) + len(recent)
        wanted = [i for i in wanted if i not in recent]
    round_id = new_id()
    claimed = invitation_store.claim_reminders(
        db=db,
        org_id=org_id,
        wave_id=wave_id,
        invitation_ids=wanted,
        round_id=round_id,
        now=now,
        since=since,
    )
    if len(claimed) < len(wanted):  # another request reminded them in between
        skipped["reminded_recently"] = skipped.get("reminded_recently", 0) + (
            len(wanted) - len(claimed)
        )
    events = reminder_events(wave=wave, round_id=round_id, invitation_ids=claimed)
    try:
        stage_events(db=db, events=events)
    except BaseException:
        invitation_store.release_reminders(db=db, wave_id=wave_id, round_id=round_id)
        raise
    published = publish_staged(db=db, bus=bus, event_ids=[e.event_id for e in events])
    log.info(
        "reminders queued",
        extra={"wave_id": wave_id, "queued": len(claimed), "round": round_id, **skipped},
    )
    return ReminderReport(
        wave_id=wave_id, queued=len(claimed), skipped=skipped, events_published=published
    )
