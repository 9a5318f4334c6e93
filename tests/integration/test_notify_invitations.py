"""Invitation emails through the real broker, a real SMTP server and a real MongoDB connection."""

from __future__ import annotations

import re

import pytest

from deploy.local.mail_capture import CaptureServer
from services.notify.worker import CONSUMER, consumer_specs
from services.survey.optout import record_opt_out
from shared.events import INVITATIONS_CREATED, Event
from shared.tokens import invitation_id_from_token
from tests.support.notify_fixtures import make_notifier, make_world
from tests.support.waiting import wait_for

LINK = re.compile(r"http://survey\.test/s/([A-Za-z0-9_.\-]+)")


@pytest.fixture
def smtp():
    server = CaptureServer().start()
    yield server
    server.stop()


def _invitations_event(world) -> Event:
    return Event(
        INVITATIONS_CREATED,
        {
            "org_id": world.org_id,
            "wave_id": world.wave_id,
            "invitation_ids": [i["_id"] for i in world.invitations],
            "kind": "invitation",
        },
    )


def _start_consumer(rabbit_bus, notifier):
    (spec,) = consumer_specs(notifier.container, notifier)
    consumer = rabbit_bus.consumer(spec)
    consumer.start()
    return consumer


def test_launched_wave_delivers_one_invitation_per_invitee_whose_link_opens_their_survey(
    db, rabbit_bus, smtp
):
    world = make_world(db)
    notifier = make_notifier(db, smtp.url, bus=rabbit_bus)
    consumer = _start_consumer(rabbit_bus, notifier)
    try:
        rabbit_bus.publish(_invitations_event(world))
        mails = wait_for(
            lambda: (m := smtp.handler.snapshot()) and len(m) >= 5 and m, message="5 invitations"
        )
    finally:
        consumer.stop()
    settings = notifier.settings
    assert sorted(m.rcpt_tos[0] for m in mails) == sorted(
        i["person_email"] for i in world.invitations
    )
    for mail in mails:
        invitation = world.invitation(mail.rcpt_tos[0])
        for body in (mail.part("plain"), mail.part("html")):
            tokens = set(LINK.findall(body))
            assert len(tokens) == 1, body
            assert invitation_id_from_token(tokens.pop(), settings) == invitation["_id"]
        assert "Northwind Supplies" in mail.part("plain")
        assert invitation["person_name"] in str(mail.message["To"])
        assert mail.message["List-Unsubscribe"].startswith("<http://survey.test/optout/")
        assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    ann = next(m for m in mails if m.rcpt_tos == ["ann@acme.example"])
    # who is asking: her primary seller; when it closes
    assert "Sam Seller and the team at Northwind Supplies" in ann.part("plain")
    closes = world.wave["closes_at"]
    assert f"The survey closes on {closes.day} {closes.strftime('%B')} {closes.year}." in ann.part(
        "plain"
    )
    sam = next(m for m in mails if m.rcpt_tos == ["sam@northwind.example"])
    for label in ("Ann Archer, Acme Corp", "Bob Baker, Acme Corp", "Cleo Cole, Globex"):
        assert f"- {label}" in sam.part("plain")
    statuses = {e["status"] for e in db.emails.find({"kind": "invitation"})}
    assert statuses == {"sent"} and db.emails.count_documents({}) == 5


def test_the_respondent_page_accepts_the_emailed_link(db, smtp):
    from services.survey.app import create_app

    world = make_world(db)
    notifier = make_notifier(db, smtp.url)
    app = create_app(notifier.container)
    notifier.handle(_invitations_event(world))
    mail = next(m for m in smtp.handler.snapshot() if m.rcpt_tos == ["ann@acme.example"])
    (token,) = set(LINK.findall(mail.part("plain")))
    client = app.test_client()
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    assert "Northwind Supplies asks you, Ann Archer" in page.get_data(as_text=True)
    assert client.get(f"/s/{token[:-2]}xx").status_code == 404


