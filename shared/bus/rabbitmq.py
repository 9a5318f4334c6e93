"""The bus on RabbitMQ through pika.

Topology for namespace ``ns`` (default ``rapport``):

- topic exchange ``ns.events``; every event is published with its type as routing key;
- one durable quorum queue ``ns.<consumer>`` per consumer, with a delivery limit and
  dead-lettering to the direct exchange ``ns.dlx``;
- ``ns.<consumer>.retry``: a holding queue whose TTL sends a failed message back to
  its consumer queue after a delay;
- ``ns.<consumer>.dead``: the dead-letter queue, where a message that keeps failing ends.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import pika
import pika.exceptions as pe

from shared.bus.interface import (
    ERROR_HEADER,
    RETRY_HEADER,
    BusUnavailable,
    ConsumerSpec,
    DeadLetter,
    ThreadedConsumer,
    Unroutable,
)
from shared.events import Event, InvalidEvent
from shared.settings import Settings

log = logging.getLogger(__name__)


class RabbitTopology:
    """Names and declarations of the exchanges and queues of one namespace."""

    def __init__(self, namespace: str, *, delivery_limit: int, retry_delay_ms: int) -> None:
        self.namespace = namespace
        self.exchange = f"{namespace}.events"
        self.dlx = f"{namespace}.dlx"
        self.delivery_limit = delivery_limit
        self.retry_delay_ms = retry_delay_ms

    def queue(self, name: str) -> str:
        return f"{self.namespace}.{name}"

    def retry_queue(self, name: str) -> str:
        return f"{self.namespace}.{name}.retry"

    def dead_queue(self, name: str) -> str:
        return f"{self.namespace}.{name}.dead"

    def declare_exchanges(self, channel: pika.adapters.blocking_connection.BlockingChannel) -> None:
        channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
        channel.exchange_declare(self.dlx, exchange_type="direct", durable=True)

    def declare_consumer(self, channel, name: str, bindings: Iterable[str]) -> None:
        self.declare_exchanges(channel)
        main = self.queue(name)
        channel.queue_declare(
            main,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": self.delivery_limit,
                "x-dead-letter-exchange": self.dlx,
                "x-dead-letter-routing-key": name,
            },
        )
        for binding in bindings:
            channel.queue_bind(main, self.exchange, routing_key=binding)
        channel.queue_declare(
            self.dead_queue(name), durable=True, arguments={"x-queue-type": "quorum"}
        )
        channel.queue_bind(self.dead_queue(name), self.dlx, routing_key=name)
        channel.queue_declare(
            self.retry_queue(name),
            durable=True,
            arguments={
                "x-message-ttl": self.retry_delay_ms,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": main,
            },
        )


def _properties(event: Event, headers: dict | None = None) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type="application/json",
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=event.event_id,
        type=event.type,
        timestamp=int(event.occurred_at.timestamp()),
        headers=headers or {},
    )


class RabbitBus:
    """Publishes with confirms and ``mandatory``; one connection per thread, rebuilt after fork."""

    def __init__(
        self,
        settings: Settings,
        *,
        url: str | None = None,
        declare: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.settings = settings
        self.url = url or settings.amqp_url
        self.declared_consumers = dict(declare or {})
        if not self.url:
            raise ValueError("RabbitBus needs AMQP_URL")
        self.topology = RabbitTopology(
            settings.bus_namespace,
            delivery_limit=settings.bus_delivery_limit,
            retry_delay_ms=settings.bus_retry_delay_ms,
        )
        self._local = threading.local()
        self._pid = os.getpid()
        self._consumers: list[RabbitConsumer] = []

    def parameters(self) -> pika.URLParameters:
        params = pika.URLParameters(self.url)
        params.heartbeat = 30
        params.blocked_connection_timeout = 30
        params.connection_attempts = 1
        params.socket_timeout = 5
        return params

    def _channel(self):
        if self._pid != os.getpid():
            # Connections never cross a fork.
            self._local = threading.local()
            self._pid = os.getpid()
        channel = getattr(self._local, "channel", None)
        if channel is not None and channel.is_open:
            return channel
        self._drop_connection()
        connection = pika.BlockingConnection(self.parameters())
        channel = connection.channel()
        channel.confirm_delivery()
        self.topology.declare_exchanges(channel)
        for name, bindings in self.declared_consumers.items():
            self.topology.declare_consumer(channel, name, bindings)
        self._local.connection = connection
        self._local.channel = channel
        return channel

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        self._local.channel = None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:
                pass

    def publish(
        self,
        event: Event,
        *,
        routing_key: str | None = None,
        required: bool = True,
        attempts: int = 3,
    ) -> None:
        """Publish one persistent event and wait for the broker's confirm.

        A `required` event (the default) raises Unroutable when no queue is bound for it; a
        notification for whoever listens (`required=False`) is then dropped by the broker.
        """
        body = event.to_json()
        key = routing_key or event.type
        delay = 0.2
        for attempt in range(1, attempts + 1):
            try:
                self._channel().basic_publish(
                    self.topology.exchange,
                    key,
                    body,
                    properties=_properties(event),
                    mandatory=required,
                )
                return
            except pe.UnroutableError as exc:
                raise Unroutable(f"no queue bound for routing key {key!r}") from exc
            except pe.NackError:
                log.warning(
                    "publish nacked", extra={"event_id": event.event_id, "attempt": attempt}
                )
            except (pe.AMQPError, OSError) as exc:
                log.warning(
                    "publish failed, reconnecting",
                    extra={"event_id": event.event_id, "attempt": attempt, "error": repr(exc)},
                )
                self._drop_connection()
            if attempt < attempts:
                time.sleep(delay)
                delay *= 2
        raise BusUnavailable(f"could not publish {event.type} {event.event_id}")

    def consumer(self, spec: ConsumerSpec) -> RabbitConsumer:
        consumer = RabbitConsumer(self, spec)
        self._consumers.append(consumer)
        return consumer

    def drain_dead_letters(self, name: str) -> list[DeadLetter]:
        """Take every message out of a consumer's dead-letter queue."""
        letters = []
        connection = pika.BlockingConnection(self.parameters())
        try:
            channel = connection.channel()
            while True:
                method, props, body = channel.basic_get(self.topology.dead_queue(name))
                if method is None:
                    break
                error = str((props.headers or {}).get(ERROR_HEADER, ""))
                letters.append(DeadLetter(body, error))
                channel.basic_ack(method.delivery_tag)
        finally:
            connection.close()
        return letters

    def delete_consumer_queues(self, name: str) -> None:
        """Remove a consumer's queues (tests and decommissioning)."""
        connection = pika.BlockingConnection(self.parameters())
        try:
            channel = connection.channel()
            for q in (
                self.topology.queue(name),
                self.topology.retry_queue(name),
                self.topology.dead_queue(name),
            ):
                channel.queue_delete(q)
        finally:
            connection.close()

    def delete_namespace(self) -> None:
        """Remove the declared consumers' queues and the exchanges (tests, teardown)."""
        for name in self.declared_consumers:
            self.delete_consumer_queues(name)
        self.delete_exchanges()

    def delete_exchanges(self) -> None:
        connection = pika.BlockingConnection(self.parameters())
        try:
            channel = connection.channel()
            channel.exchange_delete(self.topology.exchange)
            channel.exchange_delete(self.topology.dlx)
        finally:
            connection.close()

    def ping(self) -> bool:
        try:
            connection = pika.BlockingConnection(self.parameters())
            connection.close()
            return True
        except Exception:
            return False

    def close(self) -> None:
        for consumer in self._consumers:
            consumer.stop()
        self._drop_connection()


