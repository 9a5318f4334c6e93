"""The bus in one process, with RabbitMQ's interface: for `make dev` without AMQP_URL."""

from __future__ import annotations

import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Iterable

from shared.bus.interface import (
    ConsumerSpec,
    DeadLetter,
    ThreadedConsumer,
    Unroutable,
    topic_matches,
)
from shared.events import Event, InvalidEvent
from shared.settings import Settings

log = logging.getLogger(__name__)


class InProcessBus:
    """The same interface in one process: for `make dev` without AMQP_URL, never in production."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        declare: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self._lock = threading.Lock()
        self._queues: dict[str, queue.Queue] = {}
        self._bindings: dict[str, tuple[str, ...]] = {}
        self._dead: dict[str, list[DeadLetter]] = defaultdict(list)
        self._consumers: list[InProcessConsumer] = []
        for name, bindings in (declare or {}).items():
            self.declare(name, bindings)

    def declare(self, name: str, bindings: Iterable[str]) -> None:
        with self._lock:
            self._queues.setdefault(name, queue.Queue())
            self._bindings[name] = tuple(bindings)

    def publish(
        self, event: Event, *, routing_key: str | None = None, required: bool = True
    ) -> None:
        key = routing_key or event.type
        body = event.to_json()
        with self._lock:
            targets = [
                name
                for name, bindings in self._bindings.items()
                if any(topic_matches(b, key) for b in bindings)
            ]
            if not targets and required:
                raise Unroutable(f"no queue bound for routing key {key!r}")
            for name in targets:
                self._queues[name].put((body, 0))

    def _requeue_later(self, name: str, body: bytes, retries: int) -> None:
        delay = self.settings.bus_retry_delay_ms / 1000
        timer = threading.Timer(delay, lambda: self._queues[name].put((body, retries)))
        timer.daemon = True
        timer.start()

    def _dead_letter(self, name: str, body: bytes, error: str) -> None:
        with self._lock:
            self._dead[name].append(DeadLetter(body, error))

    def consumer(self, spec: ConsumerSpec) -> InProcessConsumer:
        consumer = InProcessConsumer(self, spec)
        self._consumers.append(consumer)
        return consumer

    def drain_dead_letters(self, name: str) -> list[DeadLetter]:
        with self._lock:
            events, self._dead[name] = self._dead[name], []
        return events

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        for consumer in self._consumers:
            consumer.stop()


class InProcessConsumer(ThreadedConsumer):
    def __init__(self, bus: InProcessBus, spec: ConsumerSpec) -> None:
        self.bus = bus
        self.spec = spec
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def declare(self) -> None:
        self.bus.declare(self.spec.name, self.spec.bindings)

    def run(self) -> None:
        self.declare()
        inbox = self.bus._queues[self.spec.name]
        while not self._stopping.is_set():
            try:
                body, retries = inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                event = Event.from_json(body)
                if not self.spec.idempotency.seen(self.spec.name, event.event_id):
                    self.spec.handler(event)
                    self.spec.idempotency.record(self.spec.name, event.event_id)
            except InvalidEvent as exc:
                self.bus._dead_letter(self.spec.name, body, repr(exc))
            except Exception as exc:
                log.warning(
                    "handler failed", extra={"consumer": self.spec.name, "error": repr(exc)}
                )
                if retries < self.bus.settings.bus_max_retries:
                    self.bus._requeue_later(self.spec.name, body, retries + 1)
                else:
                    self.bus._dead_letter(self.spec.name, body, repr(exc))
