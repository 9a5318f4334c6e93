"""Publishing the response outbox: at once after completion, and a relay for what is left.

Each pending event in a response's `outbox` carries a lease (`claimed_until`,
`claimed_by`). The completing request holds it first; the relay takes an expired lease
with a compare-and-set on the lease it saw, so two workers never publish the same event
at the same instant. Consumers dedupe by `event_id` anyway.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from pymongo.database import Database

from services.survey.outbox import ensure_periodic_relay, stop_periodic_relay
from shared.bus import Bus
from shared.events import Event
from shared.periodic import PeriodicPass

log = logging.getLogger(__name__)

PUBLISH_LEASE = timedelta(seconds=30)  # longest a publish may take before another may retry


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _pending(event_id: str, **more: Any) -> dict[str, Any]:
    return {"$elemMatch": {"event_id": event_id, "status": "pending", **more}}


def outbox_event(entry: Mapping[str, Any]) -> Event:
    """The bus event of an outbox entry: same id, type, payload and time."""
    return Event(
        type=entry["type"],
        payload=dict(entry["payload"]),
        event_id=entry["event_id"],
        occurred_at=_aware(entry["created_at"]) or _now(),
    )


def publish_pending(
    *,
    db: Database,
    bus: Bus,
    response_id: str,
    entry: Mapping[str, Any],
    retry_after: timedelta = timedelta(0),
) -> bool:
    """Publish one outbox event (confirmed), then mark it sent; False leaves it pending.

    On failure the lease is shortened to `retry_after` from now, so the relay retries.
    """
    event_id = entry["event_id"]
    try:
        bus.publish(outbox_event(entry))
    except Exception as exc:  # BusError or a pika error: the event stays pending, nothing lost
        log.warning(
            "response event not published; the relay will retry",
            extra={"event_id": event_id, "response_id": response_id, "error": type(exc).__name__},
        )
        db.responses.update_one(
            {"_id": response_id, "outbox": _pending(event_id)},
            {"$set": {"outbox.$.claimed_until": _now() + retry_after}},
        )
        return False
    db.responses.update_one(
        {"_id": response_id, "outbox": _pending(event_id)},
        {"$set": {"outbox.$.status": "sent", "outbox.$.sent_at": _now()}},
    )
    log.info("response event published", extra={"event_id": event_id, "response_id": response_id})
    return True


def relay_response_outbox(*, db: Database, bus: Bus, older_than_s: float, limit: int = 200) -> int:
    """Publish the response events pending for more than `older_than_s`; returns how many.

    An event is taken only when its lease has expired, by a compare-and-set on that lease.
    The pass stops at the first failed publish: the broker is down, the next pass retries.
    """
    now = _now()
    cutoff = now - timedelta(seconds=older_than_s)
    candidates = db.responses.find(
        {"outbox": {"$elemMatch": {"status": "pending", "created_at": {"$lte": cutoff}}}},
        {"outbox": 1},
    ).limit(limit)
    published = 0
    me = _worker()
    for doc in candidates:
        for entry in doc.get("outbox", []):
            created_at = _aware(entry.get("created_at"))
            if entry.get("status") != "pending" or created_at is None or created_at > cutoff:
                continue
            lease = _aware(entry.get("claimed_until"))
            if lease is not None and lease > now:
                continue
            claimed = db.responses.update_one(
                {"_id": doc["_id"], "outbox": _pending(entry["event_id"], claimed_until=lease)},
                {
                    "$set": {
                        "outbox.$.claimed_until": now + PUBLISH_LEASE,
                        "outbox.$.claimed_by": me,
                    }
                },
            )
            if not claimed.modified_count:
                continue  # another worker took it
            retry = timedelta(seconds=max(older_than_s, 1.0))
            if not publish_pending(
                db=db, bus=bus, response_id=doc["_id"], entry=entry, retry_after=retry
            ):
                return published
            published += 1
    return published


def ensure_relay(app: Flask) -> PeriodicPass | None:
    """Start this process's response relay on first use (after gunicorn forks); idempotent."""
    # On by default; an app in TESTING mode runs it only when a test asks for it.
    return ensure_periodic_relay(
        app,
        name="response_relay",
        enabled=app.config.get("RESPONSE_RELAY", not app.testing),
        relay_pass=lambda container, older: relay_response_outbox(
            db=container.db, bus=container.bus, older_than_s=older
        ),
    )


def stop_relay(app: Flask) -> None:
    """Stop the relay thread of this app (tests)."""
    stop_periodic_relay(app, name="response_relay", config_flag="RESPONSE_RELAY")
