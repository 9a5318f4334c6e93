"""Where outbox entries are stored: the `outbox` collection, and the `outbox` array of each
response document (shared/outbox.py stages, publishes and relays them).

An entry is pending until published, then sent; a relay claims one by a compare-and-set
on its lease (`claimed_until`), through `OutboxPlace.update`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.database import Database

from shared.store.database import find_in, in_chunks, projection

PENDING, SENT = "pending", "sent"


@dataclass(frozen=True)
class OutboxPlace:
    """Where entries are stored: a collection of their own, or an array in each document."""

    name: str
    collection: str
    array: str | None = None  # None: one document per entry

    def match(self, doc_id: Any, event_id: str, **more: Any) -> dict[str, Any]:
        """The filter of one pending entry (with `more` conditions on it)."""
        entry = {"event_id": event_id, "status": PENDING, **more}
        if self.array is None:
            return entry
        return {"_id": doc_id, self.array: {"$elemMatch": entry}}

    def field(self, name: str) -> str:
        """The update path of an entry's field, for an update filtered by `match`."""
        return name if self.array is None else f"{self.array}.$.{name}"

    def update(
        self, db: Database, doc_id: Any, event_id: str, update: Mapping[str, Any], **match: Any
    ) -> bool:
        """Change one pending entry (`update` maps operators to entry fields); True if it did."""
        paths = {op: {self.field(k): v for k, v in fields.items()} for op, fields in update.items()}
        done = db[self.collection].update_one(self.match(doc_id, event_id, **match), paths)
        return bool(done.modified_count)

    def due(
        self, db: Database, *, cutoff: datetime, limit: int
    ) -> Iterator[tuple[Any, Mapping[str, Any]]]:
        """Pending entries created at or before `cutoff`, with their document's id."""
        due = {"status": PENDING, "created_at": {"$lte": cutoff}}
        if self.array is None:
            found = db[self.collection].find(due).sort("created_at", ASCENDING).limit(limit)
            for doc in found:
                yield doc["_id"], doc
            return
        found = db[self.collection].find({self.array: {"$elemMatch": due}}, {self.array: 1})
        for doc in found.limit(limit):
            for entry in doc.get(self.array, []):
                yield doc["_id"], entry


OUTBOX = OutboxPlace("outbox", "outbox")
RESPONSES = OutboxPlace("responses", "responses", array="outbox")


# --- the `outbox` collection --------------------------------------------------------------


def stage(*, db: Database, entries: Sequence[Mapping[str, Any]]) -> int:
    """Record entries as pending, one bulk write; an event_id already there is left as it is.

    Returns how many were new.
    """
    if not entries:
        return 0
    ops = [
        UpdateOne({"event_id": entry["event_id"]}, {"$setOnInsert": dict(entry)}, upsert=True)
        for entry in entries
    ]
    return db.outbox.bulk_write(ops, ordered=False).upserted_count


def pending(*, db: Database, event_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Those of these events still pending, by event id."""
    found = find_in(db.outbox, {"status": PENDING}, "event_id", event_ids)
    return {entry["event_id"]: entry for entry in found}


def count_pending(*, db: Database, event_ids: Iterable[str]) -> int:
    """How many of these events are still pending."""
    return sum(
        db.outbox.count_documents({"event_id": {"$in": chunk}, "status": PENDING})
        for chunk in in_chunks(event_ids)
    )


def pending_of_type(
    *, db: Database, event_type: str, fields: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The pending entries of one event type."""
    return list(db.outbox.find({"type": event_type, "status": PENDING}, projection(fields)))


def is_staged(*, db: Database, event_id: str) -> bool:
    """Whether the event was recorded (pending or sent)."""
    return db.outbox.find_one({"event_id": event_id}, {"_id": 1}) is not None
