"""The composition root: settings, database, bus and mailer, built once per process."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from pymongo.database import Database

from shared.bus import Bus, MongoIdempotencyLog, make_bus
from shared.settings import Settings
from shared.store import ensure_indexes, get_database


@dataclass
class Container:
    """What the services need from the outside world, created lazily (after fork)."""

    settings: Settings
    _db: Database | None = None
    _bus: Bus | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _indexed: bool = False

    @property
    def db(self) -> Database:
        with self._lock:
            if self._db is None:
                self._db = get_database(self.settings)
            if not self._indexed:
                ensure_indexes(self._db)
                self._indexed = True
            return self._db

    @property
    def bus(self) -> Bus:
        with self._lock:
            if self._bus is None:
                self._bus = make_bus(self.settings)
            return self._bus

    def idempotency(self) -> MongoIdempotencyLog:
        return MongoIdempotencyLog(self.db)


def build(
    settings: Settings | None = None, *, db: Database | None = None, bus: Bus | None = None
) -> Container:
    """Wire a container from settings (the environment when none are given)."""
    return Container(settings=settings or Settings.from_env(), _db=db, _bus=bus)