def test_the_same_event_delivered_twice_sends_one_email(db, rabbit_bus, smtp):
    world = make_world(db)
    notifier = make_notifier(db, smtp.url, bus=rabbit_bus)
    event = _invitations_event(world)
    consumer = _start_consumer(rabbit_bus, notifier)
    try:
        rabbit_bus.publish(event)
        rabbit_bus.publish(event)  # a redelivery: same event id
        wait_for(lambda: db.processed_events.count_documents({"consumer": CONSUMER}) == 1)
    finally:
        consumer.stop()
    # Even past the consumer's processed-events log (a crash before it was written),
    # the emails' idempotency keys keep the second run from sending anything.
    notifier.handle(event)
    mails = smtp.handler.snapshot()
    assert len(mails) == 5
    assert sorted(m.rcpt_tos[0] for m in mails) == sorted(
        i["person_email"] for i in world.invitations
    )
    assert db.emails.count_documents({}) == 5


def test_a_german_respondent_gets_a_german_invitation(db, smtp):
    world = make_world(db, buyer_language="de", seller_language="en")
    notifier = make_notifier(db, smtp.url)
    notifier.handle(_invitations_event(world))
    mails = {m.rcpt_tos[0]: m for m in smtp.handler.snapshot()}
    ann, sam = mails["ann@acme.example"], mails["sam@northwind.example"]
    assert ann.subject == "Northwind Supplies bittet um Ihre Einschätzung der Zusammenarbeit"
    assert ann.message["Content-Language"] == "de"
    text = ann.part("plain")
    assert "Guten Tag Ann Archer," in text
    assert "Zur Umfrage" in text and "Die Umfrage endet am" in text
    assert 'lang="de"' in ann.part("html") and "Zur Umfrage</a>" in ann.part("html")
    assert sam.subject.startswith("Your relationship survey")


def test_a_name_with_a_header_injection_is_neutralised_and_a_broken_address_refused(db, smtp):
    world = make_world(
        db,
        buyers=[
            {
                "email": "ann@acme.example",
                "name": "Ann\r\nBcc: victim@evil.example\r\nSubject: pwned",
                "account": "A-1",
                "role": "decision_maker",
            },
            {"email": "bob@acme.example", "name": "Bob", "account": "A-1", "role": "user"},
            {
                "email": "cleo@globex.example",
                "name": "Cleo",
                "account": "G-7",
                "role": "influencer",
            },
        ],
    )
    # the roster refuses such addresses: notify must refuse them too if one is ever stored
    for email, broken in (
        ("bob@acme.example", "bob@acme.example\r\nBcc: victim@evil.example"),
        ("cleo@globex.example", "cleo@globex.example, victim@evil.example"),
    ):
        db.invitations.update_one(
            {"_id": world.invitation(email)["_id"]}, {"$set": {"person_email": broken}}
        )
    notifier = make_notifier(db, smtp.url)
    notifier.handle(_invitations_event(world))
    mails = smtp.handler.snapshot()
    recipients = sorted(r for m in mails for r in m.rcpt_tos)
    assert recipients == ["ann@acme.example", "sam@northwind.example", "tess@northwind.example"]
    ann = next(m for m in mails if m.rcpt_tos == ["ann@acme.example"])
    assert ann.message["Bcc"] is None
    assert ann.message.get_all("Subject") == [ann.subject]
    assert "pwned" not in ann.subject
    assert "\n" not in str(ann.message["To"]) and ann.message["To"].addresses[0].addr_spec == (
        "ann@acme.example"
    )
    refused = {e["to"]: e for e in db.emails.find({"status": "failed"})}
    assert len(refused) == 2
    assert all(e["last_error"].startswith("invalid address") for e in refused.values())


