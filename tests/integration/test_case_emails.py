"""Close-the-loop emails through a real SMTP server: one email per owner per wave listing the
new cases, reminders the day before a case is due, overdue cases to the program manager."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import timedelta

import pytest

from deploy.local.mail_capture import CaptureServer
from shared.events import WAVE_SCORED, Event
from shared.store import ensure_indexes
from shared.tokens import case_id_from_token
from tests.conftest import isolated_settings
from tests.support.case_fixtures import (
    MANAGER,
    SELLER_1,
    SELLER_2,
    autumn_wave,
    spring_wave,
)
from tests.support.notify_fixtures import make_notifier
from tests.support.survey_fixtures import close

NEW_CASES = "new cases to follow up"


@pytest.fixture
def smtp():
    server = CaptureServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def program(mongo_client):
    """The two-wave program of tests/support/case_fixtures.py, both waves closed and scored."""
    database = mongo_client[f"rapport_test_{uuid.uuid4().hex[:12]}"]
    ensure_indexes(database)
    settings = isolated_settings()
    spring = spring_wave(database, settings)
    close(database, settings, spring)
    autumn = autumn_wave(database, settings, spring)
    close(database, settings, autumn)
    yield database, spring, autumn
    mongo_client.drop_database(database.name)


def _scored(world) -> Event:
    payload = {"org_id": world.org_id, "wave_id": world.wave_id, "program_id": world.program_id}
    return Event(WAVE_SCORED, payload, event_id=f"scored-{world.wave_id}")


def _plain(mail) -> str:
    return " ".join(mail.part("plain").replace("\r\n", "\n").split())


def test_each_owner_gets_one_email_per_wave_listing_their_new_cases(program, smtp):
    db, spring, autumn = program
    notifier = make_notifier(db, smtp.url)
    for world in (spring, autumn):
        notifier.handle(_scored(world))
        notifier.handle(_scored(world))  # redelivered
        notifier.handle(Event(WAVE_SCORED, _scored(world).payload))  # a second close's event
    case_mails = [m for m in smtp.handler.snapshot() if NEW_CASES in m.subject]
    assert Counter((m.rcpt_tos[0], m.subject) for m in case_mails) == Counter(
        {
            (SELLER_1, f"Spring review: {NEW_CASES} (1)"): 1,
            (SELLER_1, f"Autumn review: {NEW_CASES} (3)"): 1,
            (SELLER_2, f"Autumn review: {NEW_CASES} (3)"): 1,
        }
    )
    first = next(m for m in case_mails if m.subject.startswith("Spring"))
    text = _plain(first)
    assert "In Spring review, Buyer 5 sees the relationship as antagonistic" in text
    assert "previous wave" not in text  # the program's first wave has none
    seller_2 = next(m for m in case_mails if m.rcpt_tos == [SELLER_2])
    text = _plain(seller_2)
    assert "Changes are measured against the previous wave, Spring review." in text
    assert (
        "In Autumn review, the relationship level of Buyer 2 dropped from trusted advisor "
        "in Spring review to transactional." in text
    )
    assert "Decision maker Buyer 4 did not answer Autumn review before it closed" in text
    assert text.index("Account 2") < text.index("Buyer 2")  # grouped under the account
    links = re.findall(r"http://survey\.test/app/cases/(case_\w+)\?t=(\S+)", text)
    assert len(links) == 3
    settings = notifier.settings
    assert all(case_id_from_token(token, settings) == case_id for case_id, token in links)
    opened = {c["_id"] for c in db.cases.find({"wave_id": autumn.wave_id, "owner_email": SELLER_2})}
    assert {case_id for case_id, _ in links} == opened


def test_a_reminder_goes_the_day_before_a_case_is_due_once(program, smtp):
    db, _, autumn = program
    notifier = make_notifier(db, smtp.url)
    scheduler = notifier.scheduler()
    due = db.cases.find_one({"wave_id": autumn.wave_id})["due_at"]
    assert scheduler.run_once(due - timedelta(days=2))["case_reminders"] == 0
    day_before = due - timedelta(hours=12)
    first = scheduler.run_once(day_before)["case_reminders"]
    again = scheduler.run_once(day_before + timedelta(minutes=5))["case_reminders"]
    reminders = [m for m in smtp.handler.snapshot() if m.subject.startswith("Due tomorrow")]
    # the spring case and the six autumn ones: both waves closed within seconds of each other
    assert first == 7 and again == 0 and len(reminders) == 7
    assert Counter(m.rcpt_tos[0] for m in reminders) == Counter({SELLER_1: 4, SELLER_2: 3})
    assert scheduler.run_once(due + timedelta(minutes=1))["case_reminders"] == 0


def test_overdue_cases_go_to_the_program_manager_once_a_day(program, smtp):
    db, spring, autumn = program
    notifier = make_notifier(db, smtp.url)
    scheduler = notifier.scheduler()
    due = db.cases.find_one({"wave_id": autumn.wave_id})["due_at"]
    late = due + timedelta(days=2)  # a day the module's other tests did not reach
    sent = [scheduler.run_once(late + timedelta(minutes=m))["overdue_cases"] for m in (0, 1, 2)]
    assert sent == [1, 0, 0]
    assert scheduler.run_once(late + timedelta(days=1))["overdue_cases"] == 1
    overdue = [m for m in smtp.handler.snapshot() if "overdue cases" in m.subject]
    assert [m.rcpt_tos for m in overdue] == [[MANAGER], [MANAGER]]
    text = _plain(overdue[0])
    both_waves = db.cases.count_documents({"program_id": spring.program_id})
    assert overdue[0].subject == f"Key accounts: overdue cases ({both_waves})"
    assert f"Owner {SELLER_2}, due" in text and f"Owner {SELLER_1}, due" in text


def test_an_owner_reads_their_cases_in_their_language(db, smtp):
    settings = isolated_settings()
    spring = spring_wave(db, settings, seller_language="de")
    close(db, settings, spring)
    make_notifier(db, smtp.url).handle(_scored(spring))
    (mail,) = [m for m in smtp.handler.snapshot() if "Nachverfolgung" in m.subject]
    assert mail.rcpt_tos == [SELLER_1]
    assert "In Spring review erlebt Buyer 5 die Beziehung als ablehnend" in _plain(mail)
