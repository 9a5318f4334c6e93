"""The composition root: settings, database, bus, mailer and the outbox relays, once per process.

container = build()            # nothing connects yet (safe before gunicorn forks)
start_relays(container)        # at process start: gunicorn's post_worker_init, `make dev`
...
stop_relays(container)         # shutdown (and the end of a test)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from shared.bus import Bus, MongoIdempotencyLog, make_bus
from shared.outbox import RELAYS
from shared.periodic import PeriodicPass
from shared.settings import Settings
from shared.store import Database, ensure_indexes, get_database

_relays_lock = threading.Lock()


@dataclass
class Container:
    """What the services need from the outside world, created lazily (after fork)."""

    settings: Settings
    _db: Database | None = None
    _bus: Bus | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _indexed: bool = False
    relays: dict[str, PeriodicPass] = field(default_factory=dict)

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


def start_relays(
    container: Container, names: Iterable[str] = tuple(RELAYS)
) -> dict[str, PeriodicPass]:
    """Start this process's outbox relays on daemon threads; one already running here is kept.

    `names` picks among "outbox_relay" (the `outbox` collection) and "response_relay" (the
    response documents). Each pass publishes what has been pending for
    `outbox_relay_after_s`. Call it after gunicorn forks: a relay never crosses a fork.
    """
    older = float(container.settings.outbox_relay_after_s)
    interval = min(max(older / 2, 0.2), 5.0)
    with _relays_lock:
        for name in names:
            running = container.relays.get(name)
            if running is not None and running.alive:
                continue
            relay = RELAYS[name]
            # container.db and .bus are read at each pass: they connect on first use
            container.relays[name] = PeriodicPass(
                name,
                lambda relay=relay: relay(db=container.db, bus=container.bus, older_than_s=older),
                interval_s=interval,
            ).start()
        return dict(container.relays)


def stop_relays(container: Container) -> None:
    """Stop this container's relays, each between two passes (shutdown, tests)."""
    with _relays_lock:
        relays, container.relays = list(container.relays.values()), {}
    for relay in relays:
        relay.stop()
