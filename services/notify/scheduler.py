"""The notify scheduler: reminders on a wave's reminder days, closing waves at `closes_at`, and
the case reminders and overdue cases (services/notify/cases.py).

Several notify processes may run it at once. A reminder is claimed by inserting its email
under the unique key ``reminder:<invitation_id>:<day>``; a wave is closed by the one process
whose update moves it from open to closing, and its `wave.closed` event goes through the
`outbox` collection so a broker outage delays it but never loses it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.cases import send_case_reminders, send_overdue_cases
from services.notify.config import NotifyConfig
from services.notify.delivery import Delivery, Tally
from services.notify.invitations import WaveContext, as_datetime, send_invitation_emails
from services.notify.rendering import Renderer
from shared.bus import Bus
from shared.events import WAVE_CLOSED, Event
from shared.outbox import publish_staged, stage_events
from shared.settings import Settings
from shared.store import Database, emails, invitations, outbox, programs, waves
from shared.vocabulary import OPEN

log = logging.getLogger(__name__)

_CLOSING_EVENTS = uuid.UUID("0d6c1a43-52a4-4d8e-9a55-4b8f3d8b7c21")
CLOSED_BY_SCHEDULE = "schedule"
QUIET_PERIOD = timedelta(hours=24)  # nobody is reminded twice within this


def reminder_key(invitation_id: str, day: int) -> str:
    return f"reminder:{invitation_id}:{day}"


def _reminded_since(invitation: dict, since: datetime) -> bool:
    reminded = as_datetime(invitation.get("last_reminded_at"))
    return reminded is not None and since <= reminded


def due_reminder_day(wave: dict, program: dict, now: datetime) -> int | None:
    """The latest reminder day reached by `now` (launched_at + d days), if the wave is still open.

    When the scheduler was down over several reminder days only the latest is sent.
    """
    launched, closes = as_datetime(wave.get("launched_at")), as_datetime(wave.get("closes_at"))
    if wave.get("status") != OPEN or launched is None or (closes and now >= closes):
        return None
    days = wave.get("reminder_days")
    if days is None:
        days = (program.get("settings") or {}).get("reminder_days") or []
    reached = [int(d) for d in days if launched + timedelta(days=int(d)) <= now]
    return max(reached) if reached else None


def send_due_reminders(
    *,
    db: Database,
    delivery: Delivery,
    renderer: Renderer,
    settings: Settings,
    now: datetime,
) -> Tally:
    """Remind everyone who has not completed, once per reminder day, never after closing."""
    total = Tally()
    for wave in waves.in_status(db=db, statuses=(OPEN,)):
        program = programs.get(db=db, org_id=None, program_id=wave.get("program_id")) or {}
        day = due_reminder_day(wave, program, now)
        if day is None:
            continue
        if emails.reminder_round_done(db=db, wave_id=wave["_id"], day=day):
            continue  # every reminder of this day is recorded already
        candidates = invitations.awaiting_answer(db=db, wave_id=wave["_id"])
        # Who was reminded from the console in the last 24 hours waits for the next day.
        quiet_since = now - QUIET_PERIOD
        candidates = [inv for inv in candidates if not _reminded_since(inv, quiet_since)]
        # Cheap check first: keys taken by an earlier pass or another scheduler.
        keys = [reminder_key(inv["_id"], day) for inv in candidates]
        taken = emails.taken_keys(db=db, keys=keys)
        todo = [inv for inv in candidates if reminder_key(inv["_id"], day) not in taken]
        tally = send_invitation_emails(
            delivery=delivery,
            renderer=renderer,
            settings=settings,
            context=WaveContext(db=db, wave=wave),
            invitations=todo,
            key_of=lambda inv, day=day: reminder_key(inv["_id"], day),
            kind="reminder",
            reminder=True,
            meta={"reminder_day": day, "expires_at": as_datetime(wave.get("closes_at"))},
        )
        tally.duplicate += len(candidates) - len(todo)
        invitations.mark_reminded(db=db, invitation_ids=[inv["_id"] for inv in todo], now=now)
        emails.record_reminder_round(db=db, wave_id=wave["_id"], day=day, now=now)
        log.info(
            "reminders handled",
            extra={"wave_id": wave["_id"], "day": day, **tally.__dict__},
        )
        total.merge(tally)
    return total


def closing_event_id(wave_id: str) -> str:
    """The scheduler's `wave.closed` event id for a wave: the same in every process and retry."""
    return uuid.uuid5(_CLOSING_EVENTS, wave_id).hex


