"""Periodic passes on daemon threads: the outbox relays and the scoring refresher.

    task = PeriodicPass("outbox_relay", lambda: relay_outbox(...), interval_s=1.0).start()
    ...
    task.stop()

A pass returns how much it did (logged when non-zero). While MongoDB or the broker is
unreachable the thread backs off, up to a minute, with one log line per failed pass. A
task belongs to the process that started it (`alive` is False in a forked child).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable

from shared.store import InvalidOperation

log = logging.getLogger(__name__)
_MAX_BACKOFF_S = 60.0


class PeriodicPass:
    """A daemon thread that runs `run_pass` every `interval_s` in this process.

    With `busy_share` (0-1) a slow pass spaces the next one out so that passes take at most
    that share of the time: after a pass of d seconds the thread waits at least
    d * (1 / busy_share - 1), so a costly recompute cannot run back to back.
    """

    def __init__(
        self,
        name: str,
        run_pass: Callable[[], int],
        *,
        interval_s: float,
        busy_share: float | None = None,
    ) -> None:
        if busy_share is not None and not 0 < busy_share <= 1:
            raise ValueError("busy_share must be in (0, 1]")
        self.name = name
        self.run_pass = run_pass
        self.interval_s = interval_s
        self.busy_share = busy_share
        self.pid = os.getpid()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> PeriodicPass:
        self._thread.start()
        _running.add(self)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self.pid == os.getpid() and self._thread.is_alive()

    def _run(self) -> None:
        wait = self.interval_s
        while not self._stop.wait(wait):
            started = time.monotonic()
            try:
                count = self.run_pass()
            except InvalidOperation:
                return  # the database client was closed: this process is shutting down
            except Exception as exc:
                wait = min(max(wait * 2, self.interval_s), _MAX_BACKOFF_S)
                log.warning(
                    "periodic pass failed",
                    extra={"task": self.name, "error": type(exc).__name__, "retry_in_s": wait},
                )
                continue
            wait = self.interval_s
            if self.busy_share is not None:
                took = time.monotonic() - started
                wait = max(wait, took * (1 / self.busy_share - 1))
            if count:
                log.info("periodic pass", extra={"task": self.name, "count": count})


_running: weakref.WeakSet[PeriodicPass] = weakref.WeakSet()


def stop_all_periodic() -> None:
    """Stop every periodic thread of this process (shutdown, and the end of a test session)."""
    for task in list(_running):
        task.stop()
