"""The scheduler with an injected clock: reminders on the right day, once, and closing dates."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from deploy.local.mail_capture import CaptureServer
from services.notify.scheduler import (
    close_due_waves,
    closing_event_id,
    publish_pending_closing_events,
    send_due_reminders,
)
from services.survey.optout import record_opt_out
from shared.bus import ConsumerSpec, InProcessBus
from shared.events import WAVE_CLOSED
from shared.settings import Settings
from shared.store.invitations import claim_reminders
from tests.support.notify_fixtures import answer, make_notifier, make_world
from tests.support.waiting import wait_for

LAUNCHED = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def smtp():
    server = CaptureServer().start()
    yield server
    server.stop()


def _remind(notifier, now):
    return send_due_reminders(
        db=notifier.container.db,
        delivery=notifier.delivery,
        renderer=notifier.renderer,
        settings=notifier.settings,
        now=now,
    )


def _recipients(smtp) -> Counter:
    return Counter(r for m in smtp.handler.snapshot() for r in m.rcpt_tos)


def _complete(db, world, email):
    answer(db, world, email)


def test_reminders_go_to_those_who_have_not_completed_on_their_day_once_and_never_after_close(
    db, smtp
):
    world = make_world(db, launched_at=LAUNCHED, reminder_days=[3, 7])
    notifier = make_notifier(db, smtp.url)
    _complete(db, world, "bob@acme.example")
    answer(db, world, "ann@acme.example", submit=False)  # started, not submitted
    record_opt_out(db=db, invitation=world.invitation("tess@northwind.example"))

    assert _remind(notifier, LAUNCHED + 3 * DAY - timedelta(minutes=1)).sent == 0
    assert smtp.handler.snapshot() == []

    day3 = _remind(notifier, LAUNCHED + 3 * DAY)
    assert day3.sent == 3
    assert _recipients(smtp) == Counter(
        {"ann@acme.example": 1, "cleo@globex.example": 1, "sam@northwind.example": 1}
    )
    mails = {m.rcpt_tos[0]: m for m in smtp.handler.snapshot()}
    assert mails["ann@acme.example"].subject.startswith("Reminder: Northwind Supplies")
    assert "where you left off" in mails["ann@acme.example"].part("plain")  # she had started
    assert "where you left off" not in mails["cleo@globex.example"].part("plain")
    assert "http://survey.test/s/" in mails["sam@northwind.example"].part("plain")

    # later the same day, and the next day: nothing new
    assert _remind(notifier, LAUNCHED + 3 * DAY + timedelta(hours=5)).sent == 0
    assert _remind(notifier, LAUNCHED + 4 * DAY).sent == 0
    assert sum(_recipients(smtp).values()) == 3

    _complete(db, world, "cleo@globex.example")
    day7 = _remind(notifier, LAUNCHED + 7 * DAY)
    assert day7.sent == 2
    assert _recipients(smtp) == Counter(
        {"ann@acme.example": 2, "cleo@globex.example": 1, "sam@northwind.example": 2}
    )
    keys = sorted(e["idempotency_key"] for e in db.emails.find({"kind": "reminder"}))
    ann_id = world.invitation("ann@acme.example")["_id"]
    assert f"reminder:{ann_id}:3" in keys and f"reminder:{ann_id}:7" in keys

    # the wave closes on day 14: a reminder day after that sends nothing
    db.waves.update_one({"_id": world.wave_id}, {"$set": {"reminder_days": [3, 7, 20]}})
    assert _remind(notifier, LAUNCHED + 20 * DAY).sent == 0
    assert sum(_recipients(smtp).values()) == 5


def test_a_scheduler_that_missed_several_days_sends_only_the_latest_reminder(db, smtp):
    make_world(db, launched_at=LAUNCHED, reminder_days=[3, 7])
    notifier = make_notifier(db, smtp.url)
    assert _remind(notifier, LAUNCHED + 8 * DAY).sent == 5
    assert _remind(notifier, LAUNCHED + 9 * DAY).sent == 0
    assert {e["reminder_day"] for e in db.emails.find()} == {7}
    assert set(_recipients(smtp).values()) == {1}


def test_two_schedulers_running_at_once_send_each_reminder_once(db, smtp):
    world = make_world(db, launched_at=LAUNCHED, reminder_days=[3])
    _complete(db, world, "bob@acme.example")
    schedulers = [make_notifier(db, smtp.url) for _ in range(2)]
    start = threading.Barrier(2)
    errors = []

    def run(notifier):
        try:
            start.wait()
            for minutes in range(3):
                _remind(notifier, LAUNCHED + 3 * DAY + timedelta(minutes=minutes))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert _recipients(smtp) == Counter(
        {
            "ann@acme.example": 1,
            "cleo@globex.example": 1,
            "sam@northwind.example": 1,
            "tess@northwind.example": 1,
        }
    )
    assert db.emails.count_documents({"kind": "reminder"}) == 4


def test_a_reminder_held_back_by_the_relay_is_dropped_once_the_person_completes(db, smtp):
    world = make_world(db, launched_at=LAUNCHED, reminder_days=[3])
    notifier = make_notifier(db, smtp.url)
    smtp.handler.temporary_failure = "421 later"
    _remind(notifier, LAUNCHED + 3 * DAY)
    assert smtp.handler.snapshot() == []
    _complete(db, world, "ann@acme.example")
    smtp.handler.temporary_failure = None
    wait_for(
        lambda: (
            notifier.delivery.send_due() is not None
            and not db.emails.find_one({"status": "pending"})
        )
    )
    assert db.emails.find_one({"to": "ann@acme.example"})["status"] == "cancelled"
    assert _recipients(smtp) == Counter(
        {
            "bob@acme.example": 1,
            "cleo@globex.example": 1,
            "sam@northwind.example": 1,
            "tess@northwind.example": 1,
        }
    )


def test_survey_email_still_waiting_when_the_wave_closes_is_not_sent(db, smtp):
    world = make_world(db, launched_at=LAUNCHED, reminder_days=[3])
    notifier = make_notifier(db, smtp.url)
    smtp.handler.temporary_failure = "421 later"
    _remind(notifier, LAUNCHED + 3 * DAY)
    smtp.handler.temporary_failure = None
    notifier.delivery.clock = lambda: world.wave["closes_at"] + timedelta(minutes=1)
    db.emails.update_many({}, {"$set": {"next_attempt_at": LAUNCHED, "lease_until": LAUNCHED}})
    notifier.delivery._relay_ok()
    notifier.delivery.send_due()
    assert smtp.handler.snapshot() == []
    assert {e["status"] for e in db.emails.find()} == {"cancelled"}


# --- closing dates ----------------------------------------------------------------------------


def test_a_wave_past_its_closing_date_is_closed_once_and_announced_once(db, rabbit_bus, smtp):
    world = make_world(db, launched_at=LAUNCHED)
    later = make_world(db, launched_at=LAUNCHED, closes_at=LAUNCHED + 30 * DAY)
    received = []
    probe = rabbit_bus.consumer(ConsumerSpec("probe", (WAVE_CLOSED,), received.append))
    probe.start()
    schedulers = [make_notifier(db, smtp.url, bus=rabbit_bus) for _ in range(2)]
    start = threading.Barrier(2)
    closed: list[list[str]] = []

    def run(notifier):
        start.wait()
        closed.append(
            close_due_waves(
                db=notifier.container.db, bus=notifier.container.bus, now=LAUNCHED + 14 * DAY
            )
        )

    try:
        threads = [threading.Thread(target=run, args=(n,)) for n in schedulers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        wait_for(lambda: received, message="wave.closed")
        # another pass a minute later changes nothing
        close_due_waves(db=db, bus=rabbit_bus, now=LAUNCHED + 14 * DAY + timedelta(minutes=1))
        wait_for(
            lambda: (
                db.outbox.find_one({"event_id": closing_event_id(world.wave_id)})["status"]
                == "sent"
            )
        )
        threading.Event().wait(0.5)  # time for a duplicate to show up, if there were one
    finally:
        probe.stop()
    assert sorted(sum(closed, [])) == [world.wave_id]
    assert len({e.event_id for e in received}) == 1
    (event,) = {e.event_id: e for e in received}.values()
    assert event.payload == {
        "org_id": world.org_id,
        "wave_id": world.wave_id,
        "program_id": world.program_id,
    }
    wave = db.waves.find_one({"_id": world.wave_id})
    assert wave["status"] == "closing" and wave["closing_at"] == LAUNCHED + 14 * DAY
    assert db.waves.find_one({"_id": later.wave_id})["status"] == "open"


def test_wave_closed_waits_in_the_outbox_until_the_broker_takes_it(db):
    world = make_world(db, launched_at=LAUNCHED)
    bus = InProcessBus(Settings())  # nothing bound yet: the publish is refused
    now = LAUNCHED + 15 * DAY
    assert close_due_waves(db=db, bus=bus, now=now) == [world.wave_id]
    entry = db.outbox.find_one({"event_id": closing_event_id(world.wave_id)})
    assert entry["status"] == "pending" and entry["type"] == WAVE_CLOSED

    received = []
    consumer = bus.consumer(ConsumerSpec("scoring", (WAVE_CLOSED,), received.append))
    consumer.start()
    try:
        assert publish_pending_closing_events(db=db, bus=bus, now=now) == 1
        wait_for(lambda: received)
    finally:
        consumer.stop()
    assert received[0].event_id == closing_event_id(world.wave_id)
    assert db.outbox.find_one({"event_id": entry["event_id"]})["status"] == "sent"


def test_a_pass_after_the_closing_date_closes_the_wave_and_sends_no_reminder(db, smtp):
    world = make_world(db, launched_at=LAUNCHED, reminder_days=[3, 14])
    notifier = make_notifier(db, smtp.url, bus=InProcessBus(Settings()))
    result = notifier.scheduler().run_once(LAUNCHED + 14 * DAY)
    assert result["closed"] == [world.wave_id]
    assert result["reminders"].sent == 0 and smtp.handler.snapshot() == []


def test_scheduled_reminders_skip_who_was_reminded_on_demand_that_day_and_note_who_they_remind(
    db, smtp
):
    world = make_world(db, launched_at=LAUNCHED, reminder_days=[3, 7])
    notifier = make_notifier(db, smtp.url)
    sam = world.invitation("sam@northwind.example")
    on_demand = LAUNCHED + 3 * DAY - timedelta(hours=2)  # "remind now" two hours earlier
    claimed = claim_reminders(
        db=db,
        org_id=world.org_id,
        wave_id=world.wave_id,
        invitation_ids=[sam["_id"]],
        round_id="round-1",
        now=on_demand,
        since=on_demand - DAY,
    )
    assert claimed == [sam["_id"]]
    day3 = _remind(notifier, LAUNCHED + 3 * DAY)
    recipients = _recipients(smtp)
    assert day3.sent >= 1 and "cleo@globex.example" in recipients
    assert "sam@northwind.example" not in recipients
    cleo = db.invitations.find_one({"_id": world.invitation("cleo@globex.example")["_id"]})
    assert cleo["last_reminded_at"].replace(tzinfo=UTC) == LAUNCHED + 3 * DAY
    # on day 7 sam is past the quiet day: reminded like everyone else
    _remind(notifier, LAUNCHED + 7 * DAY)
    assert _recipients(smtp)["sam@northwind.example"] == 1
