"""Completion events: published at once, relayed when the broker was down, never twice."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from services.bootstrap import start_relays, stop_relays
from services.survey.respond.service import load_respondent, submit_answers
from shared.bus import ConsumerSpec, InProcessBus, RabbitBus
from shared.events import WAVE_CLOSED, Event
from shared.outbox import relay_outbox, relay_response_outbox, stage_events
from tests.conftest import isolated_settings
from tests.support.survey_fixtures import complete_answers, make_wave, post_form, survey_app
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


class _CountEverything:
    """An idempotency log that never dedupes, so the test sees every delivery."""

    def seen(self, consumer: str, event_id: str) -> bool:
        return False

    def record(self, consumer: str, event_id: str) -> None:
        pass


def _counting_consumer(bus: RabbitBus) -> list[str]:
    received: list[str] = []
    lock = threading.Lock()

    def handle(event) -> None:
        with lock:
            received.append(event.event_id)

    bus.consumer(
        ConsumerSpec(
            "respond-counter", ("response.completed",), handle, idempotency=_CountEverything()
        )
    ).start()
    return received


def _answer_and_submit_on_the_pages(client, person) -> None:
    subject = person.subject_ids[0]
    answers = complete_answers()
    for section in ("trust", "competence", "recognition", "proactivity", "recommend"):
        fields = {k: str(v) for k, v in answers.items() if k.split(".")[0] == section}
        saved = post_form(
            client, f"/s/{person.token}/q/{subject}/{section}", {**fields, "action": "next"}
        )
        assert saved.status_code == 303
    submitted = post_form(client, f"/s/{person.token}/q/{subject}/review", {})
    assert submitted.status_code == 303
    assert submitted.headers["Location"] == f"/s/{person.token}/done"


@pytest.mark.broker
def test_a_submit_while_the_broker_is_down_is_saved_thanked_and_published_once_later(
    db, amqp_url, rabbit_bus
):
    received = _counting_consumer(rabbit_bus)
    with TcpProxy.to_url(amqp_url) as proxy:
        settings = dataclasses.replace(
            rabbit_bus.settings, amqp_url=proxy.amqp_url(amqp_url), outbox_relay_after_s=0.5
        )
        app_bus = RabbitBus(settings)
        app = survey_app(db, settings, bus=app_bus)
        start_relays(app.extensions["rapport"])  # as gunicorn's post_worker_init does
        client = app.test_client()
        try:
            world = make_wave(db, settings, buyers=1)
            person = world.buyers[0]
            proxy.down()
            _answer_and_submit_on_the_pages(client, person)
            done = client.get(f"/s/{person.token}/done")
            assert done.status_code == 200 and "Thank you" in done.get_data(as_text=True)

            response = db.responses.find_one({"invitation_id": person.invitation_id})
            assert response["status"] == "completed"
            assert response["answers"]["recommend"] == 9
            (entry,) = response["outbox"]
            assert entry["status"] == "pending"
            time.sleep(1.5)  # relay passes run and fail while the broker is away
            assert received == []
            assert db.responses.find_one({"_id": response["_id"]})["outbox"][0]["status"] == (
                "pending"
            )

            proxy.up()
            wait_for(lambda: received, timeout=15, message="the relayed event")
            assert received == [entry["event_id"]]
            wait_for(
                lambda: (
                    db.responses.find_one({"_id": response["_id"]})["outbox"][0]["status"] == "sent"
                ),
                timeout=5,
                message="the event marked sent",
            )
            time.sleep(2.0)  # several more relay passes: nothing is published again
            assert received == [entry["event_id"]]
        finally:
            stop_relays(app.extensions["rapport"])
            app_bus.close()


@pytest.mark.broker
def test_with_the_broker_up_the_request_publishes_at_once(db, amqp_url, rabbit_bus):
    received = _counting_consumer(rabbit_bus)
    settings = dataclasses.replace(rabbit_bus.settings, outbox_relay_after_s=60)
    app_bus = RabbitBus(settings)
    client = survey_app(db, settings, bus=app_bus).test_client()
    try:
        world = make_wave(db, settings, buyers=1)
        person = world.buyers[0]
        response = client.post(
            f"/api/v1/respond/{person.token}/subjects/{person.subject_ids[0]}/submit",
            json={"answers": complete_answers()},
        )
        assert response.status_code == 200
        stored = db.responses.find_one({"invitation_id": person.invitation_id})
        assert stored["outbox"][0]["status"] == "sent"
        wait_for(lambda: received, timeout=5, message="the event")
        assert received == [stored["outbox"][0]["event_id"]]
    finally:
        app_bus.close()


class _SlowBus(InProcessBus):
    """The in-process bus, slowed down so that two relays overlap in time."""

    def publish(self, event, *, routing_key=None):
        time.sleep(0.05)
        super().publish(event, routing_key=routing_key)


def _pending_events(db, settings, n: int) -> list[str]:
    world = make_wave(db, settings, buyers=n)
    for person in world.buyers:
        respondent = load_respondent(db=db, settings=settings, token=person.token)
        submit_answers(
            db=db,
            bus=None,  # nothing published: every event is left to the relay
            respondent=respondent,
            subject_id=person.subject_ids[0],
            answers=complete_answers(),
        )
    return [r["outbox"][0]["event_id"] for r in db.responses.find({"wave_id": world.wave_id})]


def test_two_relays_at_the_same_instant_publish_each_event_exactly_once(db):
    settings = isolated_settings()
    events = _pending_events(db, settings, 5)
    bus = _SlowBus(settings, declare={"sink": ("#",)})
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def worker() -> None:
        barrier.wait()
        counts.append(relay_response_outbox(db=db, bus=bus, older_than_s=0))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(counts) == 5
    sink = bus._queues["sink"]
    published = [sink.get_nowait()[0] for _ in range(sink.qsize())]
    assert sorted(Event.from_json(body).event_id for body in published) == sorted(events)
    statuses = [r["outbox"][0]["status"] for r in db.responses.find()]
    assert statuses == ["sent"] * 5
    assert relay_response_outbox(db=db, bus=bus, older_than_s=0) == 0


def test_two_relays_of_the_outbox_collection_publish_each_event_exactly_once(db):
    settings = isolated_settings()
    events = [Event(WAVE_CLOSED, {"org_id": "acme", "wave_id": f"w{n}"}) for n in range(5)]
    stage_events(db=db, events=events)
    bus = _SlowBus(settings, declare={"sink": ("#",)})
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def worker() -> None:
        barrier.wait()
        counts.append(relay_outbox(db=db, bus=bus, older_than_s=0))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(counts) == 5
    sink = bus._queues["sink"]
    published = [Event.from_json(sink.get_nowait()[0]).event_id for _ in range(sink.qsize())]
    assert sorted(published) == sorted(e.event_id for e in events)
    assert {o["status"] for o in db.outbox.find()} == {"sent"}


def test_the_relay_waits_for_the_delay_and_for_a_lease_held_by_the_request(db):
    settings = isolated_settings()
    (event_id,) = _pending_events(db, settings, 1)
    bus = InProcessBus(settings, declare={"sink": ("#",)})
    assert relay_response_outbox(db=db, bus=bus, older_than_s=60) == 0, "too recent"
    held = datetime.now(UTC) + timedelta(seconds=60)
    db.responses.update_one(
        {"outbox.event_id": event_id}, {"$set": {"outbox.0.claimed_until": held}}
    )
    assert relay_response_outbox(db=db, bus=bus, older_than_s=0) == 0, "leased"
    db.responses.update_one(
        {"outbox.event_id": event_id},
        {"$set": {"outbox.0.claimed_until": datetime.now(UTC) - timedelta(seconds=1)}},
    )
    assert relay_response_outbox(db=db, bus=bus, older_than_s=0) == 1
    assert bus._queues["sink"].qsize() == 1


def test_a_failed_relay_publish_leaves_the_event_pending_for_the_next_pass(db):
    settings = isolated_settings()
    (event_id,) = _pending_events(db, settings, 1)
    nowhere = InProcessBus(settings)  # no queue bound: every publish is unroutable
    assert relay_response_outbox(db=db, bus=nowhere, older_than_s=0) == 0
    entry = db.responses.find_one({"outbox.event_id": event_id})["outbox"][0]
    assert entry["status"] == "pending"
    assert entry["claimed_until"] > datetime.now(UTC), "backs off before retrying"


def test_the_relay_thread_starts_once_per_process_at_process_start(db):
    settings = dataclasses.replace(isolated_settings(), outbox_relay_after_s=30)
    app = survey_app(db, settings)
    container = app.extensions["rapport"]
    client = app.test_client()
    try:
        client.get("/s/nothing")
        assert "response_relay" not in container.relays  # a request starts no relay
        start_relays(container)
        relay = container.relays["response_relay"]
        assert relay.alive
        start_relays(container)
        assert container.relays["response_relay"] is relay
        relay.pid = -1  # as if this process were a fork of the one that started it
        assert start_relays(container)["response_relay"] is not relay
    finally:
        old = relay
        stop_relays(container)
        old.stop()


def test_a_gunicorn_worker_relays_pending_events_from_its_start_with_no_request(db):
    settings = dataclasses.replace(isolated_settings(), outbox_relay_after_s=0.2)
    (response_event,) = _pending_events(db, settings, 1)
    closing = Event(WAVE_CLOSED, {"org_id": "acme", "wave_id": "w1", "program_id": "p1"})
    stage_events(db=db, events=[closing])
    bus = InProcessBus(settings, declare={"sink": ("#",)})
    app = survey_app(db, settings, bus=bus)
    hooks: dict = {}
    exec((ROOT / "deploy/gunicorn.conf.py").read_text(), hooks)
    worker = SimpleNamespace(wsgi=app)  # what gunicorn hands its hooks: the worker and its app
    hooks["post_worker_init"](worker)
    relays = app.extensions["rapport"].relays
    try:
        assert sorted(relays) == ["outbox_relay", "response_relay"]
        sink = bus._queues["sink"]
        wait_for(lambda: sink.qsize() == 2, timeout=10, message="both events relayed")
    finally:
        hooks["worker_exit"](None, worker)
    published = sorted(Event.from_json(sink.get_nowait()[0]).event_id for _ in range(2))
    assert published == sorted([response_event, closing.event_id])
    assert db.outbox.find_one({"event_id": closing.event_id})["status"] == "sent"
    assert not any(relay.alive for relay in relays.values())
    assert app.extensions["rapport"].relays == {}
