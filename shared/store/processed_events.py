"""The `processed_events` collection: the event ids each consumer has handled, `_id`
"<consumer>:<event_id>", so that a redelivered event is skipped."""

from __future__ import annotations

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.store.database import composite_id


def seen(*, db: Database, consumer: str, event_id: str) -> bool:
    """Whether the consumer has recorded this event."""
    found = db.processed_events.find_one({"_id": composite_id(consumer, event_id)}, {"_id": 1})
    return found is not None


def record(*, db: Database, consumer: str, event_id: str, at: float) -> None:
    """Record that the consumer handled this event (at `at`, epoch seconds); once."""
    key = composite_id(consumer, event_id)
    document = {"_id": key, "event_key": key, "consumer": consumer, "event_id": event_id, "at": at}
    try:  # keyed by `event_key`: a lookup on the local stand-in (database.ID_KEYS)
        db.processed_events.update_one({"event_key": key}, {"$setOnInsert": document}, upsert=True)
    except DuplicateKeyError:
        pass
