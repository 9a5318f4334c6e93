"""Close-the-loop cases: opened once per trigger when a wave's results are final, worked
through the admin API (`GET /waves/{id}/cases`, `PATCH /cases/{id}`)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import uuid
from collections import Counter
from datetime import timedelta

import pytest

from services.bootstrap import build
from services.scoring.worker import close_wave as score_closed_wave
from services.scoring.worker import consumer_specs
from services.survey.admin.programs import update_program
from services.survey.admin.waves import close_wave
from services.survey.organisations import create_api_key, ensure_organisation
from shared.bus import ConsumerSpec, InProcessBus
from shared.events import WAVE_CLOSED
from shared.store import ensure_indexes
from tests.conftest import isolated_settings
from tests.support.case_fixtures import (
    AUTUMN_CASES,
    SELLER_1,
    SELLER_2,
    SPRING_CASES,
    autumn_wave,
    opened,
    spring_wave,
)
from tests.support.scoring_that_dies import EXIT_CODE as DIED
from tests.support.survey_fixtures import close, survey_app
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def shared_db(mongo_client):
    """One database for the module's two-wave program: built once (a few seconds), read by
    the tests; the one that changes a case changes only that case."""
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    database = mongo_client[name]
    ensure_indexes(database)
    yield database
    mongo_client.drop_database(name)


@pytest.fixture(scope="module")
def two_waves(shared_db):
    settings = isolated_settings()
    spring = spring_wave(shared_db, settings)
    close(shared_db, settings, spring)
    autumn = autumn_wave(shared_db, settings, spring)
    close(shared_db, settings, autumn)
    return settings, spring, autumn


def test_each_trigger_of_two_waves_opens_exactly_one_case(two_waves, shared_db):
    db = shared_db
    settings, spring, autumn = two_waves
    assert Counter(opened(db, spring.wave_id)) == Counter(SPRING_CASES)
    assert Counter(opened(db, autumn.wave_id)) == Counter(AUTUMN_CASES)
    case = db.cases.find_one({"wave_id": autumn.wave_id, "kind": "level_drop"})
    assert case["wave_name"] == "Autumn review"
    assert case["previous_wave_name"] == "Spring review"
    assert case["numbers"] == {"previous": "trusted_advisor", "current": "transactional"}
    assert case["status"] == "open" and case["contact_name"] == "Buyer 2"
    closed_at = db.waves.find_one({"_id": autumn.wave_id})["closed_at"]
    assert case["due_at"] == closed_at + timedelta(hours=48)
    first = db.cases.find_one({"wave_id": spring.wave_id})
    assert first["previous_wave_name"] is None and first["previous_wave_id"] is None


def test_wave_closed_delivered_again_opens_nothing_twice(two_waves, shared_db):
    db = shared_db
    settings, _, autumn = two_waves
    before = list(db.cases.find({"wave_id": autumn.wave_id}).sort("_id"))
    bus = InProcessBus(settings, declare={"everything": ("#",)})
    score_closed_wave(db=db, bus=bus, wave_id=autumn.wave_id)
    score_closed_wave(db=db, bus=bus, wave_id=autumn.wave_id)
    after = list(db.cases.find({"wave_id": autumn.wave_id}).sort("_id"))
    assert after == before


def test_the_due_date_follows_the_programs_setting(db):
    settings = isolated_settings()
    spring = spring_wave(db, settings)
    update_program(
        db=db, org_id=spring.org_id, program_id=spring.program_id, settings={"case_due_hours": 24}
    )
    close(db, settings, spring)
    case = db.cases.find_one({"wave_id": spring.wave_id})
    closed_at = db.waves.find_one({"_id": spring.wave_id})["closed_at"]
    assert case["due_at"] == closed_at + timedelta(hours=24)


def _api(db, settings, org_id):
    client = survey_app(db, settings).test_client()
    key = create_api_key(db=db, org_id=org_id, label="test")
    return client, {"Authorization": f"Bearer {key}"}


def test_cases_are_listed_filtered_and_worked_through_the_api(two_waves, shared_db):
    db = shared_db
    settings, _, autumn = two_waves
    client, auth = _api(db, settings, autumn.org_id)
    listed = client.get(f"/api/v1/waves/{autumn.wave_id}/cases", headers=auth).get_json()
    assert len(listed["items"]) == len(AUTUMN_CASES)
    mine = client.get(
        f"/api/v1/waves/{autumn.wave_id}/cases?owner={SELLER_2}&kind=ri_drop", headers=auth
    ).get_json()["items"]
    assert [(c["kind"], c["owner_email"]) for c in mine] == [("ri_drop", SELLER_2)]
    case_id = mine[0]["id"]

    refused = client.patch(f"/api/v1/cases/{case_id}", json={"status": "closed"}, headers=auth)
    assert refused.status_code == 400
    assert "note" in refused.get_json()["error"]["message"]
    assert "note" in refused.get_json()["error"]["details"]

    moved = client.patch(
        f"/api/v1/cases/{case_id}", json={"status": "in_progress"}, headers=auth
    ).get_json()
    assert moved["status"] == "in_progress"
    handed = client.patch(
        f"/api/v1/cases/{case_id}", json={"owner_email": SELLER_1}, headers=auth
    ).get_json()
    assert handed["owner_email"] == SELLER_1
    stranger = client.patch(
        f"/api/v1/cases/{case_id}", json={"owner_email": "who@elsewhere.example"}, headers=auth
    )
    assert stranger.status_code == 400 and "owner_email" in stranger.get_json()["error"]["details"]
    done = client.patch(
        f"/api/v1/cases/{case_id}",
        json={"status": "closed", "note": "Called Buyer 2: delivery issue fixed."},
        headers=auth,
    ).get_json()
    assert done["status"] == "closed" and done["closed_in_time"] is True
    assert [(h["what"], h.get("to")) for h in done["history"]] == [
        ("opened", None),
        ("status", "in_progress"),
        ("owner", SELLER_1),
        ("status", "closed"),
        ("note", None),
    ]
    assert all(h["by"] and h["at"] for h in done["history"])
    back = client.patch(f"/api/v1/cases/{case_id}", json={"status": "open"}, headers=auth)
    assert back.status_code == 409

    summary = client.get(
        f"/api/v1/waves/{autumn.wave_id}/cases?status=closed", headers=auth
    ).get_json()
    assert [c["id"] for c in summary["items"]] == [case_id]
    tally = summary["closed_in_time"]
    assert tally["wave"]["cases"] == len(AUTUMN_CASES) and tally["wave"]["closed_in_time"] == 1
    assert tally["wave"]["closed_in_time_share"] == 1.0
    by_owner = {o["owner_email"]: o for o in tally["owners"]}
    assert by_owner[SELLER_1]["closed_in_time"] == 1 and by_owner[SELLER_2]["closed"] == 0


def test_another_organisations_case_is_not_found(two_waves, shared_db):
    db = shared_db
    settings, _, autumn = two_waves
    other = ensure_organisation(db=db, name="Elsewhere Ltd")
    client, auth = _api(db, settings, other)
    case_id = db.cases.find_one({"wave_id": autumn.wave_id})["_id"]
    assert client.get(f"/api/v1/cases/{case_id}", headers=auth).status_code == 404
    patched = client.patch(f"/api/v1/cases/{case_id}", json={"status": "in_progress"}, headers=auth)
    assert patched.status_code == 404
    assert client.get(f"/api/v1/waves/{autumn.wave_id}/cases", headers=auth).status_code == 404


def test_a_scoring_worker_killed_while_opening_cases_opens_each_once_after_restart(
    db, rabbit_bus, mongo_uri
):
    settings = dataclasses.replace(rabbit_bus.settings, mongo_db=db.name)
    spring = spring_wave(db, settings)
    close(db, settings, spring)
    autumn = autumn_wave(db, settings, spring)
    rabbit_bus.consumer(ConsumerSpec("scoring", (WAVE_CLOSED,), lambda e: None)).declare()
    published: list = []
    # the worker's events are published `mandatory`: someone must listen (notify does)
    listening = ConsumerSpec("observer", ("wave.scored", "relationship.alert"), published.append)
    rabbit_bus.consumer(listening).start()
    close_wave(db=db, bus=rabbit_bus, org_id=autumn.org_id, wave_id=autumn.wave_id)

    dying = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.scoring_that_dies",
            rabbit_bus.url,
            rabbit_bus.settings.bus_namespace,
            str(rabbit_bus.settings.bus_retry_delay_ms),
            mongo_uri,
            db.name,
        ],
        timeout=60,
        check=False,
        capture_output=True,
        text=True,
    )
    assert dying.returncode == DIED, dying.stderr[-3000:]
    half = opened(db, autumn.wave_id)
    assert 0 < len(half) < len(AUTUMN_CASES)  # killed mid-way
    assert not [e for e in published if e.type == "wave.scored"]

    for spec in consumer_specs(build(settings, db=db, bus=rabbit_bus)):
        rabbit_bus.consumer(spec).start()
    wait_for(
        lambda: any(e.type == "wave.scored" for e in published),
        timeout=30,
        message="wave.scored after the restart",
    )
    assert Counter(opened(db, autumn.wave_id)) == Counter(AUTUMN_CASES)
