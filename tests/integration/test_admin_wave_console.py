"""The console's wave endpoints (API.md 1.1): list and edit waves, remind now, invite late,
revoke a link; and the open-wave page's service functions (rates, silent decision makers,
the email log and resend)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deploy.local.mail_capture import CaptureServer
from services.survey.admin import monitoring
from services.survey.optout import record_opt_out
from shared.events import INVITATIONS_CREATED, Event
from tests.integration.test_admin_support import SAMPLE_ROWS, make_admin, roster_csv
from tests.support.notify_fixtures import make_notifier
from tests.support.survey_fixtures import complete_answers

LATE_ROWS = (
    *SAMPLE_ROWS,
    {  # a new contact for a seller already invited
        **SAMPLE_ROWS[3],
        "contact_email": "ben@beta.example",
        "contact_name": "Ben Buyer",
        "contact_role": "decision_maker",
    },
    {  # a new contact with a new seller
        **SAMPLE_ROWS[3],
        "contact_email": "cid@beta.example",
        "contact_name": "Cid Buyer",
        "contact_role": "user",
        "seller_email": "val@vendor.example",
        "seller_name": "Val Seller",
    },
)


@pytest.fixture
def admin(db):
    return make_admin(db)


@pytest.fixture
def launched(admin):
    program, wave, _ = admin.launched_wave()
    return program, wave


def _links(admin, wave_id):
    return {
        (link["email"], link["side"]): link
        for link in admin.get(f"/api/v1/waves/{wave_id}/links").get_json()["items"]
    }


def _complete(admin, link):
    """Answer and submit every subject of a link through the respondent API."""
    token = link["token"]
    person = admin.client.get(f"/api/v1/respond/{token}").get_json()
    for subject in person["subjects"]:
        done = admin.client.post(
            f"/api/v1/respond/{token}/subjects/{subject['subject_id']}/submit",
            json={"answers": complete_answers()},
        )
        assert done.status_code == 200, done.get_json()


def _patch(admin, wave_id, body):
    return admin.client.patch(f"/api/v1/waves/{wave_id}", headers=admin.headers, json=body)


def _remind(admin, wave_id, to):
    return admin.post(f"/api/v1/waves/{wave_id}/reminders", json={"to": to})


def _reminder_events(admin):
    return list(admin.db.outbox.find({"type": INVITATIONS_CREATED, "payload.kind": "reminder"}))


# --- list and edit -------------------------------------------------------------------------


def test_the_programs_waves_are_listed_newest_first_with_their_counts(admin, launched):
    program, first = launched
    second = admin.wave(program["id"], name="Autumn")
    answer = admin.get(f"/api/v1/programs/{program['id']}/waves")
    assert answer.status_code == 200
    items = answer.get_json()["items"]
    assert [w["id"] for w in items] == [second["id"], first["id"]]
    assert items[1]["counts"]["buyers"]["invited"] == 3
    assert items[1]["counts"]["sellers"]["invited"] == 2
    other = admin.as_organisation("other")
    assert other.get(f"/api/v1/programs/{program['id']}/waves").status_code == 404


def test_an_open_waves_closing_date_moves_later_and_its_name_and_reminder_days_change(
    admin, launched
):
    _, wave = launched
    later = (datetime.fromisoformat(wave["closes_at"]) + timedelta(days=7)).replace(microsecond=0)
    later = later.isoformat()
    answer = _patch(admin, wave["id"], {"closes_at": later, "name": "Spring, extended"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert datetime.fromisoformat(body["closes_at"]) == datetime.fromisoformat(later)
    assert body["name"] == "Spring, extended" and body["status"] == "open"
    assert body["counts"]["buyers"]["invited"] == 3
    assert _patch(admin, wave["id"], {"reminder_days": [2, 4]}).get_json()["reminder_days"] == [
        2,
        4,
    ]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"closes_at": "2001-01-01T00:00:00Z"}, "closes_at"),
        ({"closes_at": None}, "closes_at"),
        ({"closes_at": "soon"}, "closes_at"),
        ({"name": ""}, "name"),
        ({"reminder_days": [5, 3]}, "reminder_days"),
        ({"reminder_days": [0]}, "reminder_days.0"),
        ({"status": "closed"}, "status"),
        ({}, "body"),
    ],
)
def test_a_bad_wave_change_is_a_400_naming_the_field_and_changes_nothing(
    admin, launched, body, field
):
    _, wave = launched
    before = admin.db.waves.find_one({"_id": wave["id"]})
    answer = _patch(admin, wave["id"], body)
    assert answer.status_code == 400, answer.get_json()
    assert field in answer.get_json()["error"]["details"]
    assert admin.db.waves.find_one({"_id": wave["id"]}) == before


def test_an_open_waves_closing_date_never_moves_earlier(admin, launched):
    _, wave = launched
    earlier = (datetime.fromisoformat(wave["closes_at"]) - timedelta(days=1)).isoformat()
    answer = _patch(admin, wave["id"], {"closes_at": earlier})
    assert answer.status_code == 400
    assert (
        "may only move later while the wave is open"
        in answer.get_json()["error"]["details"]["closes_at"][0]
    )


def test_a_closed_wave_or_another_organisations_is_not_changed(admin, launched):
    _, wave = launched
    other = admin.as_organisation("other")
    assert _patch(other, wave["id"], {"name": "Mine"}).status_code == 404
    assert admin.post(f"/api/v1/waves/{wave['id']}/close").status_code == 202
    answer = _patch(admin, wave["id"], {"name": "Too late"})
    assert answer.status_code == 409
    assert "closing" in answer.get_json()["error"]["message"]


# --- reminders ------------------------------------------------------------------------------


def test_reminders_skip_the_completed_the_opted_out_and_who_was_just_reminded(admin, launched):
    _, wave = launched
    links = _links(admin, wave["id"])
    _complete(admin, links[("joe@acme.example", "buyer")])
    amy = admin.db.invitations.find_one({"wave_id": wave["id"], "person_email": "amy@acme.example"})
    record_opt_out(db=admin.db, invitation=amy)
    first = _remind(admin, wave["id"], "not_completed")
    assert first.status_code == 202, first.get_json()
    # bea, and the sellers sue and tom: not joe (completed), not amy (opted out)
    assert first.get_json()["queued"] == 3
    assert first.get_json()["skipped"] == {"completed": 1, "opted_out": 1}
    (event,) = _reminder_events(admin)
    reminded = {
        i["person_email"]
        for i in admin.db.invitations.find({"_id": {"$in": event["payload"]["invitation_ids"]}})
    }
    assert reminded == {"bea@beta.example", "sue@vendor.example", "tom@vendor.example"}
    again = _remind(admin, wave["id"], "not_completed")
    assert again.status_code == 202
    assert again.get_json()["queued"] == 0
    assert again.get_json()["skipped"]["reminded_recently"] == 3
    named = _remind(admin, wave["id"], ["BEA@beta.example"])
    assert named.get_json()["queued"] == 0
    assert len(_reminder_events(admin)) == 1


def test_a_person_reminded_more_than_a_day_ago_is_reminded_again(admin, launched):
    _, wave = launched
    assert _remind(admin, wave["id"], ["bea@beta.example"]).get_json()["queued"] == 1
    admin.db.invitations.update_one(  # a day passing
        {"wave_id": wave["id"], "person_email": "bea@beta.example"},
        {"$set": {"last_reminded_at": datetime.now(UTC) - timedelta(hours=25)}},
    )
    assert _remind(admin, wave["id"], ["bea@beta.example"]).get_json()["queued"] == 1
    assert len(_reminder_events(admin)) == 2


def test_reminding_someone_not_invited_is_a_400_naming_them(admin, launched):
    _, wave = launched
    answer = _remind(admin, wave["id"], ["bea@beta.example", "nobody@else.example"])
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert "nobody@else.example" in error["message"]
    assert "to" in error["details"]
    assert _remind(admin, wave["id"], "everyone").status_code == 400
    assert _remind(admin, wave["id"], []).status_code == 400
    assert _reminder_events(admin) == []


def test_a_draft_wave_sends_no_reminder(admin, launched):
    program, _ = launched
    draft = admin.wave(program["id"], name="Draft")
    assert _remind(admin, draft["id"], "not_completed").status_code == 409


def test_the_reminder_event_sends_one_email_per_person_even_when_delivered_twice(
    db, admin, launched
):
    _, wave = launched
    assert _remind(admin, wave["id"], "not_completed").get_json()["queued"] == 5
    (entry,) = _reminder_events(admin)
    event = Event(entry["type"], entry["payload"], event_id=entry["event_id"])
    smtp = CaptureServer().start()
    try:
        notifier = make_notifier(db, smtp.url)
        notifier.handle(event)
        notifier.handle(event)  # redelivered
        mails = smtp.handler.snapshot()
        assert sorted(m.rcpt_tos[0] for m in mails) == sorted(
            [
                "amy@acme.example",
                "bea@beta.example",
                "joe@acme.example",
                "sue@vendor.example",
                "tom@vendor.example",
            ]
        )
        log = monitoring.email_log(db=db, org_id=admin.org_id, wave_id=wave["id"])
        assert {(e["kind"], e["status"]) for e in log} == {("reminder", "sent")}
        # resend one, once: notify's retry loop sends it again
        again = monitoring.resend(db=db, org_id=admin.org_id, email_id=log[0]["id"])
        assert again["status"] == "pending" and again["resent_at"] is not None
        with pytest.raises(monitoring.Conflict, match="resent once already"):
            monitoring.resend(db=db, org_id=admin.org_id, email_id=log[0]["id"])
        assert notifier.delivery.send_due() == {"sent": 1}
        resent = smtp.handler.snapshot()[len(mails) :]
        assert [m.rcpt_tos[0] for m in resent] == [log[0]["to"]]
        notifier.close()
    finally:
        smtp.stop()
    other = admin.as_organisation("other")
    with pytest.raises(monitoring.NotFound):
        monitoring.resend(db=db, org_id=other.org_id, email_id=log[1]["id"])


def test_the_email_log_gives_a_failures_reason_and_an_address_refused_outright_is_not_resent(
    db, admin, launched
):
    _, wave = launched
    bea = admin.db.invitations.find_one({"wave_id": wave["id"], "person_email": "bea@beta.example"})
    smtp = CaptureServer().start()
    try:
        notifier = make_notifier(db, smtp.url)
        notifier.delivery.record_rejected(
            key=f"reminder:{bea['_id']}:manual:r1",
            kind="reminder",
            to="bea@beta.example",
            error="invalid address: no domain",
            meta={"org_id": admin.org_id, "wave_id": wave["id"], "invitation_id": bea["_id"]},
        )
        notifier.close()
    finally:
        smtp.stop()
    (line,) = monitoring.email_log(db=db, org_id=admin.org_id, wave_id=wave["id"])
    assert (line["to"], line["kind"], line["status"]) == ("bea@beta.example", "reminder", "failed")
    assert line["failure_reason"] == "invalid address: no domain"
    assert monitoring.email_log(db=db, org_id=admin.org_id, wave_id=wave["id"], status="sent") == []
    with pytest.raises(monitoring.Conflict, match="never sent"):
        monitoring.resend(db=db, org_id=admin.org_id, email_id=line["id"])


# --- late invitations and revocation ---------------------------------------------------------


def test_late_invitations_invite_who_joined_since_launch_once(admin, launched):
    program, wave = launched
    links = _links(admin, wave["id"])
    _complete(admin, links[("tom@vendor.example", "seller")])
    imported = admin.import_csv(program["id"], roster_csv(LATE_ROWS))
    assert imported.status_code == 200, imported.get_json()
    url = f"/api/v1/waves/{wave['id']}/invitations"
    answer = admin.post(url, json={"delivery": "email"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["invited_buyers"], body["invited_sellers"]) == (2, 1)
    assert body["sellers_given_subjects"] == 1  # tom gets ben
    tom = admin.db.invitations.find_one(
        {"wave_id": wave["id"], "person_email": "tom@vendor.example"}
    )
    assert len(tom["subjects"]) == 3 and tom["status"] == "in_progress"
    val = admin.db.invitations.find_one(
        {"wave_id": wave["id"], "person_email": "val@vendor.example"}
    )
    assert [s["label"] for s in val["subjects"]] == ["Cid Buyer, Beta GmbH"]
    events = list(admin.db.outbox.find({"type": INVITATIONS_CREATED}))
    emailed = {i for e in events for i in e["payload"]["invitation_ids"]}
    assert tom["_id"] in emailed and val["_id"] in emailed
    again = admin.post(url, json={"delivery": "email"}).get_json()
    assert (again["invited_buyers"], again["invited_sellers"], again["sellers_given_subjects"]) == (
        0,
        0,
        0,
    )
    assert admin.db.outbox.count_documents({"type": INVITATIONS_CREATED}) == len(events)
    assert admin.db.invitations.count_documents({"wave_id": wave["id"]}) == 8
    status = admin.get(f"/api/v1/waves/{wave['id']}").get_json()["counts"]
    assert status["buyers"]["invited"] == 5 and status["sellers"]["completed"] == 0


def test_late_invitations_need_an_open_wave_and_a_known_delivery(admin, launched):
    program, wave = launched
    url = f"/api/v1/waves/{wave['id']}/invitations"
    bad = admin.post(url, json={"delivery": "pigeon"})
    assert bad.status_code == 400 and "delivery" in bad.get_json()["error"]["details"]
    draft = admin.wave(program["id"], name="Draft")
    assert (
        admin.post(
            f"/api/v1/waves/{draft['id']}/invitations", json={"delivery": "none"}
        ).status_code
        == 409
    )


def test_a_revoked_link_is_not_valid_from_then_on(admin, launched):
    _, wave = launched
    link = _links(admin, wave["id"])[("bea@beta.example", "buyer")]
    assert admin.client.get(f"/s/{link['token']}").status_code == 200
    url = f"/api/v1/waves/{wave['id']}/links/bea@beta.example/revoke"
    other = admin.as_organisation("other")
    assert other.post(url).status_code == 404
    assert admin.post(url).status_code == 204
    assert admin.post(url).status_code == 204  # again: the same
    page = admin.client.get(f"/s/{link['token']}")
    assert page.status_code == 404
    assert "link" in page.get_data(as_text=True).lower()
    assert admin.client.get(f"/api/v1/respond/{link['token']}").status_code == 404
    assert ("bea@beta.example", "buyer") not in _links(admin, wave["id"])
    unknown = admin.post(f"/api/v1/waves/{wave['id']}/links/nobody@else.example/revoke")
    assert unknown.status_code == 404


def test_a_reissued_link_opens_the_same_answers_and_every_earlier_link_stays_not_valid(
    admin, launched
):
    _, wave = launched
    old = _links(admin, wave["id"])[("bea@beta.example", "buyer")]
    subject = admin.client.get(f"/api/v1/respond/{old['token']}").get_json()["subjects"][0]
    saved = admin.client.put(
        f"/api/v1/respond/{old['token']}/subjects/{subject['subject_id']}",
        json={"answers": {"trust.1": 6}},
    )
    assert saved.status_code == 200
    base = f"/api/v1/waves/{wave['id']}/links/bea@beta.example"
    assert admin.post(f"{base}/revoke").status_code == 204
    reissued = admin.post(f"{base}/reissue")
    assert reissued.status_code == 200, reissued.get_json()
    (new,) = reissued.get_json()["items"]
    assert new["token"] != old["token"]
    assert admin.client.get(f"/s/{old['token']}").status_code == 404
    person = admin.client.get(f"/api/v1/respond/{new['token']}")
    assert person.status_code == 200
    assert person.get_json()["subjects"][0]["answers"] == {"trust.1": 6}
    assert _links(admin, wave["id"])[("bea@beta.example", "buyer")]["token"] == new["token"]
    again = admin.post(f"{base}/reissue").get_json()["items"][0]
    assert admin.client.get(f"/api/v1/respond/{new['token']}").status_code == 404
    assert admin.client.get(f"/api/v1/respond/{again['token']}").status_code == 200
    assert admin.post(f"/api/v1/waves/{wave['id']}/links/x@y.example/reissue").status_code == 404


# --- the open-wave page ----------------------------------------------------------------------


def test_response_rates_by_side_account_and_seller(db, admin, launched):
    _, wave = launched
    links = _links(admin, wave["id"])
    _complete(admin, links[("joe@acme.example", "buyer")])
    _complete(admin, links[("sue@vendor.example", "seller")])
    rates = monitoring.response_rates(db=db, org_id=admin.org_id, wave_id=wave["id"])
    assert rates["sides"]["buyers"] == {"invited": 3, "completed": 1, "rate": 0.3333}
    assert rates["sides"]["sellers"] == {"invited": 2, "completed": 1, "rate": 0.5}
    accounts = {a["external_id"]: a for a in rates["accounts"]}
    assert accounts["A-1"]["buyers_invited"] == 2 and accounts["A-1"]["buyers_completed"] == 1
    # sue answered on joe and amy; tom (joe, bea) did not
    assert accounts["A-1"]["seller_answers_expected"] == 3
    assert accounts["A-1"]["seller_answers_completed"] == 2
    assert accounts["B-2"]["buyer_rate"] == 0.0 and accounts["B-2"]["seller_rate"] == 0.0
    sellers = {s["email"]: s for s in rates["sellers"]}
    assert sellers["sue@vendor.example"]["subjects_completed"] == 2
    assert sellers["sue@vendor.example"]["buyers_completed"] == 1
    assert sellers["tom@vendor.example"]["rate"] == 0.0
    silent = monitoring.not_answered(
        db=db, org_id=admin.org_id, wave_id=wave["id"], silent_decision_makers=True
    )
    assert silent == []  # joe, the one decision maker, answered
    waiting = monitoring.not_answered(db=db, org_id=admin.org_id, wave_id=wave["id"])
    assert [(p["side"], p["email"]) for p in waiting] == [
        ("buyer", "amy@acme.example"),
        ("buyer", "bea@beta.example"),
        ("seller", "tom@vendor.example"),
    ]


def test_the_silent_decision_makers_are_the_decision_makers_not_completed(db, admin, launched):
    _, wave = launched
    silent = monitoring.not_answered(
        db=db, org_id=admin.org_id, wave_id=wave["id"], silent_decision_makers=True
    )
    assert [(p["email"], p["role"], p["accounts"]) for p in silent] == [
        ("joe@acme.example", "decision_maker", ["Acme"])
    ]


@pytest.mark.parametrize(
    "path, body",
    [
        ("reminders", {"to": "not_completed"}),
        ("invitations", {"delivery": "none"}),
        ("links/bea@beta.example/revoke", None),
        ("links/bea@beta.example/reissue", None),
    ],
)
def test_another_organisations_wave_is_a_404_and_is_left_alone(admin, launched, path, body):
    _, wave = launched
    before = admin.db.invitations.find_one({"person_email": "bea@beta.example"})
    other = admin.as_organisation("other")
    answer = other.post(f"/api/v1/waves/{wave['id']}/{path}", json=body)
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "not_found"
    assert admin.db.invitations.find_one({"person_email": "bea@beta.example"}) == before
    assert _reminder_events(admin) == []
