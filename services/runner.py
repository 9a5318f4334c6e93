"""Run a service's consumers until SIGTERM or Ctrl-C, then stop them cleanly."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterable

from shared.bus import Bus, Consumer, ConsumerSpec

log = logging.getLogger(__name__)


def start_consumers(bus: Bus, specs: Iterable[ConsumerSpec]) -> list[Consumer]:
    """Declare and start each consumer on its own thread."""
    consumers = [bus.consumer(spec) for spec in specs]
    for consumer in consumers:
        consumer.start()
    return consumers


def run_until_signalled(consumers: list[Consumer], stop: threading.Event | None = None) -> None:
    """Block until SIGTERM/SIGINT; in-flight messages finish and are acked before exit."""
    stop = stop or threading.Event()

    def _on_signal(signum, _frame):
        log.info("stopping", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    while not stop.is_set():
        stop.wait(0.5)
    for consumer in consumers:
        consumer.stop()
