"""Waves through the admin API: create, launch once, counts, links, close, and their events."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from services.bootstrap import start_relays, stop_relays
from services.survey.admin import waves
from shared.bus import ConsumerSpec, RabbitBus
from shared.events import INVITATIONS_CREATED, WAVE_CLOSED
from shared.outbox import relay_outbox
from shared.tokens import invitation_id_from_token
from tests.conftest import isolated_settings
from tests.integration.test_admin_support import (
    SAMPLE_ROWS,
    make_admin,
    roster_csv,
)
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_for


@pytest.fixture
def admin(db):
    return make_admin(db)


@pytest.fixture
def program(admin):
    program = admin.program()
    assert admin.import_csv(program["id"], roster_csv(SAMPLE_ROWS)).status_code == 200
    return program


def _launch(admin, wave_id, delivery="none"):
    return admin.post(f"/api/v1/waves/{wave_id}/launch", json={"delivery": delivery})


# --- create ------------------------------------------------------------------------------------


def test_a_new_wave_is_a_draft_with_the_programs_reminder_days(admin, program):
    wave = admin.wave(program["id"], name="Spring")
    assert wave["status"] == "draft"
    assert wave["name"] == "Spring"
    assert wave["reminder_days"] == [3, 7]
    assert wave["program_id"] == program["id"]
    assert wave["counts"]["buyers"] == {
        "invited": 0,
        "opened": 0,
        "in_progress": 0,
        "completed": 0,
        "opted_out": 0,
    }
    stored = admin.db.waves.find_one({"_id": wave["id"]})
    assert stored["org_id"] == admin.org_id and stored["status"] == "draft"


def test_a_wave_takes_its_own_reminder_days_and_dates(admin, program):
    opens = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    wave = admin.wave(
        program["id"],
        reminder_days=[2, 5, 9],
        opens_at=opens.isoformat(),
        closes_at="2099-01-31T18:00:00",
    )
    assert wave["reminder_days"] == [2, 5, 9]
    assert wave["closes_at"] == "2099-01-31T18:00:00+00:00"  # a naive time is UTC
    assert datetime.fromisoformat(wave["opens_at"]) == opens


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "W", "closes_at": "2001-01-01T00:00:00Z"}, "closes_at"),
        ({"name": "W", "closes_at": "next tuesday"}, "closes_at"),
        ({"name": "W"}, "closes_at"),
        ({"closes_at": "2099-01-01T00:00:00Z"}, "name"),
        ({"name": "", "closes_at": "2099-01-01T00:00:00Z"}, "name"),
        (
            {"name": "W", "closes_at": "2099-01-01T00:00:00Z", "opens_at": "2099-02-01T00:00:00Z"},
            "opens_at",
        ),
        (
            {"name": "W", "closes_at": "2099-01-01T00:00:00Z", "reminder_days": [7, 3]},
            "reminder_days",
        ),
        (
            {"name": "W", "closes_at": "2099-01-01T00:00:00Z", "reminder_days": [0]},
            "reminder_days.0",
        ),
    ],
)
def test_a_bad_wave_is_a_400_naming_the_field(admin, program, body, field):
    response = admin.post(f"/api/v1/programs/{program['id']}/waves", json=body)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["details"]
    assert admin.db.waves.count_documents({}) == 0


# --- launch ------------------------------------------------------------------------------------


def test_launch_invites_every_buyer_contact_and_every_seller(admin, program, db):
    wave = admin.wave(program["id"])
    response = _launch(admin, wave["id"])
    assert response.status_code == 200
    body = response.get_json()
    assert (body["invited_buyers"], body["invited_sellers"]) == (3, 2)
    assert body["status"] == "open"

    stored = db.waves.find_one({"_id": wave["id"]})
    assert stored["status"] == "open" and stored["delivery"] == "none"
    assert stored["launched_at"] is not None

    invitations = {
        (i["side"], i["person_email"]): i for i in db.invitations.find({"wave_id": wave["id"]})
    }
    assert len(invitations) == 5
    contacts = {c["email"]: c for c in db.contacts.find({"program_id": program["id"]})}
    joe = invitations[("buyer", "joe@acme.example")]
    assert joe["person_name"] == "Joe Buyer"
    assert joe["subjects"] == [
        {
            "subject_id": contacts["joe@acme.example"]["_id"],
            "contact_id": contacts["joe@acme.example"]["_id"],
            "account_id": contacts["joe@acme.example"]["account_id"],
            "label": "Joe Buyer, Acme",
        }
    ]
    for invitation in invitations.values():
        assert invitation["org_id"] == admin.org_id
        assert invitation["program_id"] == program["id"]
        assert invitation["status"] == "invited"
        assert invitation["revoked"] is False and invitation["opted_out"] is False
        assert invitation["language"] == "en"
        assert len(invitation["_id"]) == 32
    sue = invitations[("seller", "sue@vendor.example")]
    assert [s["label"] for s in sue["subjects"]] == ["Amy Buyer, Acme", "Joe Buyer, Acme"]
    assert {s["subject_id"] for s in sue["subjects"]} == {
        contacts["amy@acme.example"]["_id"],
        contacts["joe@acme.example"]["_id"],
    }
    tom = invitations[("seller", "tom@vendor.example")]
    assert [s["label"] for s in tom["subjects"]] == ["Bea Buyer, Beta GmbH", "Joe Buyer, Acme"]


def test_launching_twice_is_a_409_and_invites_nobody_again(admin, program, db):
    wave = admin.wave(program["id"])
    assert _launch(admin, wave["id"]).status_code == 200
    ids = sorted(i["_id"] for i in db.invitations.find({"wave_id": wave["id"]}))
    for delivery in ("none", "email"):
        again = _launch(admin, wave["id"], delivery)
        assert again.status_code == 409
        assert again.get_json()["error"]["code"] == "conflict"
    assert sorted(i["_id"] for i in db.invitations.find({"wave_id": wave["id"]})) == ids
    assert db.outbox.count_documents({}) == 0


def test_two_launches_at_once_invite_once(admin, program, db):
    wave = admin.wave(program["id"])
    statuses = []
    barrier = threading.Barrier(3)

    def launch():
        client = admin.app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/waves/{wave['id']}/launch", json={"delivery": "none"}, headers=admin.headers
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=launch) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200, 409, 409]
    assert db.invitations.count_documents({"wave_id": wave["id"]}) == 5


def test_a_launch_that_fails_midway_goes_back_to_draft_and_a_retry_reuses_its_invitations(
    admin, program, db, monkeypatch
):
    wave = admin.wave(program["id"])

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(waves, "stage_events", broken)
    with pytest.raises(RuntimeError):
        waves.launch_wave(
            db=db, bus=None, org_id=admin.org_id, wave_id=wave["id"], delivery="email"
        )
    assert db.waves.find_one({"_id": wave["id"]})["status"] == "draft"
    first = sorted(i["_id"] for i in db.invitations.find({"wave_id": wave["id"]}))
    assert len(first) == 5
    monkeypatch.undo()
    assert _launch(admin, wave["id"]).status_code == 200
    assert sorted(i["_id"] for i in db.invitations.find({"wave_id": wave["id"]})) == first


def test_a_launch_abandoned_by_a_dead_process_may_be_retried_after_its_lease(admin, program, db):
    wave = admin.wave(program["id"])
    db.waves.update_one(
        {"_id": wave["id"]},
        {"$set": {"status": "launching", "launching_at": datetime.now(UTC)}},
    )
    assert _launch(admin, wave["id"]).status_code == 409
    db.waves.update_one(
        {"_id": wave["id"]},
        {"$set": {"launching_at": datetime.now(UTC) - waves.LAUNCH_LEASE - timedelta(seconds=1)}},
    )
    assert _launch(admin, wave["id"]).status_code == 200


def test_launching_a_program_without_a_roster_is_a_409_and_leaves_a_draft(admin, db):
    program = admin.program()
    wave = admin.wave(program["id"])
    response = _launch(admin, wave["id"])
    assert response.status_code == 409
    assert "roster" in response.get_json()["error"]["message"]
    assert db.waves.find_one({"_id": wave["id"]})["status"] == "draft"


def test_opted_out_people_are_invited_but_flagged(admin, program, db):
    db.opt_outs.insert_one({"org_id": admin.org_id, "email": "amy@acme.example", "at": 1})
    wave = admin.wave(program["id"])
    _launch(admin, wave["id"])
    flagged = {i["person_email"] for i in db.invitations.find({"opted_out": True})}
    assert flagged == {"amy@acme.example"}


def test_people_who_opted_out_before_launch_count_as_opted_out_not_invited(admin, program, db):
    db.opt_outs.insert_one({"org_id": admin.org_id, "email": "amy@acme.example", "at": 1})
    wave = admin.wave(program["id"])
    launched = _launch(admin, wave["id"]).get_json()
    assert (launched["invited_buyers"], launched["invited_sellers"]) == (2, 2)
    assert launched["opted_out"] == 1
    counts = admin.get(f"/api/v1/waves/{wave['id']}").get_json()["counts"]
    assert counts["buyers"] == {
        "invited": 2,
        "opened": 0,
        "in_progress": 0,
        "completed": 0,
        "opted_out": 1,
    }
    assert counts["sellers"]["invited"] == 2 and counts["sellers"]["opted_out"] == 0


def test_opting_out_from_one_wave_takes_the_person_out_of_every_running_waves_counts(
    admin, program, db
):
    from services.survey.optout import record_opt_out

    first = admin.wave(program["id"], name="Spring")
    _launch(admin, first["id"])
    other = admin.program("Partners")
    assert admin.import_csv(other["id"], roster_csv(SAMPLE_ROWS)).status_code == 200
    second = admin.wave(other["id"], name="Partners spring")
    _launch(admin, second["id"])
    db.invitations.update_one(
        {"wave_id": first["id"], "person_email": "joe@acme.example"},
        {"$set": {"status": "in_progress"}},
    )
    db.invitations.update_one(
        {"wave_id": second["id"], "person_email": "joe@acme.example"},
        {"$set": {"status": "completed"}},
    )
    amy = db.invitations.find_one({"wave_id": first["id"], "person_email": "amy@acme.example"})
    joe = db.invitations.find_one({"wave_id": first["id"], "person_email": "joe@acme.example"})
    record_opt_out(db=db, invitation=amy)  # through Spring's email
    record_opt_out(db=db, invitation=joe)  # halfway through Spring, done with Partners

    for wave in (first, second):
        counts = admin.get(f"/api/v1/waves/{wave['id']}").get_json()["counts"]["buyers"]
        completed = 1 if wave is second else 0
        assert counts["opted_out"] == 2 - completed, wave["name"]
        assert counts["invited"] == 1 + completed, wave["name"]
        assert counts["completed"] == completed and counts["in_progress"] == 0, wave["name"]
    # the person's invitations in both running waves are flagged, so no reminder goes out
    flagged = db.invitations.count_documents(
        {"person_email": "amy@acme.example", "opted_out": True}
    )
    assert flagged == 2


def test_a_second_open_wave_inviting_the_same_people_is_a_409_naming_the_first(admin, program, db):
    first = admin.wave(program["id"], name="Spring")
    assert _launch(admin, first["id"]).status_code == 200
    second = admin.wave(program["id"], name="Spring again")
    before = db.invitations.count_documents({})
    response = _launch(admin, second["id"])
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert first["id"] in error["message"] and '"Spring"' in error["message"]
    assert error["details"]["wave_id"] == [f"{first['id']} is open"]
    assert db.waves.find_one({"_id": second["id"]})["status"] == "draft"
    assert db.invitations.count_documents({}) == before  # nobody invited twice
    # once the first wave is closed the second may go
    assert admin.post(f"/api/v1/waves/{first['id']}/close").status_code == 202
    assert _launch(admin, second["id"]).status_code == 200


def test_a_wave_being_launched_blocks_a_second_launch_of_the_program(admin, program, db):
    first = admin.wave(program["id"], name="Spring")
    db.waves.update_one(
        {"_id": first["id"]}, {"$set": {"status": "launching", "launching_at": datetime.now(UTC)}}
    )
    second = admin.wave(program["id"], name="Spring again")
    response = _launch(admin, second["id"])
    assert response.status_code == 409 and first["id"] in response.get_json()["error"]["message"]
    # a launch that died long ago blocks nothing: it checks again when retried
    db.waves.update_one(
        {"_id": first["id"]},
        {"$set": {"launching_at": datetime.now(UTC) - waves.LAUNCH_LEASE - timedelta(seconds=1)}},
    )
    assert _launch(admin, second["id"]).status_code == 200
    assert _launch(admin, first["id"]).status_code == 409


def test_open_waves_of_one_program_may_run_side_by_side_when_nobody_is_in_both(admin, db):
    program = admin.program()
    acme = [r for r in SAMPLE_ROWS if r["account_id"] == "A-1"]
    assert admin.import_csv(program["id"], roster_csv(acme)).status_code == 200
    first = admin.wave(program["id"], name="Acme")
    assert _launch(admin, first["id"]).status_code == 200
    # the roster changes: everyone of the first wave is revoked there (moved on)
    db.invitations.update_many({"wave_id": first["id"]}, {"$set": {"revoked": True}})
    second = admin.wave(program["id"], name="Acme, the new team")
    assert _launch(admin, second["id"]).status_code == 200
    # a wave whose closing time has passed takes no answer and blocks nothing
    third = admin.wave(program["id"], name="Later")
    db.waves.update_one(
        {"_id": second["id"]}, {"$set": {"closes_at": datetime.now(UTC) - timedelta(minutes=1)}}
    )
    assert _launch(admin, third["id"]).status_code == 200


def test_an_unknown_delivery_is_a_400(admin, program):
    wave = admin.wave(program["id"])
    response = admin.post(f"/api/v1/waves/{wave['id']}/launch", json={"delivery": "pigeon"})
    assert response.status_code == 400
    assert "delivery" in response.get_json()["error"]["details"]
    assert admin.post(f"/api/v1/waves/{wave['id']}/launch", json={}).status_code == 400


# --- status and links ----------------------------------------------------------------------------


def test_status_counts_each_side_from_invited_to_completed(admin, program, db):
    wave = admin.wave(program["id"])
    _launch(admin, wave["id"])
    db.invitations.update_one({"person_email": "joe@acme.example"}, {"$set": {"status": "opened"}})
    db.invitations.update_one(
        {"person_email": "amy@acme.example"}, {"$set": {"status": "in_progress"}}
    )
    db.invitations.update_one(
        {"person_email": "tom@vendor.example"}, {"$set": {"status": "completed"}}
    )
    response = admin.get(f"/api/v1/waves/{wave['id']}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == wave["id"] and body["status"] == "open"
    assert body["counts"] == {
        "buyers": {"invited": 3, "opened": 2, "in_progress": 1, "completed": 0, "opted_out": 0},
        "sellers": {"invited": 2, "opened": 1, "in_progress": 0, "completed": 1, "opted_out": 0},
    }


def test_links_are_signed_per_invitation_and_recreatable(admin, program, db):
    wave = admin.wave(program["id"])
    _launch(admin, wave["id"])
    response = admin.get(f"/api/v1/waves/{wave['id']}/links")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert sorted((i["side"], i["email"], i["name"]) for i in items) == [
        ("buyer", "amy@acme.example", "Amy Buyer"),
        ("buyer", "bea@beta.example", "Bea Buyer"),
        ("buyer", "joe@acme.example", "Joe Buyer"),
        ("seller", "sue@vendor.example", "Sue Seller"),
        ("seller", "tom@vendor.example", "Tom Seller"),
    ]
    settings = admin.app.extensions["rapport"].settings
    by_email = {i["person_email"]: i["_id"] for i in db.invitations.find({"wave_id": wave["id"]})}
    for item in items:
        assert item["url"].startswith(f"{settings.public_url}/s/")
        token = item["url"].rsplit("/", 1)[1]
        assert invitation_id_from_token(token, settings) == by_email[item["email"]]
    assert admin.get(f"/api/v1/waves/{wave['id']}/links").get_json()["items"] == items


# --- close -----------------------------------------------------------------------------------------


def test_closing_a_draft_is_a_409(admin, program, db):
    wave = admin.wave(program["id"])
    response = admin.post(f"/api/v1/waves/{wave['id']}/close")
    assert response.status_code == 409
    assert db.waves.find_one({"_id": wave["id"]})["status"] == "draft"
    assert db.outbox.count_documents({}) == 0


def test_closing_an_open_wave_is_accepted_once_and_a_closing_or_closed_wave_is_a_409(
    admin, program, db
):
    # API.md 1.1: "Closing a wave that is closing or closed is a 409" (1.0 accepted it again).
    wave = admin.wave(program["id"])
    _launch(admin, wave["id"])
    first = admin.post(f"/api/v1/waves/{wave['id']}/close")
    assert first.status_code == 202
    assert first.get_json()["status"] == "closing"
    again = admin.post(f"/api/v1/waves/{wave['id']}/close")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "conflict"
    assert "already closing" in again.get_json()["error"]["message"]
    (event,) = db.outbox.find({"type": WAVE_CLOSED})
    assert event["payload"] == {
        "org_id": admin.org_id,
        "wave_id": wave["id"],
        "program_id": program["id"],
    }
    db.waves.update_one({"_id": wave["id"]}, {"$set": {"status": "closed"}})
    closed = admin.post(f"/api/v1/waves/{wave['id']}/close")
    assert closed.status_code == 409
    assert "already closed" in closed.get_json()["error"]["message"]
    assert db.waves.find_one({"_id": wave["id"]})["status"] == "closed"
    assert db.outbox.count_documents({"type": WAVE_CLOSED}) == 1


def test_a_close_that_died_before_its_event_gets_its_event_from_the_next_close(admin, program, db):
    wave = admin.wave(program["id"])
    _launch(admin, wave["id"])
    # what a process that stopped between the status update and the outbox write leaves
    db.waves.update_one(
        {"_id": wave["id"]}, {"$set": {"status": "closing", "closed_by": waves.CLOSED_BY_API}}
    )
    assert admin.post(f"/api/v1/waves/{wave['id']}/close").status_code == 409
    (event,) = db.outbox.find({"type": WAVE_CLOSED})
    assert event["payload"]["wave_id"] == wave["id"]


# --- events through the real broker ------------------------------------------------------------


def _listen(bus, name, binding):
    received = []
    consumer = bus.consumer(ConsumerSpec(name=name, bindings=(binding,), handler=received.append))
    consumer.start()
    return consumer, received


@pytest.mark.broker
def test_launch_by_email_publishes_invitation_batches_through_rabbitmq(db, rabbit_bus, monkeypatch):
    monkeypatch.setattr(waves, "EVENT_BATCH", 2)
    admin = make_admin(db, bus=rabbit_bus, settings=rabbit_bus.settings)
    consumer, received = _listen(rabbit_bus, "test-invitations", INVITATIONS_CREATED)
    try:
        _, wave, launched = admin.launched_wave(delivery="email")
        assert launched["events_published"] == 3 and launched["events_pending"] == 0
        wait_for(lambda: len(received) >= 3, timeout=15, message="3 invitation batches")
    finally:
        consumer.stop()
    assert sorted(len(e.payload["invitation_ids"]) for e in received) == [1, 2, 2]
    for event in received:
        assert event.type == INVITATIONS_CREATED
        assert event.payload["org_id"] == admin.org_id
        assert event.payload["wave_id"] == wave["id"]
        assert event.payload["kind"] == "invitation"
    ids = [i for e in received for i in e.payload["invitation_ids"]]
    assert sorted(ids) == sorted(i["_id"] for i in db.invitations.find({"wave_id": wave["id"]}))
    assert {o["status"] for o in db.outbox.find()} == {"sent"}
    assert waves.EVENT_BATCH <= 500


@pytest.mark.broker
def test_launch_with_delivery_none_publishes_nothing(db, rabbit_bus):
    admin = make_admin(db, bus=rabbit_bus, settings=rabbit_bus.settings)
    consumer, received = _listen(rabbit_bus, "test-quiet", INVITATIONS_CREATED)
    try:
        admin.launched_wave(delivery="none")
    finally:
        consumer.stop()
    assert received == [] and db.outbox.count_documents({}) == 0


@pytest.mark.broker
def test_events_survive_a_broker_outage_and_the_relay_publishes_them(db, rabbit_bus):
    down = RabbitBus(isolated_settings(amqp_url="amqp://guest:guest@127.0.0.1:1/%2F"))
    admin = make_admin(db, bus=down, settings=rabbit_bus.settings)
    _, wave, launched = admin.launched_wave(delivery="email")
    assert launched["events_published"] == 0 and launched["events_pending"] == 1
    assert admin.post(f"/api/v1/waves/{wave['id']}/close").status_code == 202
    pending = {o["type"] for o in db.outbox.find({"status": "pending"})}
    assert pending == {INVITATIONS_CREATED, WAVE_CLOSED}

    assert relay_outbox(db=db, bus=rabbit_bus, older_than_s=60) == 0  # too recent yet
    invitations, got_invitations = _listen(
        rabbit_bus, "test-relay-invitations", INVITATIONS_CREATED
    )
    closes, got_closes = _listen(rabbit_bus, "test-relay-closed", WAVE_CLOSED)
    try:
        assert relay_outbox(db=db, bus=rabbit_bus, older_than_s=0) == 2
        wait_for(lambda: got_invitations and got_closes, timeout=15, message="relayed events")
    finally:
        invitations.stop()
        closes.stop()
    assert got_closes[0].payload["wave_id"] == wave["id"]
    assert len(got_invitations[0].payload["invitation_ids"]) == 5
    stored = {o["event_id"]: o for o in db.outbox.find()}
    assert {o["status"] for o in stored.values()} == {"sent"}
    assert got_invitations[0].event_id in stored and got_closes[0].event_id in stored
    assert relay_outbox(db=db, bus=rabbit_bus, older_than_s=0) == 0


def test_waves_of_another_organisation_cannot_be_launched_or_closed(admin, program, db):
    rival = admin.as_organisation("rival")
    wave = admin.wave(program["id"])
    assert (
        rival.post(f"/api/v1/waves/{wave['id']}/launch", json={"delivery": "none"}).status_code
        == 404
    )
    assert db.waves.find_one({"_id": wave["id"]})["status"] == "draft"
    _launch(admin, wave["id"])
    assert rival.post(f"/api/v1/waves/{wave['id']}/close").status_code == 404
    assert rival.get(f"/api/v1/waves/{wave['id']}/links").status_code == 404
    assert db.waves.find_one({"_id": wave["id"]})["status"] == "open"


@pytest.mark.broker
def test_the_survey_process_relays_invitation_events_once_the_broker_is_back(
    db, amqp_url, rabbit_bus
):
    consumer, received = _listen(rabbit_bus, "test-relay-thread", INVITATIONS_CREATED)
    with TcpProxy.to_url(amqp_url) as proxy:
        settings = dataclasses.replace(
            rabbit_bus.settings, amqp_url=proxy.amqp_url(amqp_url), outbox_relay_after_s=0.5
        )
        admin = make_admin(db, bus=RabbitBus(settings), settings=settings)
        start_relays(admin.app.extensions["rapport"])  # as gunicorn's post_worker_init does
        try:
            proxy.down()
            _, wave, launched = admin.launched_wave(delivery="email")
            assert launched["events_pending"] == 1
            time.sleep(1.5)  # relay passes run and fail while the broker is away
            assert received == []
            proxy.up()
            wait_for(lambda: received, timeout=20, message="the relayed invitations event")
            wait_for(
                lambda: db.outbox.find_one({"status": "sent"}), timeout=5, message="marked sent"
            )
            time.sleep(1.5)  # more passes: nothing is published twice
        finally:
            stop_relays(admin.app.extensions["rapport"])
            consumer.stop()
    (event,) = received
    assert event.payload["wave_id"] == wave["id"]
    assert len(event.payload["invitation_ids"]) == 5
