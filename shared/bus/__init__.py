"""The message bus: RabbitMQ through pika (`rabbitmq`), or an in-process bus with the same
interface (`in_process`); consumers skip what they processed already (`idempotency`).

    bus = make_bus(settings)       # RabbitMQ when AMQP_URL is set
    bus.publish(event)             # confirmed, persistent, mandatory
    bus.consumer(ConsumerSpec("scoring", ("response.completed",), handle)).start()
"""

from __future__ import annotations

import threading

from shared.bus.idempotency import IdempotencyLog, MemoryIdempotencyLog, MongoIdempotencyLog
from shared.bus.in_process import InProcessBus, InProcessConsumer
from shared.bus.interface import (
    CONSUMER_BINDINGS,
    ERROR_HEADER,
    RETRY_HEADER,
    Bus,
    BusError,
    BusUnavailable,
    Consumer,
    ConsumerSpec,
    DeadLetter,
    Handler,
    Unroutable,
    topic_matches,
)
from shared.bus.rabbitmq import RabbitBus, RabbitConsumer, RabbitTopology
from shared.settings import Settings

_in_process: InProcessBus | None = None
_in_process_lock = threading.Lock()


def make_bus(settings: Settings) -> Bus:
    """RabbitMQ when AMQP_URL is set, else the process's one in-process bus."""
    global _in_process
    if settings.amqp_url:
        return RabbitBus(settings, declare=CONSUMER_BINDINGS)
    with _in_process_lock:
        if _in_process is None:
            _in_process = InProcessBus(settings, declare=CONSUMER_BINDINGS)
        return _in_process


__all__ = [
    "CONSUMER_BINDINGS",
    "ERROR_HEADER",
    "RETRY_HEADER",
    "Bus",
    "BusError",
    "BusUnavailable",
    "Consumer",
    "ConsumerSpec",
    "DeadLetter",
    "Handler",
    "IdempotencyLog",
    "InProcessBus",
    "InProcessConsumer",
    "MemoryIdempotencyLog",
    "MongoIdempotencyLog",
    "RabbitBus",
    "RabbitConsumer",
    "RabbitTopology",
    "Unroutable",
    "make_bus",
    "topic_matches",
]
