"""The scoring worker through the real RabbitMQ and a real MongoDB connection."""

from __future__ import annotations

import dataclasses
import time

import pytest

from services.bootstrap import build
from services.scoring.worker import consumer_specs
from shared.bus import ConsumerSpec
from shared.events import WAVE_CLOSED, Event
from tests.support.survey_fixtures import complete_answers, make_wave, survey_app
from tests.support.waiting import wait_for


@pytest.fixture
def scoring(rabbit_bus, db):
    """The scoring consumer on the test's namespace and database, plus what it publishes."""
    settings = dataclasses.replace(rabbit_bus.settings, mongo_db=db.name)
    container = build(settings, db=db, bus=rabbit_bus)
    published = []
    rabbit_bus.consumer(
        ConsumerSpec("observer", ("wave.scored", "relationship.alert"), published.append)
    ).start()
    for spec in consumer_specs(container):
        rabbit_bus.consumer(spec).start()
    return container, published


def _submit(client, person, answers):
    response = client.post(
        f"/api/v1/respond/{person.token}/subjects/{person.subject_ids[0]}/submit",
        json={"answers": answers},
    )
    assert response.status_code == 200, response.get_json()


def test_a_completion_is_scored_and_stored_within_two_seconds(scoring, rabbit_bus, db):
    container, _ = scoring
    world = make_wave(db, container.settings, buyers=2, sellers=1)
    client = survey_app(db, container.settings, bus=rabbit_bus).test_client()

    started = time.monotonic()
    _submit(client, world.buyers[0], complete_answers(recommend=9, value=6))
    stored = wait_for(
        lambda: db.scores.find_one({"wave_id": world.wave_id, "kind": "response"}), timeout=5
    )
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"took {elapsed:.2f}s"
    # every agreement answer 6 -> item score (6 - 1) / 6 * 100
    assert stored["relationship_index"] == pytest.approx(500 / 6)
    assert stored["level"] == "trusted_advisor" and stored["nps_category"] == "promoter"
    assert stored["segment"] == "ambassador"
    results = db.results.find_one({"wave_id": world.wave_id})
    assert results["final"] is False
    assert results["results"]["n_buyers"] == 1
    assert results["results"]["relationship_index"]["value"] == pytest.approx(500 / 6)


def test_wave_closed_gives_final_results_publishes_wave_scored_and_alerts(scoring, rabbit_bus, db):
    container, published = scoring
    world = make_wave(db, container.settings, buyers=3, sellers=1)
    client = survey_app(db, container.settings, bus=rabbit_bus).test_client()
    _submit(client, world.buyers[0], complete_answers(recommend=10, value=7))
    _submit(client, world.buyers[1], complete_answers(recommend=3, value=2))  # antagonistic
    seller = world.sellers[0]
    for subject_id in seller.subject_ids[:2]:
        response = client.post(
            f"/api/v1/respond/{seller.token}/subjects/{subject_id}/submit",
            json={"answers": complete_answers(recommend=9, value=6)},
        )
        assert response.status_code == 200
    wait_for(lambda: db.scores.count_documents({"wave_id": world.wave_id, "kind": "response"}) == 4)

    rabbit_bus.publish(
        Event(
            WAVE_CLOSED,
            {"org_id": world.org_id, "wave_id": world.wave_id, "program_id": world.program_id},
        )
    )
    final = wait_for(
        lambda: db.results.find_one({"wave_id": world.wave_id, "final": True}), timeout=10
    )
    results = final["results"]
    assert results["final"] is True and results["status"] == "closed"
    assert results["n_buyers"] == 2 and results["n_sellers"] == 2
    assert results["levels"]["trusted_advisor"] == 1 and results["levels"]["antagonistic"] == 1
    # NPS over two buyers: one promoter, one detractor
    assert results["nps"]["value"] == pytest.approx(0.0)
    assert db.waves.find_one({"_id": world.wave_id})["status"] == "closed"
    wait_for(lambda: any(e.type == "wave.scored" for e in published), timeout=10)
    alerts = [e for e in published if e.type == "relationship.alert"]
    assert any(a.payload["kind"] == "antagonistic" for a in alerts)
    # alerts are stored per account, outside the results document (which must stay < 16 MB)
    assert "alerts" not in results
    stored_alerts = [
        a for d in db.scores.find({"wave_id": world.wave_id, "kind": "alerts"}) for a in d["alerts"]
    ]
    assert sorted(a["reason"] for a in stored_alerts) == sorted(a.payload["kind"] for a in alerts)
    assert all(a.payload["owner_email"] for a in alerts)
    account = db.scores.find_one({"wave_id": world.wave_id, "kind": "account"})["account"]
    assert {c["email"] for c in account["contacts"]} >= {
        world.buyers[0].email,
        world.buyers[1].email,
    }
    assert account["coaching"] and account["coaching"][0]["seller_email"] == seller.email


