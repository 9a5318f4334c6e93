"""Consumer idempotency: the event ids a consumer has processed, so a redelivery is skipped."""

from __future__ import annotations

import threading
import time
from typing import Protocol

from shared.store import Database, processed_events


class IdempotencyLog(Protocol):
    def seen(self, consumer: str, event_id: str) -> bool: ...
    def record(self, consumer: str, event_id: str) -> None: ...


class MongoIdempotencyLog:
    """Processed event ids in MongoDB, one document per (consumer, event_id), keyed by `_id`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def seen(self, consumer: str, event_id: str) -> bool:
        return processed_events.seen(db=self._db, consumer=consumer, event_id=event_id)

    def record(self, consumer: str, event_id: str) -> None:
        processed_events.record(db=self._db, consumer=consumer, event_id=event_id, at=time.time())


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