def close_due_waves(*, db: Database, bus: Bus, now: datetime) -> list[str]:
    """Move every open wave past `closes_at` to closing and publish `wave.closed` once."""
    closed = []
    for wave_id in waves.due_to_close(db=db, now=now):
        claimed = waves.claim_closing(
            db=db, org_id=None, wave_id=wave_id, closed_by=CLOSED_BY_SCHEDULE, now=now
        )
        if claimed is None:
            continue  # another scheduler, or the admin API, got there first
        _record_closing_event(db, claimed, now)
        closed.append(claimed["_id"])
        log.info("wave closing at its closing date", extra={"wave_id": claimed["_id"]})
    _recover_closing_events(db, now)
    publish_pending_closing_events(db=db, bus=bus, now=now)
    return closed


def closing_event(wave: dict, now: datetime) -> Event:
    """The scheduler's `wave.closed` event of a wave (payload per docs/data-model.md)."""
    return Event(
        WAVE_CLOSED,
        {"org_id": wave["org_id"], "wave_id": wave["_id"], "program_id": wave.get("program_id")},
        event_id=closing_event_id(wave["_id"]),
        occurred_at=as_datetime(wave.get("closing_at")) or now,
    )


def _record_closing_event(db: Database, wave: dict, now: datetime) -> None:
    # The survey service's outbox: pending until published, relayed if the broker is away.
    stage_events(db=db, events=[closing_event(wave, now)])


def _recover_closing_events(db: Database, now: datetime) -> None:
    # A process that died between closing a wave and recording its event: record it now.
    for wave in waves.closing_by(db=db, closed_by=CLOSED_BY_SCHEDULE):
        if not outbox.is_staged(db=db, event_id=closing_event_id(wave["_id"])):
            _record_closing_event(db, wave, now)


def publish_pending_closing_events(*, db: Database, bus: Bus, now: datetime) -> int:
    """Publish the scheduler's pending `wave.closed` events; a failure leaves them for next time."""
    pending = outbox.pending_of_type(db=db, event_type=WAVE_CLOSED, fields=("event_id", "payload"))
    ours = [
        entry["event_id"]
        for entry in pending
        # the admin API's own close events are its relay's business
        if entry["event_id"] == closing_event_id(entry["payload"]["wave_id"])
    ]
    return publish_staged(db=db, bus=bus, event_ids=ours)


class Scheduler:
    """Runs the reminder and closing passes every few seconds until stopped."""

    def __init__(
        self,
        *,
        db: Database,
        bus: Bus,
        delivery: Delivery,
        renderer: Renderer,
        settings: Settings,
        config: NotifyConfig | None = None,
        clock=lambda: datetime.now(UTC),
    ) -> None:
        self.db, self.bus, self.delivery, self.renderer = db, bus, delivery, renderer
        self.settings = settings
        self.config = config or NotifyConfig()
        self.clock = clock

    def run_once(self, now: datetime | None = None) -> dict[str, Any]:
        """One pass: close what is due first (no reminder after closing), then remind; then
        the cases due within a day (their owners) and overdue (the program managers, daily)."""
        now = now or self.clock()
        closed = close_due_waves(db=self.db, bus=self.bus, now=now)
        reminders = send_due_reminders(
            db=self.db,
            delivery=self.delivery,
            renderer=self.renderer,
            settings=self.settings,
            now=now,
        )
        mail = {
            "db": self.db,
            "delivery": self.delivery,
            "renderer": self.renderer,
            "settings": self.settings,
            "now": now,
        }
        return {
            "closed": closed,
            "reminders": reminders,
            "case_reminders": send_case_reminders(**mail),
            "overdue_cases": send_overdue_cases(**mail),
        }

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("scheduler pass failed")
            stop.wait(self.config.scheduler_poll_s)
