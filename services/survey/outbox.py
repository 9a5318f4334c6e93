"""The `outbox` collection: events not tied to a response (invitations, wave.closed).

An event is written here as `pending` before anyone publishes it, then published with
confirms and marked `sent`. When the broker is down it stays pending and `relay_outbox`
publishes it later, with the same `event_id`, so consumers can drop a duplicate.

    stage_events(db=db, events=[...])              # record, idempotent by event_id
    publish_staged(db=db, bus=bus, event_ids=[...])  # publish what is still pending now
    relay_outbox(db=db, bus=bus, older_than_s=5)   # the periodic pass for what is left

Each survey process runs `relay_outbox` on a daemon thread (`ensure_outbox_relay`, started
by the first admin request, after gunicorn forks). Responses carry their own outbox
(`services.survey.respond.relay`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from pymongo import UpdateOne
from pymongo.database import Database

from shared.bus import Bus, BusError, Unroutable
from shared.events import Event
from shared.periodic import PeriodicPass

log = logging.getLogger(__name__)
_start_lock = threading.Lock()

PENDING, SENT = "pending", "sent"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def stage_events(*, db: Database, events: Sequence[Event]) -> int:
    """Record events as pending, one bulk write; an event_id already there is left as it is.

    Returns how many were new.
    """
    if not events:
        return 0
    ops = [
        UpdateOne(
            {"event_id": event.event_id},
            {
                "$setOnInsert": {
                    "event_id": event.event_id,
                    "org_id": event.payload.get("org_id"),
                    "type": event.type,
                    "payload": event.payload,
                    "status": PENDING,
                    "created_at": event.occurred_at,
                    "sent_at": None,
                    "attempts": 0,
                }
            },
            upsert=True,
        )
        for event in events
    ]
    return db.outbox.bulk_write(ops, ordered=False).upserted_count


def outbox_event(entry: Mapping[str, Any]) -> Event:
    """The bus event of an outbox document: the same id, type, payload and time."""
    return Event(
        type=entry["type"],
        payload=dict(entry["payload"]),
        event_id=entry["event_id"],
        occurred_at=_aware(entry.get("created_at")) or _now(),
    )


def _publish_entries(db: Database, bus: Bus, entries: Iterable[Mapping[str, Any]]) -> int:
    """Publish pending entries in order; stop at the first broker failure. Returns how many."""
    sent: list[str] = []
    try:
        for entry in entries:
            try:
                bus.publish(outbox_event(entry))
            except Unroutable as exc:
                # No queue bound yet for this type: others may still go; retried next pass.
                _note_failure(db, entry["event_id"], exc)
                continue
            except BusError as exc:
                # The broker is away: the rest would fail the same way.
                _note_failure(db, entry["event_id"], exc)
                break
            sent.append(entry["event_id"])
    finally:
        if sent:
            db.outbox.update_many(
                {"event_id": {"$in": sent}, "status": PENDING},
                {"$set": {"status": SENT, "sent_at": _now()}},
            )
    return len(sent)


def _note_failure(db: Database, event_id: str, exc: Exception) -> None:
    log.warning(
        "outbox event not published; the relay will retry",
        extra={"event_id": event_id, "error": type(exc).__name__},
    )
    db.outbox.update_one(
        {"event_id": event_id, "status": PENDING},
        {"$inc": {"attempts": 1}, "$set": {"last_error": repr(exc)[:300]}},
    )


def publish_staged(*, db: Database, bus: Bus, event_ids: Sequence[str]) -> int:
    """Publish those of these events that are still pending, in the given order; returns how many.

    A broker failure leaves the rest pending for `relay_outbox`; nothing is raised.
    """
    if not event_ids:
        return 0
    found = {
        entry["event_id"]: entry
        for entry in db.outbox.find({"event_id": {"$in": list(event_ids)}, "status": PENDING})
    }
    return _publish_entries(db, bus, (found[i] for i in event_ids if i in found))


def relay_outbox(*, db: Database, bus: Bus, older_than_s: float, limit: int = 500) -> int:
    """Publish the outbox events pending for more than `older_than_s` seconds; returns how many.

    Oldest first; the pass stops at the first broker failure. Two relays running at once may
    both publish an event: consumers deduplicate by event_id.
    """
    cutoff = _now() - timedelta(seconds=older_than_s)
    entries = (
        db.outbox.find({"status": PENDING, "created_at": {"$lte": cutoff}})
        .sort("created_at", 1)
        .limit(limit)
    )
    published = _publish_entries(db, bus, list(entries))
    if published:
        log.info("outbox relayed", extra={"published": published})
    return published


def pending_count(*, db: Database, event_ids: Sequence[str]) -> int:
    """How many of these events still wait in the outbox."""
    if not event_ids:
        return 0
    return db.outbox.count_documents({"event_id": {"$in": list(event_ids)}, "status": PENDING})


def ensure_periodic_relay(
    app: Flask,
    *,
    name: str,
    enabled: bool,
    relay_pass: Callable[[Any, float], int],
) -> PeriodicPass | None:
    """Start this process's relay `name` on first use (after gunicorn forks); idempotent.

    `relay_pass(container, older_than_s)` publishes what is still pending and returns a count.
    """
    if not enabled:
        return None
    relay: PeriodicPass | None = app.extensions.get(name)
    if relay is not None and relay.alive:
        return relay
    with _start_lock:
        relay = app.extensions.get(name)
        if relay is not None and relay.alive:
            return relay
        container = app.extensions["rapport"]
        older = float(container.settings.outbox_relay_after_s)
        relay = PeriodicPass(
            name, lambda: relay_pass(container, older), interval_s=min(max(older / 2, 0.2), 5.0)
        ).start()
        app.extensions[name] = relay
        return relay


def stop_periodic_relay(app: Flask, *, name: str, config_flag: str) -> PeriodicPass | None:
    """Stop relay `name` of this app and keep it from restarting (tests, shutdown)."""
    app.config[config_flag] = False
    relay: PeriodicPass | None = app.extensions.pop(name, None)
    if relay is not None:
        relay.stop()
    return relay


def ensure_outbox_relay(app: Flask) -> PeriodicPass | None:
    """The relay of the `outbox` collection (app.config OUTBOX_RELAY=False: never)."""
    return ensure_periodic_relay(
        app,
        name="outbox_relay",
        enabled=app.config.get("OUTBOX_RELAY", True),
        relay_pass=lambda container, older: relay_outbox(
            db=container.db, bus=container.bus, older_than_s=older
        ),
    )


def stop_outbox_relay(app: Flask) -> None:
    """Stop the relay thread of this app (tests)."""
    stop_periodic_relay(app, name="outbox_relay", config_flag="OUTBOX_RELAY")