def test_an_opted_out_person_gets_no_invitation(db, smtp):
    world = make_world(db)
    # Bob opts out from the link of another wave's email, after this wave was launched: the
    # opt-out covers every running wave of the organisation, this one included
    record_opt_out(db=db, invitation=make_world(db).invitation("bob@acme.example"))
    assert db.invitations.find_one({"_id": world.invitation("bob@acme.example")["_id"]})[
        "opted_out"
    ]
    notifier = make_notifier(db, smtp.url)
    notifier.handle(_invitations_event(world))
    recipients = sorted(m.rcpt_tos[0] for m in smtp.handler.snapshot())
    assert "bob@acme.example" not in recipients and len(recipients) == 4


def test_settings_public_url_is_the_base_of_every_link(db, smtp):
    world = make_world(db)
    notifier = make_notifier(db, smtp.url, public_url="https://rapport.example.com")
    notifier.handle(_invitations_event(world))
    body = smtp.handler.snapshot()[0].part("plain")
    assert "https://rapport.example.com/s/" in body
    assert "https://rapport.example.com/optout/" in body


def test_without_a_display_name_no_email_names_the_internal_default(db, smtp):
    world = make_world(db, org_name="default")
    make_notifier(db, smtp.url).handle(_invitations_event(world))
    mails = {m.rcpt_tos[0]: m for m in smtp.handler.snapshot()}
    assert len(mails) == 5
    for mail in mails.values():
        for part in (mail.subject, mail.part("plain"), mail.part("html")):
            assert "default" not in part
        assert mail.message["From"].addresses[0].display_name == "Rapport"
        assert mail.message["Reply-To"] is None
    ann = mails["ann@acme.example"]
    assert ann.subject == "Your account team would like your view of working together"
    assert "Sam Seller and your account team would like to know" in ann.part("plain")
    assert "Thank you.\n" in ann.part("plain").replace("\r\n", "\n")


def test_emails_come_from_the_sender_name_and_answer_to_reply_to(db, smtp):
    from services.survey.organisations import update_branding

    world = make_world(db, org_name="default")
    update_branding(
        db=db,
        org_id=world.org_id,
        changes={
            "display_name": "Northwind Supplies",
            "sender_name": "Northwind Account Team",
            "reply_to": "accounts@northwind.example",
        },
    )
    notifier = make_notifier(db, smtp.url, mail_from="Rapport <survey@rapport.example>")
    notifier.handle(_invitations_event(world))
    mails = {m.rcpt_tos[0]: m for m in smtp.handler.snapshot()}
    ann = mails["ann@acme.example"]
    assert ann.subject == "Northwind Supplies would like your view of working together"
    sender = ann.message["From"].addresses[0]
    # the organisation's name on the configured address (the relay sends only for it)
    assert (sender.display_name, sender.addr_spec) == (
        "Northwind Account Team",
        "survey@rapport.example",
    )
    assert ann.message["Reply-To"].addresses[0].addr_spec == "accounts@northwind.example"
    assert ann.mail_from == "survey@rapport.example"
    assert "Thank you, Northwind Supplies" in ann.part("plain")


def test_the_invitation_states_the_questionnaires_time_and_submit_rule(db, smtp):
    from shared.questionnaire import load_bank

    world = make_world(db)
    make_notifier(db, smtp.url).handle(_invitations_event(world))
    mails = {m.rcpt_tos[0]: m for m in smtp.handler.snapshot()}
    bank = load_bank()
    rule = bank.submit_rule()
    text = " ".join(mails["ann@acme.example"].part("plain").split())
    assert f"The survey takes about {bank.what_it_takes()['minutes']} minutes." in text
    assert (
        f"at least {rule.answered_per_dimension} of the {rule.items_per_dimension} statements "
        f"on {rule.min_dimensions} of the {rule.dimensions} topics"
    ) in text
    seller = " ".join(mails["sam@northwind.example"].part("plain").split())
    assert f"It takes about {bank.what_it_takes()['minutes']} minutes per buyer." in seller
