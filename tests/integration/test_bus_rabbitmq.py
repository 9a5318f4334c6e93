"""RabbitMQ-only guarantees: a killed consumer, the declared topology, a lost connection."""

from __future__ import annotations

import subprocess
import sys

import pika
import pytest

from shared.bus import ConsumerSpec, MongoIdempotencyLog
from shared.events import Event
from tests.support.consumer_that_dies import EXIT_CODE
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_for


def _queue_depth(bus, queue: str) -> int:
    connection = pika.BlockingConnection(bus.parameters())
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


DEAD = object()


def _next_delivery(channel, queue: str, dead: str):
    """(method, properties) of the queue's next message, or DEAD once it sits in `dead`."""

    def ready():
        method, properties, _ = channel.basic_get(queue)
        if method is not None:
            return method, properties
        return DEAD if channel.queue_declare(dead, passive=True).method.message_count else None

    return wait_for(ready, timeout=5, message=f"a message in {queue} or {dead}")


def test_consumer_killed_before_ack_gets_the_message_again_and_it_is_processed_once(
    rabbit_bus, db, mongo_uri
):
    rabbit_bus.consumer(ConsumerSpec("mortal", ("thing.#",), lambda e: None)).declare()
    event = Event("thing.happened", {"n": 1})
    rabbit_bus.publish(event)

    dying = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.consumer_that_dies",
            rabbit_bus.url,
            rabbit_bus.settings.bus_namespace,
            str(rabbit_bus.settings.bus_retry_delay_ms),
            mongo_uri,
            db.name,
        ],
        timeout=60,
    )
    assert dying.returncode == EXIT_CODE
    assert db.effects.find_one({"event_id": event.event_id})["count"] == 1
    # Unacked when the process died, so the broker holds it for the next consumer.
    assert wait_for(
        lambda: _queue_depth(rabbit_bus, f"{rabbit_bus.settings.bus_namespace}.mortal") == 1
    )

    handled = []
    survivor = rabbit_bus.consumer(
        ConsumerSpec("mortal", ("thing.#",), handled.append, MongoIdempotencyLog(db))
    )
    survivor.start()
    wait_for(lambda: _queue_depth(rabbit_bus, f"{rabbit_bus.settings.bus_namespace}.mortal") == 0)
    survivor.stop()
    assert handled == []  # recognised by event_id, acked without running again
    assert db.effects.find_one({"event_id": event.event_id})["count"] == 1


def test_consumer_queue_is_a_durable_quorum_queue_with_a_delivery_limit(rabbit_bus):
    rabbit_bus.consumer(ConsumerSpec("typed", ("thing.#",), lambda e: None)).declare()
    ns, limit = rabbit_bus.settings.bus_namespace, rabbit_bus.settings.bus_delivery_limit
    queue, dead = f"{ns}.typed", f"{ns}.typed.dead"
    connection = pika.BlockingConnection(rabbit_bus.parameters())
    try:
        channel = connection.channel()
        channel.queue_declare(f"{ns}.typed.retry", passive=True)
        # the broker refuses to redeclare it transient, or as a classic queue
        for durable, kind in ((False, "quorum"), (True, "classic")):
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
                connection.channel().queue_declare(
                    queue, durable=durable, arguments={"x-queue-type": kind}
                )
            assert refused.value.reply_code == 406, refused.value

        # a message handed back every time is dead-lettered once it passes the limit
        rabbit_bus.publish(Event("thing.refused", {}))
        deliveries = []
        while (taken := _next_delivery(channel, queue, dead)) is not DEAD:
            method, properties = taken
            deliveries.append((properties.headers or {}).get("x-delivery-count", 0))
            channel.basic_nack(method.delivery_tag, requeue=True)
            assert len(deliveries) <= limit + 1, deliveries
    finally:
        connection.close()
    assert len(deliveries) == limit + 1
    assert deliveries[-1] == limit  # counted by the quorum queue itself


def test_publisher_reconnects_after_the_connection_is_cut(rabbit_bus, amqp_url):
    with TcpProxy.to_url(amqp_url) as proxy:
        rabbit_bus.url = proxy.amqp_url(amqp_url)
        received = []
        consumer = rabbit_bus.consumer(ConsumerSpec("steady", ("thing.#",), received.append))
        try:
            consumer.start()
            rabbit_bus.publish(Event("thing.before", {}))
            proxy.cut()  # drops every open connection; new ones go through again
            rabbit_bus.publish(Event("thing.after", {}))
            wait_for(lambda: len(received) == 2, timeout=20, message="both events")
        finally:
            consumer.stop()
            rabbit_bus._drop_connection()
            rabbit_bus.url = amqp_url
    assert sorted(e.type for e in received) == ["thing.after", "thing.before"]


def test_product_bus_declares_its_consumer_queues_so_early_events_wait(amqp_url):
    from shared.bus import CONSUMER_BINDINGS, make_bus
    from tests.conftest import isolated_settings

    bus = make_bus(isolated_settings(amqp_url=amqp_url))
    try:
        event = Event("response.completed", {"wave_id": "w"})
        bus.publish(event)  # no scoring process has started yet
        ns = bus.settings.bus_namespace
        assert _queue_depth(bus, f"{ns}.scoring") == 1
        assert set(bus.declared_consumers) == set(CONSUMER_BINDINGS)
    finally:
        bus.close()
        bus.delete_namespace()
