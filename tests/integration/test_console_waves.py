"""The console's wave pages with the Flask test client: the program's waves and a new wave,
the preview, launch, the open wave (rates, not answered, remind, late invitations, a
person's link, the closing date, close), the email log; and who may do what."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from markupsafe import escape

from services.survey.admin import monitoring
from shared.questionnaire import load_bank
from shared.vocabulary import CLOSING, OPEN
from tests.integration.test_admin_support import SAMPLE_ROWS, make_admin, roster_csv
from tests.integration.test_admin_wave_console import LATE_ROWS, _complete, _links
from tests.support.console import make_user, post_form, sign_in


@pytest.fixture
def admin(db):
    return make_admin(db)


def _console(admin, role: str, email: str | None = None, org: str = "acme"):
    email = email or f"{role}@{org}.example"
    make_user(admin.db, org=org, email=email, role=role)
    client = admin.app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


@pytest.fixture
def manager(admin):
    return _console(admin, "manager")


@pytest.fixture
def draft(admin):
    program = admin.program()
    assert admin.import_csv(program["id"], roster_csv(SAMPLE_ROWS)).status_code == 200
    return program, admin.wave(program["id"])


@pytest.fixture
def opened(admin):
    program, wave, _ = admin.launched_wave()
    return program, wave


def _text(response) -> str:
    return response.get_data(as_text=True)


def _local(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M")


# --- the program's waves and a new wave -----------------------------------------------------


def test_a_manager_creates_a_wave_from_the_form_and_it_is_listed(admin, manager, draft):
    program, _ = draft
    path = f"/app/programs/{program['id']}/waves"
    form = {"name": "Autumn 2026", "closes_at": _local(timedelta(days=20)), "reminder_days": "3, 7"}
    created = post_form(manager, path, form)
    assert created.status_code == 302
    wave = admin.db.waves.find_one({"name": "Autumn 2026"})
    assert created.location.endswith(f"/app/waves/{wave['_id']}")
    assert wave["status"] == "draft" and wave["reminder_days"] == [3, 7]
    assert "Wave “Autumn 2026” created as a draft." in _text(manager.get(created.location))
    listed = _text(manager.get(path))
    assert "Autumn 2026" in listed and "Spring 2026" in listed
    assert f'href="/app/waves/{wave["_id"]}"' in listed


def test_a_bad_new_wave_shows_each_message_next_to_its_field_and_saves_nothing(
    admin, manager, draft
):
    program, _ = draft
    before = admin.db.waves.count_documents({})
    path = f"/app/programs/{program['id']}/waves"
    form = {"name": "", "closes_at": "soon", "reminder_days": "3, x"}
    refused = post_form(manager, path, form)
    page = _text(refused)
    assert refused.status_code == 400
    assert re.search(r'id="wave-name-error">Missing data for required field', page)
    assert re.search(r'id="wave-closes_at-error">Not a valid datetime', page)
    assert re.search(r'id="wave-reminder_days-error">[^<]*Not a valid integer', page)
    assert 'value="3, x"' in page  # what was typed is shown again
    later = _local(timedelta(days=9))
    refused = post_form(manager, path, {"name": "A", "closes_at": later, "reminder_days": "7, 3"})
    assert refused.status_code == 400
    assert re.search(r'id="wave-reminder_days-error">must be strictly increasing', _text(refused))
    refused = post_form(manager, path, {"name": "Autumn", "closes_at": _local(-timedelta(days=1))})
    assert refused.status_code == 400
    assert re.search(r'id="wave-closes_at-error">must be in the future', _text(refused))
    assert admin.db.waves.count_documents({}) == before


# --- preview and launch ---------------------------------------------------------------------


def test_the_preview_shows_the_questionnaire_per_side_in_each_language_and_saves_nothing(
    admin, manager, draft
):
    _, wave = draft
    bank = load_bank()
    before = admin.db.responses.count_documents({})
    for side in ("buyer", "seller"):
        for language in bank.languages:
            page = manager.get(f"/app/waves/{wave['id']}/preview?side={side}&language={language}")
            assert page.status_code == 200, (side, language)
            for section in bank.sections_for(side, language, buyer_name="Example Buyer"):
                assert str(escape(section["title"])) in _text(page)
            assert _text(page).count('class="preview-question"') == len(bank.items)
            assert f'lang="{language}"' in _text(page)
    assert manager.get(f"/app/waves/{wave['id']}/preview?language=xx").status_code == 404
    assert admin.db.responses.count_documents({}) == before


def test_launch_confirms_the_counts_then_launches_once(admin, manager, draft):
    _, wave = draft
    path = f"/app/waves/{wave['id']}/launch"
    page = _text(manager.get(path))
    assert re.search(r'id="launch-buyers">3<', page)
    assert re.search(r'id="launch-sellers">2<', page)
    assert admin.db.invitations.count_documents({}) == 0  # the confirmation invites nobody
    launched = post_form(manager, path, {})
    assert launched.status_code == 302
    assert admin.db.waves.find_one({"_id": wave["id"]})["status"] == OPEN
    assert "Launched: 3 buyers and 2 sellers invited." in _text(manager.get(launched.location))
    again = post_form(manager, path, {})
    assert again.status_code == 409 and "only a draft" in _text(again)
    assert admin.db.invitations.count_documents({}) == 5


# --- the open wave --------------------------------------------------------------------------


def test_the_rates_part_changes_when_a_response_arrives(admin, manager, opened):
    _, wave = opened
    rates = _text(manager.get(f"/app/waves/{wave['id']}/rates", headers={"HX-Request": "true"}))
    assert re.search(r'id="buyers-completed">0<', rates)
    assert 'hx-trigger="every 4s"' in rates and "<html" not in rates
    _complete(admin, _links(admin, wave["id"])[("joe@acme.example", "buyer")])
    rates = _text(manager.get(f"/app/waves/{wave['id']}/rates"))
    assert re.search(r'id="buyers-completed">1<', rates)
    assert re.search(r'id="buyers-rate">33%<', rates)
    page = _text(manager.get(f"/app/waves/{wave['id']}"))
    assert "By account" in page and "By seller" in page and "Acme" in page


def test_who_has_not_answered_and_the_silent_decision_makers_filter(manager, opened):
    _, wave = opened
    everyone = _text(manager.get(f"/app/waves/{wave['id']}"))
    for email in ("joe@acme.example", "amy@acme.example", "bea@beta.example"):
        assert f'value="{email}"' in everyone
    silent = _text(manager.get(f"/app/waves/{wave['id']}?silent=1"))
    assert 'value="joe@acme.example"' in silent
    assert 'value="amy@acme.example"' not in silent and 'value="sue@vendor.example"' not in silent


def test_remind_everyone_then_the_selected_and_none_selected_is_a_message(admin, manager, opened):
    _, wave = opened
    path, page = f"/app/waves/{wave['id']}/remind", f"/app/waves/{wave['id']}"
    picked = post_form(
        manager, path, {"to": "selected", "email": ["bea@beta.example"]}, form_page=page
    )
    assert picked.status_code == 302
    assert "Reminders queued: 1." in _text(manager.get(picked.location))
    everyone = post_form(manager, path, {"to": "not_completed"}, form_page=page)
    assert "Reminders queued: 4. Not reminded: 1 reminded recently." in _text(
        manager.get(everyone.location)
    )
    none = post_form(manager, path, {"to": "selected"}, form_page=page)
    assert none.status_code == 400
    assert re.search(r'id="remind-error"[^>]*>tick the people to remind', _text(none))
    reminded = admin.db.invitations.count_documents({"last_reminded_at": {"$ne": None}})
    assert reminded == 5


def test_contacts_added_since_launch_are_invited_once(admin, manager, opened):
    program, wave = opened
    assert admin.import_csv(program["id"], roster_csv(LATE_ROWS)).status_code == 200
    path, page = f"/app/waves/{wave['id']}/late-invitations", f"/app/waves/{wave['id']}"
    done = post_form(manager, path, {}, form_page=page)
    assert "Invited since launch: 2 buyers, 1 sellers" in _text(manager.get(done.location))
    again = post_form(manager, path, {}, form_page=page)
    assert "Invited since launch: 0 buyers, 0 sellers" in _text(manager.get(again.location))
    assert admin.db.invitations.count_documents({"wave_id": wave["id"]}) == 8


def test_a_persons_link_is_copied_revoked_and_reissued(admin, manager, opened):
    _, wave = opened
    old = _links(admin, wave["id"])[("bea@beta.example", "buyer")]
    path = f"/app/waves/{wave['id']}/link?email=bea@beta.example"
    page = _text(manager.get(path))
    assert f'value="{old["url"]}"' in page and 'data-copy="link-1"' in page
    assert "console-copy.js" in page and "<script>" not in page
    revoked = post_form(
        manager,
        f"/app/waves/{wave['id']}/link/revoke",
        {"email": "bea@beta.example"},
        form_page=path,
    )
    assert "link not valid" in _text(manager.get(revoked.location))
    revoked_at = admin.db.invitations.find_one({"person_email": "bea@beta.example"})["revoked_at"]
    assert manager.get(path).status_code == 200  # reading the page changes nothing
    after = admin.db.invitations.find_one({"person_email": "bea@beta.example"})["revoked_at"]
    assert after == revoked_at
    assert admin.client.get(f"/api/v1/respond/{old['token']}").status_code == 404
    reissued = post_form(
        manager,
        f"/app/waves/{wave['id']}/link/reissue",
        {"email": "bea@beta.example"},
        form_page=path,
    )
    new = _links(admin, wave["id"])[("bea@beta.example", "buyer")]
    assert new["url"] != old["url"] and f'value="{new["url"]}"' in _text(
        manager.get(reissued.location)
    )
    assert admin.client.get(f"/api/v1/respond/{new['token']}").status_code == 200
    unknown = manager.get(f"/app/waves/{wave['id']}/link?email=nobody@x.example")
    assert unknown.status_code == 404


def test_the_closing_date_moves_later_never_earlier(admin, manager, opened):
    _, wave = opened
    path, page = f"/app/waves/{wave['id']}/closing-date", f"/app/waves/{wave['id']}"
    before = admin.db.waves.find_one({"_id": wave["id"]})["closes_at"]
    earlier = post_form(manager, path, {"closes_at": _local(timedelta(days=2))}, form_page=page)
    assert earlier.status_code == 400
    assert re.search(r'id="closes_at-error"[^>]*>may only move later', _text(earlier))
    assert admin.db.waves.find_one({"_id": wave["id"]})["closes_at"] == before
    empty = post_form(manager, path, {"closes_at": ""}, form_page=page)
    assert empty.status_code == 400 and "a date and time is required" in _text(empty)
    later = _local(timedelta(days=60))
    moved = post_form(manager, path, {"closes_at": later}, form_page=page)
    assert moved.status_code == 302
    stored = admin.db.waves.find_one({"_id": wave["id"]})["closes_at"]
    assert stored.strftime("%Y-%m-%dT%H:%M") == later


def test_close_asks_first_then_closes_once(admin, manager, opened):
    _, wave = opened
    path = f"/app/waves/{wave['id']}/close"
    confirm = manager.get(path)
    assert confirm.status_code == 200 and "Close the wave now" in _text(confirm)
    assert admin.db.waves.find_one({"_id": wave["id"]})["status"] == OPEN
    assert post_form(manager, path, {}).status_code == 302
    assert admin.db.waves.find_one({"_id": wave["id"]})["status"] == CLOSING
    again = post_form(manager, path, {}, form_page=f"/app/waves/{wave['id']}/emails")
    assert again.status_code == 409 and "already closing" in _text(again)


def test_the_email_log_shows_failures_and_resends_one(db, admin, manager, opened):
    from deploy.local.mail_capture import CaptureServer
    from shared.events import INVITATIONS_CREATED, Event
    from tests.support.notify_fixtures import make_notifier

    _, wave = opened
    page = f"/app/waves/{wave['id']}"
    post_form(
        manager, f"{page}/remind", {"to": "selected", "email": ["joe@acme.example"]}, form_page=page
    )
    entry = db.outbox.find_one({"type": INVITATIONS_CREATED, "payload.kind": "reminder"})
    bea = db.invitations.find_one({"wave_id": wave["id"], "person_email": "bea@beta.example"})
    smtp = CaptureServer().start()
    try:
        notifier = make_notifier(db, smtp.url)
        notifier.handle(Event(entry["type"], entry["payload"], event_id=entry["event_id"]))
        notifier.delivery.record_rejected(
            key=f"reminder:{bea['_id']}:manual:r1",
            kind="reminder",
            to="bea@beta.example",
            error="invalid address: no domain",
            meta={"org_id": admin.org_id, "wave_id": wave["id"], "invitation_id": bea["_id"]},
        )
        path = f"{page}/emails"
        text = _text(manager.get(path))
        assert "bea@beta.example" in text and "invalid address: no domain" in text
        log = {
            e["to"]: e for e in monitoring.email_log(db=db, org_id=admin.org_id, wave_id=wave["id"])
        }
        assert log["joe@acme.example"]["status"] == "sent"
        refused = post_form(
            manager, f"{path}/{log['bea@beta.example']['id']}/resend", {}, form_page=path
        )
        assert refused.status_code == 409 and "never sent" in _text(refused)
        resent = post_form(
            manager, f"{path}/{log['joe@acme.example']['id']}/resend", {}, form_page=path
        )
        assert resent.status_code == 302
        assert "The email to joe@acme.example is queued again." in _text(
            manager.get(resent.location)
        )
        assert notifier.delivery.send_due() == {"sent": 1}
        assert [m.rcpt_tos[0] for m in smtp.handler.snapshot()] == ["joe@acme.example"] * 2
        again = post_form(
            manager, f"{path}/{log['joe@acme.example']['id']}/resend", {}, form_page=path
        )
        assert again.status_code == 409 and "resent once already" in _text(again)
        assert post_form(manager, f"{path}/nope/resend", {}, form_page=path).status_code == 404
        notifier.close()
    finally:
        smtp.stop()


# --- who may --------------------------------------------------------------------------------

POSTS = (
    ("remind", {"to": "not_completed"}),
    ("late-invitations", {}),
    ("closing-date", {"closes_at": "2099-01-01T00:00"}),
    ("close", {}),
    ("launch", {}),
    ("link/revoke", {"email": "bea@beta.example"}),
    ("link/reissue", {"email": "bea@beta.example"}),
)
PAGES = ("", "/rates", "/preview", "/launch", "/close", "/emails", "/link?email=bea@beta.example")


def test_a_viewer_sees_every_wave_page_but_every_post_is_a_403(admin, opened):
    program, wave = opened
    viewer = _console(admin, "viewer")
    for page in PAGES:
        assert viewer.get(f"/app/waves/{wave['id']}{page}").status_code == 200, page
    assert viewer.get(f"/app/programs/{program['id']}/waves").status_code == 200
    before = list(admin.db.invitations.find({}, {"_id": 1, "revoked": 1, "last_reminded_at": 1}))
    for action, form in POSTS:
        answer = post_form(
            viewer, f"/app/waves/{wave['id']}/{action}", form, form_page="/app/programs"
        )
        assert answer.status_code == 403, action
    created = post_form(
        viewer,
        f"/app/programs/{program['id']}/waves",
        {"name": "X", "closes_at": "2099-01-01T00:00"},
        form_page="/app/programs",
    )
    assert created.status_code == 403
    assert (
        list(admin.db.invitations.find({}, {"_id": 1, "revoked": 1, "last_reminded_at": 1}))
        == before
    )
    assert admin.db.waves.find_one({"_id": wave["id"]})["status"] == OPEN
    page = _text(viewer.get(f"/app/waves/{wave['id']}"))
    assert "Remind everyone" not in page and 'type="checkbox"' not in page


def test_a_seller_gets_a_404_on_every_wave_page(admin, opened):
    program, wave = opened
    seller = _console(admin, "seller", email="sue@vendor.example")
    assert seller.get(f"/app/programs/{program['id']}").status_code == 200  # their program
    for page in PAGES:
        assert seller.get(f"/app/waves/{wave['id']}{page}").status_code == 404, page
    assert seller.get(f"/app/programs/{program['id']}/waves").status_code == 404
    for action, form in POSTS:
        answer = post_form(
            seller, f"/app/waves/{wave['id']}/{action}", form, form_page="/app/programs"
        )
        assert answer.status_code == 404, action


def test_another_organisations_wave_is_a_404_and_is_left_alone(admin, opened):
    program, wave = opened
    stranger = _console(admin, "admin", email="max@globex.example", org="globex")
    for page in PAGES:
        assert stranger.get(f"/app/waves/{wave['id']}{page}").status_code == 404, page
    assert stranger.get(f"/app/programs/{program['id']}/waves").status_code == 404
    for action, form in POSTS:
        answer = post_form(
            stranger, f"/app/waves/{wave['id']}/{action}", form, form_page="/app/programs"
        )
        assert answer.status_code == 404, action
    assert admin.db.waves.find_one({"_id": wave["id"]})["status"] == OPEN
    assert admin.db.invitations.count_documents({"revoked": True}) == 0


def test_a_form_without_its_csrf_token_is_refused(admin, manager, opened):
    _, wave = opened
    answer = manager.post(f"/app/waves/{wave['id']}/remind", data={"to": "not_completed"})
    assert answer.status_code == 400 and "This form has expired" in _text(answer)
    assert admin.db.invitations.count_documents({"last_reminded_at": {"$ne": None}}) == 0
