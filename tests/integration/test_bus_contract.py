"""The bus contract, run against the real RabbitMQ and against the in-process bus."""

from __future__ import annotations

import threading

import pytest

from shared.bus import ConsumerSpec, InProcessBus, MongoIdempotencyLog, Unroutable
from shared.events import Event
from tests.conftest import isolated_settings
from tests.support.waiting import wait_for


@pytest.fixture(params=["rabbitmq", "in_process"])
def bus(request):
    if request.param == "rabbitmq":
        yield request.getfixturevalue("rabbit_bus")
        return
    bus = InProcessBus(isolated_settings())
    yield bus
    bus.close()


class Recorder:
    """A handler that records the events it was given, and can fail on purpose."""

    def __init__(self, fail_when=lambda event: False) -> None:
        self.events: list[Event] = []
        self.attempts: dict[str, int] = {}
        self.fail_when = fail_when
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.attempts[event.event_id] = self.attempts.get(event.event_id, 0) + 1
        if self.fail_when(event):
            raise RuntimeError(f"handler refuses {event.payload}")
        with self.lock:
            self.events.append(event)


def start(bus, name, handler, bindings=("thing.#",), idempotency=None):
    spec = ConsumerSpec(name=name, bindings=bindings, handler=handler)
    if idempotency is not None:
        spec.idempotency = idempotency
    consumer = bus.consumer(spec)
    consumer.start()
    return consumer


def test_published_event_reaches_its_consumer(bus):
    recorder = Recorder()
    start(bus, "reader", recorder)
    event = Event("thing.happened", {"n": 1})
    bus.publish(event)
    wait_for(lambda: recorder.events, message="the event")
    assert [e.event_id for e in recorder.events] == [event.event_id]
    assert recorder.events[0].payload == {"n": 1}
    assert recorder.events[0].type == "thing.happened"


def test_topic_bindings_route_only_matching_types(bus):
    recorder = Recorder()
    start(bus, "picky", recorder, bindings=("thing.kept",))
    start(bus, "catch_all", Recorder(), bindings=("#",))
    bus.publish(Event("thing.ignored", {}))
    kept = Event("thing.kept", {})
    bus.publish(kept)
    wait_for(lambda: recorder.events)
    assert [e.event_id for e in recorder.events] == [kept.event_id]


def test_unroutable_publish_raises_instead_of_vanishing(bus):
    start(bus, "reader", Recorder(), bindings=("thing.#",))
    with pytest.raises(Unroutable):
        bus.publish(Event("nobody.listens", {}))


def test_a_notification_nobody_listens_to_is_dropped_and_one_with_listeners_arrives(bus):
    recorder = Recorder()
    start(bus, "listener", recorder, bindings=("note.heard",))
    bus.publish(Event("note.unheard", {}), required=False)  # no queue bound: no error
    heard = Event("note.heard", {"n": 2})
    bus.publish(heard, required=False)
    wait_for(lambda: recorder.events, message="the notification")
    assert [e.event_id for e in recorder.events] == [heard.event_id]


def test_failing_handler_is_retried_then_dead_lettered_and_the_next_message_still_flows(bus):
    recorder = Recorder(fail_when=lambda e: e.payload.get("poison"))
    start(bus, "fragile", recorder)
    poison = Event("thing.bad", {"poison": True})
    good = Event("thing.good", {"poison": False})
    bus.publish(poison)
    bus.publish(good)
    wait_for(lambda: recorder.events, message="the good message")
    assert [e.event_id for e in recorder.events] == [good.event_id]
    dead = wait_for(lambda: bus.drain_dead_letters("fragile"), timeout=15, message="dead letter")
    assert [d.event.event_id for d in dead] == [poison.event_id]
    assert "handler refuses" in dead[0].error
    # one first attempt plus bus_max_retries (2) retries, and no more
    assert recorder.attempts[poison.event_id] == 3


def test_same_event_delivered_twice_is_processed_once(bus, db):
    recorder = Recorder()
    start(bus, "once", recorder, idempotency=MongoIdempotencyLog(db))
    event = Event("thing.happened", {"n": 7})
    bus.publish(event)
    bus.publish(event)
    marker = Event("thing.marker", {})
    bus.publish(marker)
    wait_for(lambda: any(e.event_id == marker.event_id for e in recorder.events))
    assert [e.event_id for e in recorder.events] == [event.event_id, marker.event_id]
    assert db.processed_events.count_documents({"consumer": "once"}) == 2


def test_invalid_envelope_goes_to_the_dead_letter_queue_without_retries(bus):
    recorder = Recorder()
    start(bus, "strict", recorder)
    bad = Event("thing.odd", {"x": 1}, event_id="")  # an empty id fails validation
    bus.publish(bad)
    dead = wait_for(lambda: bus.drain_dead_letters("strict"), timeout=10)
    assert recorder.attempts == {}
    assert len(dead) == 1 and dead[0].event is None
    assert "event_id" in dead[0].error
