"""What every bus offers: the Bus and Consumer interfaces, the errors, the product's bindings."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from shared.bus.idempotency import IdempotencyLog, MemoryIdempotencyLog
from shared.events import Event, InvalidEvent

Handler = Callable[[Event], None]

# The consumers of the product and what they bind. Publishers declare these queues too,
# so an event published before its consumer first starts waits in the queue.
CONSUMER_BINDINGS: dict[str, tuple[str, ...]] = {
    "scoring": ("response.completed", "wave.closed"),
    "notify": ("invitations.created", "wave.scored", "relationship.alert"),
}
RETRY_HEADER = "x-rapport-retries"
ERROR_HEADER = "x-rapport-error"


class BusError(RuntimeError):
    """The broker could not take the message."""


class Unroutable(BusError):
    """No queue is bound for this routing key: the message would vanish."""


class BusUnavailable(BusError):
    """The broker cannot be reached (after retries)."""


@dataclass(frozen=True)
class DeadLetter:
    """A message that ended in a dead-letter queue, with why."""

    body: bytes
    error: str = ""

    @property
    def event(self) -> Event | None:
        try:
            return Event.from_json(self.body)
        except InvalidEvent:
            return None


@dataclass
class ConsumerSpec:
    name: str
    bindings: tuple[str, ...]
    handler: Handler
    idempotency: IdempotencyLog = field(default_factory=MemoryIdempotencyLog)


class Consumer(Protocol):
    def declare(self) -> None: ...
    def run(self) -> None: ...
    def start(self) -> threading.Thread: ...
    def stop(self, timeout: float = 10.0) -> None: ...


class Bus(Protocol):
    def publish(
        self, event: Event, *, routing_key: str | None = None, required: bool = True
    ) -> None: ...
    def consumer(self, spec: ConsumerSpec) -> Consumer: ...
    def drain_dead_letters(self, name: str) -> list[DeadLetter]: ...
    def ping(self) -> bool: ...
    def close(self) -> None: ...


def _topic_regex(binding: str) -> re.Pattern[str]:
    parts = []
    for word in binding.split("."):
        if word == "#":
            parts.append(r"[^.]*(?:\.[^.]*)*")
        elif word == "*":
            parts.append(r"[^.]+")
        else:
            parts.append(re.escape(word))
    return re.compile(r"\.".join(parts) + r"$")


def topic_matches(binding: str, routing_key: str) -> bool:
    """AMQP topic matching: ``*`` one word, ``#`` zero or more words."""
    if binding == "#":
        return True
    return _topic_regex(binding).match(routing_key) is not None


class ThreadedConsumer:
    """Runs `run()` on a daemon thread; `stop()` asks it to finish and waits."""

    spec: ConsumerSpec
    _stopping: threading.Event
    _thread: threading.Thread | None

    def declare(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        raise NotImplementedError

    def start(self) -> threading.Thread:
        self.declare()
        self._thread = threading.Thread(
            target=self.run, name=f"consumer-{self.spec.name}", daemon=True
        )
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