def test_duplicate_and_repeated_wave_closed_change_nothing(scoring, rabbit_bus, db):
    container, published = scoring
    world = make_wave(db, container.settings, buyers=2, sellers=1)
    client = survey_app(db, container.settings, bus=rabbit_bus).test_client()
    _submit(client, world.buyers[0], complete_answers(recommend=8, value=5))
    wait_for(lambda: db.scores.find_one({"wave_id": world.wave_id, "kind": "response"}))
    closed = Event(
        WAVE_CLOSED,
        {"org_id": world.org_id, "wave_id": world.wave_id, "program_id": world.program_id},
    )
    rabbit_bus.publish(closed)
    first = wait_for(
        lambda: db.results.find_one({"wave_id": world.wave_id, "final": True}), timeout=10
    )
    wait_for(lambda: len(published) >= 1)

    rabbit_bus.publish(closed)  # the same event again: skipped by its event_id
    again = Event(WAVE_CLOSED, dict(closed.payload))  # a second close: recomputed identically
    rabbit_bus.publish(again)
    wait_for(
        lambda: db.processed_events.find_one({"consumer": "scoring", "event_id": again.event_id}),
        timeout=10,
    )
    second = db.results.find_one({"wave_id": world.wave_id})
    assert second["results"] == first["results"]
    assert db.results.count_documents({"wave_id": world.wave_id}) == 1
    scored_ids = {e.event_id for e in published if e.type == "wave.scored"}
    assert scored_ids == {f"scored-{world.wave_id}"}  # republished under the same id at most


def test_late_completion_never_overwrites_final_results(scoring, rabbit_bus, db):
    from services.scoring.worker import score_response

    container, _ = scoring
    world = make_wave(db, container.settings, buyers=2, sellers=1)
    client = survey_app(db, container.settings, bus=rabbit_bus).test_client()
    _submit(client, world.buyers[0], complete_answers(recommend=8, value=5))
    rabbit_bus.publish(
        Event(
            WAVE_CLOSED,
            {"org_id": world.org_id, "wave_id": world.wave_id, "program_id": world.program_id},
        )
    )
    wait_for(lambda: db.results.find_one({"wave_id": world.wave_id, "final": True}), timeout=10)
    assert score_response(db=db, response_id="late", wave_id=world.wave_id) is False
    assert db.results.find_one({"wave_id": world.wave_id})["final"] is True


def test_results_endpoints_serve_what_the_worker_stored(scoring, rabbit_bus, db):
    from services.survey.organisations import create_api_key, ensure_organisation

    container, _ = scoring
    world = make_wave(db, container.settings, buyers=2, sellers=1)
    client = survey_app(db, container.settings, bus=rabbit_bus).test_client()
    key = create_api_key(db=db, org_id=world.org_id)
    headers = {"Authorization": f"Bearer {key}"}
    before = client.get(f"/api/v1/waves/{world.wave_id}/results", headers=headers).get_json()
    assert before["final"] is False and before["n_buyers"] == 0

    _submit(client, world.buyers[0], complete_answers(recommend=9, value=6))
    _submit(client, world.buyers[1], complete_answers(recommend=4, value=3))
    rabbit_bus.publish(
        Event(
            WAVE_CLOSED,
            {"org_id": world.org_id, "wave_id": world.wave_id, "program_id": world.program_id},
        )
    )
    stored = wait_for(
        lambda: db.results.find_one({"wave_id": world.wave_id, "final": True}), timeout=10
    )

    results = client.get(f"/api/v1/waves/{world.wave_id}/results", headers=headers).get_json()
    assert results == stored["results"]
    assert results["final"] is True and results["n_buyers"] == 2
    external_id = results["accounts"][0]["external_id"]
    account = client.get(f"/api/v1/waves/{world.wave_id}/accounts/{external_id}", headers=headers)
    assert account.status_code == 200
    assert {c["email"] for c in account.get_json()["contacts"]} == {b.email for b in world.buyers}

    export = client.get(f"/api/v1/waves/{world.wave_id}/export.csv", headers=headers)
    lines = export.get_data(as_text=True).strip().splitlines()
    assert export.mimetype == "text/csv" and lines[0].startswith("response_id,side,")
    assert len(lines) == 3  # header + two buyer responses

    other = create_api_key(db=db, org_id=ensure_organisation(db=db, name="Someone Else"))
    elsewhere = client.get(
        f"/api/v1/waves/{world.wave_id}/results", headers={"Authorization": f"Bearer {other}"}
    )
    assert elsewhere.status_code == 404
    assert client.get(f"/api/v1/waves/{world.wave_id}/results").status_code == 401
    missing = client.get(f"/api/v1/waves/{world.wave_id}/accounts/NOPE", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_a_completion_already_included_by_a_later_recompute_is_not_recomputed(db):
    from datetime import UTC, datetime, timedelta

    from services.scoring.worker import score_response
    from tests.conftest import isolated_settings

    world = make_wave(db, isolated_settings(), buyers=2, sellers=1)
    client = survey_app(db, isolated_settings()).test_client()
    _submit(client, world.buyers[0], complete_answers(recommend=9, value=6))
    completed = datetime.now(UTC)
    assert score_response(db=db, response_id="r1", wave_id=world.wave_id, completed_by=completed)
    first = db.results.find_one({"wave_id": world.wave_id})
    # a burst: this event's completion is older than what the stored results read
    assert not score_response(
        db=db,
        response_id="r0",
        wave_id=world.wave_id,
        completed_by=completed - timedelta(seconds=1),
    )
    assert db.results.find_one({"wave_id": world.wave_id})["as_of"] == first["as_of"]
    # a newer completion is recomputed and stored
    _submit(client, world.buyers[1], complete_answers(recommend=3, value=2))
    assert score_response(
        db=db, response_id="r2", wave_id=world.wave_id, completed_by=datetime.now(UTC)
    )
    assert db.results.find_one({"wave_id": world.wave_id})["results"]["n_buyers"] == 2
