"""A whole wave through every service, on the real RabbitMQ, MongoDB connection and SMTP server.

Admin API: program, roster, wave, launch with email delivery -> notify emails the links ->
respondents follow the link from their email and submit -> the scoring worker scores ->
the admin closes the wave -> final results -> each seller gets their results email.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest

from deploy.local.mail_capture import CaptureServer
from services.bootstrap import build
from services.notify.worker import Notifier
from services.notify.worker import consumer_specs as notify_specs
from services.scoring.worker import consumer_specs as scoring_specs
from services.scoring.worker import start_background as scoring_background
from services.survey.app import create_app
from services.survey.organisations import create_api_key, ensure_organisation
from tests.support.survey_fixtures import complete_answers
from tests.support.waiting import wait_for

ROSTER = [
    (
        "ACME",
        "Acme",
        900000,
        "joe@acme.example",
        "Joe Buyer",
        "decision_maker",
        "sam@vendor.example",
        "Sam Seller",
    ),
    (
        "ACME",
        "Acme",
        900000,
        "ann@acme.example",
        "Ann Buyer",
        "user",
        "sam@vendor.example",
        "Sam Seller",
    ),
    (
        "INITECH",
        "Initech",
        100000,
        "bob@initech.example",
        "Bob Buyer",
        "influencer",
        "sue@vendor.example",
        "Sue Seller",
    ),
]
COLUMNS = (
    "account_id",
    "account_name",
    "annual_revenue",
    "contact_email",
    "contact_name",
    "contact_role",
    "seller_email",
    "seller_name",
)


@pytest.fixture
def smtp():
    server = CaptureServer().start()
    yield server
    server.stop()


def test_a_wave_from_roster_to_seller_results_email(rabbit_bus, db, smtp, request):
    settings = dataclasses.replace(
        rabbit_bus.settings,
        mongo_db=db.name,
        smtp_url=smtp.url,
        mail_rate_per_s=0,
        public_url="http://survey.test",
    )
    container = build(settings, db=db, bus=rabbit_bus)
    notifier = Notifier(container)
    for spec in (*scoring_specs(container), *notify_specs(container, notifier)):
        rabbit_bus.consumer(spec).start()
    request.addfinalizer(scoring_background(container).stop)  # open waves' provisional results
    client = create_app(container, test_config={"TESTING": True}).test_client()
    org_id = ensure_organisation(db=db, name="Vendor Inc")
    auth = {"Authorization": f"Bearer {create_api_key(db=db, org_id=org_id)}"}

    program = client.post(
        "/api/v1/programs", json={"name": "Key accounts"}, headers=auth
    ).get_json()
    imported = client.post(
        f"/api/v1/programs/{program['id']}/roster",
        headers=auth,
        json={"rows": [dict(zip(COLUMNS, row, strict=True)) for row in ROSTER]},
    )
    assert imported.status_code == 200 and imported.get_json()["rows_rejected"] == 0
    closes_at = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    wave = client.post(
        f"/api/v1/programs/{program['id']}/waves",
        headers=auth,
        json={"name": "Spring", "closes_at": closes_at},
    ).get_json()
    launched = client.post(
        f"/api/v1/waves/{wave['id']}/launch", headers=auth, json={"delivery": "email"}
    )
    assert launched.get_json() == {"invited_buyers": 3, "invited_sellers": 2} | {
        k: v
        for k, v in launched.get_json().items()
        if k not in ("invited_buyers", "invited_sellers")
    }

    # every invitee gets one email whose link opens their own survey
    invitations = wait_for(
        lambda: len(smtp.handler.snapshot()) >= 5 and smtp.handler.snapshot(), timeout=20
    )
    links = {}
    for mail in invitations:
        (url,) = set(re.findall(r"http://survey\.test/s/[\w.\-]+", mail.part("plain")))
        links[mail.rcpt_tos[0]] = url.rsplit("/", 1)[1]
    assert set(links) == {
        "joe@acme.example",
        "ann@acme.example",
        "bob@initech.example",
        "sam@vendor.example",
        "sue@vendor.example",
    }

    def submit(email: str, answers: dict) -> None:
        token = links[email]
        survey = client.get(f"/api/v1/respond/{token}").get_json()
        for subject in survey["subjects"]:
            answered = client.post(
                f"/api/v1/respond/{token}/subjects/{subject['subject_id']}/submit",
                json={"answers": answers},
            )
            assert answered.status_code == 200, answered.get_json()

    submit("joe@acme.example", complete_answers(recommend=9, value=5))
    submit("ann@acme.example", complete_answers(recommend=4, value=3))
    submit("bob@initech.example", complete_answers(recommend=10, value=7))
    submit(
        "sam@vendor.example", complete_answers(recommend=9, value=6)
    )  # overestimates: blind spots
    submit("sue@vendor.example", complete_answers(recommend=8, value=5))  # underestimates Bob
    status = client.get(f"/api/v1/waves/{wave['id']}", headers=auth).get_json()
    assert (
        status["counts"]["buyers"]["completed"] == 3
        and status["counts"]["sellers"]["completed"] == 2
    )
    wait_for(
        lambda: (
            (db.results.find_one({"wave_id": wave["id"]}) or {}).get("results", {}).get("n_buyers")
            == 3
        ),
        timeout=15,
    )

    assert client.post(f"/api/v1/waves/{wave['id']}/close", headers=auth).status_code == 202
    results = wait_for(
        lambda: (
            (r := client.get(f"/api/v1/waves/{wave['id']}/results", headers=auth).get_json())[
                "final"
            ]
            and r
        ),
        timeout=20,
    )
    assert results["status"] == "closed" and results["n_buyers"] == 3 and results["n_sellers"] == 3
    acme = client.get(f"/api/v1/waves/{wave['id']}/accounts/ACME", headers=auth).get_json()
    joe = next(c for c in acme["contacts"] if c["email"] == "joe@acme.example")
    assert joe["gap_class"] == "blind_spot"  # Sam saw 6s where Joe gave 5s: +16.7 points

    def results_mail(to: str):
        return next(
            (
                m
                for m in smtp.handler.snapshot()
                if m.rcpt_tos == [to] and "results" in m.subject.lower()
            ),
            None,
        )

    sam = wait_for(lambda: results_mail("sam@vendor.example"), timeout=20)
    text = sam.part("plain")
    assert "Joe Buyer" in text and "Ann Buyer" in text
    assert f"relationship index {joe['relationship_index']:,.1f}" in text
    assert wait_for(lambda: results_mail("sue@vendor.example"), timeout=10)
    # one results email per seller, however often the events were delivered
    assert (
        sum(
            1
            for m in smtp.handler.snapshot()
            if m.rcpt_tos == ["sam@vendor.example"] and "results" in m.subject.lower()
        )
        == 1
    )
