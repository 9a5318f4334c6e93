"""The opt-out link of every survey email, served by the survey service and honoured by notify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deploy.local.mail_capture import CaptureServer
from services.notify.scheduler import send_due_reminders
from services.survey import optout
from services.survey.app import create_app
from shared import tokens
from shared.events import INVITATIONS_CREATED, Event
from shared.tokens import sign_invitation
from tests.support.notify_fixtures import make_notifier, make_world

LAUNCHED = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def smtp():
    server = CaptureServer().start()
    yield server
    server.stop()


def _client(notifier):
    app = create_app(notifier.container)
    if "optout.confirm" not in app.view_functions:
        optout.register(app)
    return app.test_client()


def test_the_list_unsubscribe_link_opts_the_person_out_and_reminders_skip_them(db, smtp):
    world = make_world(db, launched_at=LAUNCHED, reminder_days=[3])
    notifier = make_notifier(db, smtp.url)
    notifier.handle(
        Event(
            INVITATIONS_CREATED,
            {
                "org_id": world.org_id,
                "wave_id": world.wave_id,
                "invitation_ids": [i["_id"] for i in world.buyers],
                "kind": "invitation",
            },
        )
    )
    bob = next(m for m in smtp.handler.snapshot() if m.rcpt_tos == ["bob@acme.example"])
    url = bob.message["List-Unsubscribe"].strip("<>")
    assert url in bob.part("plain")
    path = url.removeprefix("http://survey.test")
    client = _client(notifier)

    page = client.get(path)
    assert page.status_code == 200 and "<form" in page.get_data(as_text=True)
    assert db.opt_outs.count_documents({}) == 0  # looking is not opting out

    # RFC 8058 one-click: the mail provider posts this body, without any CSRF token
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "bob@acme.example" in done.get_data(as_text=True)
    assert db.opt_outs.find_one({"org_id": world.org_id, "email": "bob@acme.example"})
    assert db.invitations.find_one({"_id": world.invitation("bob@acme.example")["_id"]})[
        "opted_out"
    ]
    assert client.post(path).status_code == 200  # twice is fine

    sent_before = len(smtp.handler.snapshot())
    send_due_reminders(
        db=db,
        delivery=notifier.delivery,
        renderer=notifier.renderer,
        settings=notifier.settings,
        now=LAUNCHED + timedelta(days=3),
    )
    reminded = [m.rcpt_tos[0] for m in smtp.handler.snapshot()[sent_before:]]
    assert "bob@acme.example" not in reminded and len(reminded) == 4


def test_a_survey_token_cannot_opt_out_and_a_tampered_token_is_not_valid(db, smtp):
    world = make_world(db)
    notifier = make_notifier(db, smtp.url)
    client = _client(notifier)
    invitation_id = world.invitation("ann@acme.example")["_id"]
    survey_token = sign_invitation(invitation_id, notifier.settings)
    optout_token = tokens.optout_token(invitation_id, notifier.settings)
    assert client.post(f"/optout/{survey_token}").status_code == 404
    assert client.post(f"/optout/{optout_token[:-3]}abc").status_code == 404
    assert client.get("/optout/nonsense").status_code == 404
    assert db.opt_outs.count_documents({}) == 0
    # and the opt-out token does not open the survey
    assert client.get(f"/s/{optout_token}").status_code == 404


def test_the_opt_out_page_speaks_the_invitation_language(db, smtp):
    world = make_world(db, buyer_language="de")
    notifier = make_notifier(db, smtp.url)
    client = _client(notifier)
    token = tokens.optout_token(world.invitation("ann@acme.example")["_id"], notifier.settings)
    page = client.get(f"/optout/{token}").get_data(as_text=True)
    assert 'lang="de"' in page and "Abmelden" in page