@dataclass(frozen=True)
class _Link:
    connection: object
    channel: object
    retry_channel: object


class RabbitConsumer(ThreadedConsumer):
    """Manual acks, bounded prefetch, handler on a worker thread so heartbeats keep flowing."""

    def __init__(self, bus: RabbitBus, spec: ConsumerSpec) -> None:
        self.bus = bus
        self.spec = spec
        self.topology = bus.topology
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._inflight = 0
        self._inflight_lock = threading.Lock()

    def declare(self) -> None:
        connection = pika.BlockingConnection(self.bus.parameters())
        try:
            self.topology.declare_consumer(connection.channel(), self.spec.name, self.spec.bindings)
        finally:
            connection.close()

    def run(self) -> None:
        """Consume until stop(); reconnects with backoff when the broker goes away."""
        delay = 0.5
        while not self._stopping.is_set():
            try:
                self._consume()
                delay = 0.5
            except (pe.AMQPError, OSError) as exc:
                if self._stopping.is_set():
                    break
                log.warning(
                    "consumer lost the broker, reconnecting",
                    extra={"consumer": self.spec.name, "error": repr(exc)},
                )
                self._stopping.wait(delay)
                delay = min(delay * 2, 10.0)

    def _consume(self) -> None:
        connection = pika.BlockingConnection(self.bus.parameters())
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.spec.name}-work")
        try:
            channel = connection.channel()
            self.topology.declare_consumer(channel, self.spec.name, self.spec.bindings)
            retry_channel = connection.channel()
            retry_channel.confirm_delivery()
            channel.basic_qos(prefetch_count=self.bus.settings.bus_prefetch)
            channel.basic_consume(
                self.topology.queue(self.spec.name),
                on_message_callback=lambda ch, method, props, body: self._submit(
                    executor, _Link(connection, channel, retry_channel), method, props, body
                ),
            )
            while not self._stopping.is_set():
                connection.process_data_events(time_limit=0.2)
            # Let the message in hand finish and be acked before closing.
            deadline = time.monotonic() + 30
            while self._inflight and time.monotonic() < deadline:
                connection.process_data_events(time_limit=0.1)
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            if connection.is_open:
                try:
                    connection.close()
                except Exception:
                    pass

    def _submit(self, executor, link: _Link, method, props, body) -> None:
        with self._inflight_lock:
            self._inflight += 1
        executor.submit(self._work, link, method, props, body)

    def _work(self, link: _Link, method, props, body) -> None:
        """Runs on the worker thread; every channel call goes back to the I/O thread."""
        try:
            outcome = self._handle(body)
        except BaseException as exc:  # noqa: BLE001 - the outcome decides the message's fate
            outcome = exc
        callback = partial(self._settle, link, method, props, body, outcome)
        try:
            link.connection.add_callback_threadsafe(callback)
        except Exception:
            # The connection is gone: the broker redelivers the unacked message.
            with self._inflight_lock:
                self._inflight -= 1

    def _handle(self, body: bytes) -> None | Exception:
        try:
            event = Event.from_json(body)
        except InvalidEvent as exc:
            return exc
        idem = self.spec.idempotency
        if idem.seen(self.spec.name, event.event_id):
            log.info(
                "duplicate event skipped",
                extra={"event_id": event.event_id, "consumer": self.spec.name},
            )
            return None
        self.spec.handler(event)
        idem.record(self.spec.name, event.event_id)
        return None

    def _settle(self, link: _Link, method, props, body, outcome) -> None:
        try:
            channel = link.channel
            if not channel.is_open:
                return  # the broker redelivers what this channel did not ack
            if outcome is None:
                self._ack(channel, method.delivery_tag)
                return
            retries = int((props.headers or {}).get(RETRY_HEADER, 0))
            poison = isinstance(outcome, InvalidEvent)
            log.warning(
                "handler failed",
                extra={
                    "consumer": self.spec.name,
                    "message_id": props.message_id,
                    "retries": retries,
                    "error": repr(outcome),
                },
            )
            headers = dict(props.headers or {})
            if not poison and retries < self.bus.settings.bus_max_retries:
                headers[RETRY_HEADER] = retries + 1
                target = ("", self.topology.retry_queue(self.spec.name))
            else:
                headers[ERROR_HEADER] = repr(outcome)[:500]
                target = (self.topology.dlx, self.spec.name)
            new_props = pika.BasicProperties(
                content_type=props.content_type,
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=props.message_id,
                type=props.type,
                timestamp=props.timestamp,
                headers=headers,
            )
            # Confirmed before the ack: a crash in between redelivers, never loses.
            link.retry_channel.basic_publish(
                target[0], target[1], body, properties=new_props, mandatory=True
            )
            self._ack(channel, method.delivery_tag)
        finally:
            with self._inflight_lock:
                self._inflight -= 1

    def _ack(self, channel, delivery_tag: int) -> None:
        channel.basic_ack(delivery_tag)
