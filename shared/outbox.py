"""The outbox: an event is recorded as pending in MongoDB before anyone publishes it.

Entries live in two places, with one shape and one code path:

- the `outbox` collection, one document per event not tied to a response (invitations,
  `wave.closed`), recorded by `stage_events`;
- the `outbox` array of a response document, written by the same atomic update that
  completes the response (`response.completed`; the entry comes from `outbox_entry`).

Whoever records an event publishes it at once, with confirms (`publish_staged`,
`publish_response_event`), and marks it sent. What is still pending after a delay is taken by
a relay pass (`relay_outbox`, `relay_response_outbox`): it claims each entry by a
compare-and-set on its lease (`claimed_until`, `claimed_by`), so two relays never publish
the same event at the same instant. The event keeps its `event_id`, so consumers drop a
duplicate. A failed publish leaves the entry pending, with `attempts`, `last_error` and a
lease that says when to try again. Each process starts its relays once (services.bootstrap).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from shared import clock
from shared.bus import Bus, Unroutable
from shared.events import Event
from shared.store import Database
from shared.store import outbox as outbox_store
from shared.store.outbox import OUTBOX, PENDING, RESPONSES, SENT, OutboxPlace

log = logging.getLogger(__name__)

PUBLISH_LEASE = timedelta(seconds=30)  # longest a publish may take before another may retry


def outbox_entry(event: Event, *, lease_until: datetime | None = None) -> dict[str, Any]:
    """The pending entry of an event; `lease_until` keeps relays off it while its writer
    publishes."""
    entry: dict[str, Any] = {
        "event_id": event.event_id,
        "type": event.type,
        "payload": event.payload,
        "status": PENDING,
        "created_at": event.occurred_at,
        "sent_at": None,
    }
    if lease_until is not None:
        entry["claimed_until"] = lease_until
    return entry


def outbox_event(entry: Mapping[str, Any]) -> Event:
    """The bus event of an entry: the same id, type, payload and time."""
    return Event(
        type=entry["type"],
        payload=dict(entry["payload"]),
        event_id=entry["event_id"],
        occurred_at=clock.aware(entry.get("created_at")) or clock.now(),
    )


class Outcome(Enum):
    """What became of one publish."""

    SENT = "sent"
    UNROUTABLE = "unroutable"  # no queue bound for this type yet: other types may still go
    BROKER_AWAY = "broker_away"  # the rest would fail the same way


def publish_entry(
    *,
    db: Database,
    bus: Bus,
    place: OutboxPlace,
    doc_id: Any,
    entry: Mapping[str, Any],
    retry_after: timedelta = timedelta(0),
) -> Outcome:
    """Publish one entry (confirmed), then mark it sent; on failure it stays pending.

    A failure is noted on the entry and its lease set to `retry_after` from now, when a
    relay may try again. Nothing is raised: the event is never lost.
    """
    event_id = entry["event_id"]
    where = {"event_id": event_id, "outbox": place.name}
    if place.array is not None:
        where["response_id"] = str(doc_id)
    try:
        bus.publish(outbox_event(entry))
    except Exception as exc:  # BusError or a pika error: the entry stays pending
        log.warning(
            "outbox event not published; the relay will retry",
            extra={**where, "error": type(exc).__name__},
        )
        place.update(
            db,
            doc_id,
            event_id,
            {
                "$inc": {"attempts": 1},
                "$set": {
                    "last_error": repr(exc)[:300],
                    "claimed_until": clock.now() + retry_after,
                },
            },
        )
        return Outcome.UNROUTABLE if isinstance(exc, Unroutable) else Outcome.BROKER_AWAY
    place.update(db, doc_id, event_id, {"$set": {"status": SENT, "sent_at": clock.now()}})
    log.info("outbox event published", extra=where)
    return Outcome.SENT


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def relay_pass(
    *, db: Database, bus: Bus, place: OutboxPlace, older_than_s: float, limit: int
) -> int:
    """Publish the entries pending for more than `older_than_s` whose lease has expired.

    Each is claimed by a compare-and-set on the lease it was read with; the pass stops at
    the first publish that finds the broker away. Returns how many were published.
    """
    now = clock.now()
    cutoff = now - timedelta(seconds=older_than_s)
    retry = timedelta(seconds=max(older_than_s, 1.0))
    me, published = _worker(), 0
    for doc_id, entry in place.due(db, cutoff=cutoff, limit=limit):
        created_at = clock.aware(entry.get("created_at"))
        if entry.get("status") != PENDING or created_at is None or created_at > cutoff:
            continue  # another entry of a document that has one due
        lease = clock.aware(entry.get("claimed_until"))
        if lease is not None and lease > now:
            continue
        claim = {"$set": {"claimed_until": now + PUBLISH_LEASE, "claimed_by": me}}
        if not place.update(db, doc_id, entry["event_id"], claim, claimed_until=lease):
            continue  # another relay took it
        outcome = publish_entry(
            db=db, bus=bus, place=place, doc_id=doc_id, entry=entry, retry_after=retry
        )
        if outcome is Outcome.BROKER_AWAY:
            break
        if outcome is Outcome.SENT:
            published += 1
    if published:
        log.info("outbox relayed", extra={"outbox": place.name, "published": published})
    return published


# --- the `outbox` collection --------------------------------------------------------------


def stage_events(*, db: Database, events: Sequence[Event]) -> int:
    """Record events as pending, one bulk write; an event_id already there is left as it is.

    Returns how many were new.
    """
    entries = [
        {**outbox_entry(event), "org_id": event.payload.get("org_id"), "attempts": 0}
        for event in events
    ]
    return outbox_store.stage(db=db, entries=entries)


def publish_staged(*, db: Database, bus: Bus, event_ids: Sequence[str]) -> int:
    """Publish those of these events that are still pending, in the given order; returns how many.

    A broker failure leaves the rest pending for `relay_outbox`; nothing is raised.
    """
    if not event_ids:
        return 0
    found = outbox_store.pending(db=db, event_ids=event_ids)
    published = 0
    for entry in (found[i] for i in event_ids if i in found):
        outcome = publish_entry(db=db, bus=bus, place=OUTBOX, doc_id=entry["_id"], entry=entry)
        if outcome is Outcome.BROKER_AWAY:
            break
        if outcome is Outcome.SENT:
            published += 1
    return published


def pending_count(*, db: Database, event_ids: Sequence[str]) -> int:
    """How many of these events still wait in the outbox."""
    if not event_ids:
        return 0
    return outbox_store.count_pending(db=db, event_ids=event_ids)


def relay_outbox(*, db: Database, bus: Bus, older_than_s: float, limit: int = 500) -> int:
    """One relay pass over the `outbox` collection, oldest first; returns how many."""
    return relay_pass(db=db, bus=bus, place=OUTBOX, older_than_s=older_than_s, limit=limit)


# --- the outbox of response documents -----------------------------------------------------


def publish_response_event(
    *, db: Database, bus: Bus, response_id: str, entry: Mapping[str, Any]
) -> bool:
    """Publish the event a completion recorded in its response; False leaves it pending."""
    outcome = publish_entry(db=db, bus=bus, place=RESPONSES, doc_id=response_id, entry=entry)
    return outcome is Outcome.SENT


def relay_response_outbox(*, db: Database, bus: Bus, older_than_s: float, limit: int = 200) -> int:
    """One relay pass over the response documents' outboxes; returns how many."""
    return relay_pass(db=db, bus=bus, place=RESPONSES, older_than_s=older_than_s, limit=limit)


RELAYS = {"outbox_relay": relay_outbox, "response_relay": relay_response_outbox}
