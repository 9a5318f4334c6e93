"""Consumer idempotency: the event ids a consumer has processed, so a redelivery is skipped."""

from __future__ import annotations

import threading
import time
from typing import Protocol

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.store import composite_id


class IdempotencyLog(Protocol):
    def seen(self, consumer: str, event_id: str) -> bool: ...
    def record(self, consumer: str, event_id: str) -> None: ...


class MongoIdempotencyLog:
    """Processed event ids in MongoDB, one document per (consumer, event_id), keyed by `_id`."""

    def __init__(self, db: Database) -> None:
        self._events = db["processed_events"]

    def seen(self, consumer: str, event_id: str) -> bool:
        return (
            self._events.find_one({"_id": composite_id(consumer, event_id)}, {"_id": 1}) is not None
        )

    def record(self, consumer: str, event_id: str) -> None:
        document = {"consumer": consumer, "event_id": event_id, "at": time.time()}
        try:
            self._events.insert_one({"_id": composite_id(consumer, event_id), **document})
        except DuplicateKeyError:
            pass


class MemoryIdempotencyLog:
    """Processed event ids in memory: for the in-process bus without a database."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def seen(self, consumer: str, event_id: str) -> bool:
        with self._lock:
            return (consumer, event_id) in self._seen

    def record(self, consumer: str, event_id: str) -> None:
        with self._lock:
            self._seen.add((consumer, event_id))
