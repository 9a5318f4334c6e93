"""The scoring worker through the real RabbitMQ and a real MongoDB connection."""

from __future__ import annotations

import dataclasses
import time

import pytest

from services.bootstrap import build
from services.scoring.worker import close_wave as score_closed_wave
from services.scoring.worker import consumer_specs, start_background
from services.survey.admin.waves import close_wave
from shared.bus import ConsumerSpec, InProcessBus
from shared.events import WAVE_CLOSED, Event
from shared.store import scores
from shared.store.results import read_results
from tests.conftest import isolated_settings
from tests.support.survey_fixtures import complete_answers, make_wave, survey_app
from tests.support.waiting import wait_for


@pytest.fixture
def scoring(rabbit_bus, db):
    """The scoring consumer and its refresh on the test's namespace and database, plus what
    it publishes."""
    settings = dataclasses.replace(rabbit_bus.settings, mongo_db=db.name, scoring_refresh_s=0.2)
    container = build(settings, db=db, bus=rabbit_bus)
    published = []
    rabbit_bus.consumer(
        ConsumerSpec(
            "observer", ("wave.scored", "relationship.alert", "scores.updated"), published.append
        )
    ).start()
    for spec in consumer_specs(container):
        rabbit_bus.consumer(spec).start()
    refresh = start_background(container)
    yield container, published
    refresh.stop()


def _submit(client, person, answers):
    response = client.post(
        f"/api/v1/respond/{person.token}/subjects/{person.subject_ids[0]}/submit",
        json={"answers": answers},
    )
    assert response.status_code == 200, response.get_json()


def test_a_completion_is_scored_and_stored_within_two_seconds(scoring, rabbit_bus, db):
    container, published = scoring
    world = make_wave(db, container.settings, buyers=2, sellers=1)
    client = survey_app(db, container.settings, bus=rabbit_bus).test_client()

    _submit(client, world.buyers[1], complete_answers(recommend=7, value=5))  # warm the app up
    wait_for(lambda: db.scores.find_one({"wave_id": world.wave_id, "kind": "account"}), timeout=5)
    db.scores.delete_many({"wave_id": world.wave_id})
    started = time.monotonic()
    _submit(client, world.buyers[0], complete_answers(recommend=9, value=6))
    submitted = time.monotonic() - started
    stored = wait_for(
        lambda: next(
            (
                r
                for r in scores.response_rows(db=db, wave_id=world.wave_id)
                if r["contact_email"] == world.buyers[0].email
            ),
            None,
        ),
        timeout=5,
    )
    account = wait_for(
        lambda: db.scores.find_one({"wave_id": world.wave_id, "kind": "account"}), timeout=5
    )
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"took {elapsed:.2f}s (the submit {submitted:.2f}s)"
    # every agreement answer 6 -> item score (6 - 1) / 6 * 100
    assert stored["relationship_index"] == pytest.approx(500 / 6)
    assert stored["level"] == "trusted_advisor" and stored["nps_category"] == "promoter"
    assert stored["segment"] == "ambassador"
    assert account["final"] is False  # provisional: the close rewrites the account
    (contact,) = [c for c in account["account"]["contacts"] if c["email"] == world.buyers[0].email]
    assert contact["relationship_index"] == pytest.approx(500 / 6)
    assert account["account"]["n_buyers"] == 2
    # the wave's provisional results follow with the next refresh: mean of 500/6 and 400/6
    results = wait_for(
        lambda: db.results.find_one({"wave_id": world.wave_id, "results.n_buyers": 2}),
        timeout=5,
    )
    assert results["final"] is False
    assert results["results"]["relationship_index"]["value"] == pytest.approx(450 / 6)
    # and whoever listens hears of it, once per completion scored
    updated = wait_for(
        lambda: [
            e
            for e in published
            if e.type == "scores.updated" and e.payload["response_id"] == stored["key"]
        ]
    )
    assert updated[0].event_id == f"scores-{stored['key']}"
    assert updated[0].payload["contact_email"] == world.buyers[0].email
    assert updated[0].payload["account_external_id"] == account["key"]


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
    wait_for(lambda: len(scores.response_rows(db=db, wave_id=world.wave_id)) == 4)

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
    # the worker marks the wave closed just after writing its final results
    wait_for(lambda: db.waves.find_one({"_id": world.wave_id, "status": "closed"}), timeout=5)
    wait_for(lambda: any(e.type == "wave.scored" for e in published), timeout=10)
    alerts = [e for e in published if e.type == "relationship.alert"]
    assert any(a.payload["kind"] == "antagonistic" for a in alerts)
    # alerts are stored per account, outside the results document (which must stay < 16 MB)
    assert "alerts" not in results
    stored_alerts = [
        a
        for d in db.scores.find({"wave_id": world.wave_id, "kind": "account"})
        for a in d["alerts"]
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
    wait_for(lambda: scores.response_rows(db=db, wave_id=world.wave_id))
    closed = Event(
        WAVE_CLOSED,
        {"org_id": world.org_id, "wave_id": world.wave_id, "program_id": world.program_id},
    )
    rabbit_bus.publish(closed)
    first = wait_for(
        lambda: db.results.find_one({"wave_id": world.wave_id, "final": True}), timeout=10
    )
    wait_for(lambda: any(e.type == "wave.scored" for e in published))

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
    assert results == read_results(db, {"_id": stored["_id"]})["results"]
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


def _completed(db, wave_id):
    return list(db.responses.find({"wave_id": wave_id, "status": "completed"}))


def _big_wave_with_one_account_scored(db):
    """A wave treated as big, whose first buyer's completion was scored from its slice."""
    from services.scoring.worker import score_response
    from tests.conftest import isolated_settings

    world = make_wave(db, isolated_settings(), buyers=2, sellers=1)
    _as_a_big_wave(db, world.wave_id)
    client = survey_app(db, isolated_settings()).test_client()
    _submit(client, world.buyers[0], complete_answers(recommend=9, value=6))
    (response,) = _completed(db, world.wave_id)
    assert score_response(db=db, response_id=response["_id"], wave_id=world.wave_id)
    return world, client


def _as_a_big_wave(db, wave_id):
    """As if the wave had invited 100,000 people: completions get account slices."""
    db.waves.update_one({"_id": wave_id}, {"$set": {"invited_buyers": 100_000}})


def test_a_burst_of_completions_is_refreshed_once_then_a_later_one_again(db):
    from services.scoring.worker import refresh_provisional, score_response
    from shared.bus import InProcessBus
    from tests.conftest import isolated_settings

    world = make_wave(db, isolated_settings(), buyers=3, sellers=1)
    _as_a_big_wave(db, world.wave_id)
    client = survey_app(db, isolated_settings()).test_client()
    _submit(client, world.buyers[0], complete_answers(recommend=9, value=6))
    _submit(client, world.buyers[1], complete_answers(recommend=3, value=2))
    bus, heard = InProcessBus(isolated_settings()), []
    bus.consumer(ConsumerSpec("listener", ("scores.updated",), heard.append)).start()
    first, second = _completed(db, world.wave_id)
    assert score_response(db=db, response_id=first["_id"], wave_id=world.wave_id, bus=bus)
    # the same account's slice already included the second completion: not rescored
    assert not score_response(db=db, response_id=second["_id"], wave_id=world.wave_id, bus=bus)
    assert len(scores.response_rows(db=db, wave_id=world.wave_id)) == 2
    # but each completion is announced once its scores are stored
    wait_for(lambda: len(heard) == 2)
    assert {e.event_id for e in heard} == {f"scores-{first['_id']}", f"scores-{second['_id']}"}
    bus.close()
    assert db.scoring_state.find_one({"_id": world.wave_id})["stale"] is True
    assert db.results.find_one({"wave_id": world.wave_id}) is None  # accounts now, wave next

    assert refresh_provisional(db) == 1  # one recompute for the burst
    refreshed = db.results.find_one({"wave_id": world.wave_id})
    assert refreshed["results"]["n_buyers"] == 2
    assert db.scoring_state.find_one({"_id": world.wave_id})["stale"] is False
    assert refresh_provisional(db) == 0  # nothing stale: nothing recomputed
    assert db.results.find_one({"wave_id": world.wave_id})["as_of"] == refreshed["as_of"]

    _submit(client, world.buyers[2], complete_answers(recommend=7, value=4))
    latest = max(_completed(db, world.wave_id), key=lambda r: r["completed_at"])
    assert score_response(db=db, response_id=latest["_id"], wave_id=world.wave_id)
    assert db.scoring_state.find_one({"_id": world.wave_id})["stale"] is True
    assert refresh_provisional(db) == 1
    assert db.results.find_one({"wave_id": world.wave_id})["results"]["n_buyers"] == 3


def test_a_completion_marked_after_the_refresh_read_keeps_the_wave_stale(db):
    from datetime import UTC, datetime, timedelta

    from services.scoring.worker import mark_stale, refresh_provisional

    world, client = _big_wave_with_one_account_scored(db)
    # a completion observed after the refresh reads the wave (its mark lies in the future)
    later = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)  # BSON: ms
    db.scoring_state.update_one({"_id": world.wave_id}, {"$set": {"dirty_at": later}})
    mark_stale(db, world.wave_id, world.org_id)  # an earlier mark never lowers it
    assert db.scoring_state.find_one({"_id": world.wave_id})["dirty_at"] == later

    assert refresh_provisional(db) == 1
    stored = db.results.find_one({"wave_id": world.wave_id})
    assert stored["results"]["n_buyers"] == 1
    state = db.scoring_state.find_one({"_id": world.wave_id})
    assert state["stale"] is True and "refresh_until" not in state  # refreshed again next pass


def test_a_wave_claimed_by_another_refresh_is_left_to_it(db):
    from datetime import UTC, datetime, timedelta

    from services.scoring.worker import refresh_provisional

    world, client = _big_wave_with_one_account_scored(db)
    leased = datetime.now(UTC) + timedelta(minutes=1)
    db.scoring_state.update_one({"_id": world.wave_id}, {"$set": {"refresh_until": leased}})
    assert refresh_provisional(db) == 0
    assert db.results.find_one({"wave_id": world.wave_id}) is None
    # the lease of a refresh that died runs out: the next pass takes the wave
    db.scoring_state.update_one(
        {"_id": world.wave_id},
        {"$set": {"refresh_until": datetime.now(UTC) - timedelta(seconds=1)}},
    )
    assert refresh_provisional(db) == 1


def test_each_account_scored_from_its_slice_equals_the_whole_wave(db):
    from services.scoring import engine
    from services.scoring.worker import load_wave, score_response
    from tests.conftest import isolated_settings
    from tests.support.naive import differences

    world = make_wave(
        db, isolated_settings(), buyers=6, sellers=2, accounts=3, every_seller_for_every_buyer=False
    )
    _as_a_big_wave(db, world.wave_id)
    client = survey_app(db, isolated_settings()).test_client()
    for n, buyer in enumerate(world.buyers[:5]):
        _submit(client, buyer, complete_answers(recommend=10 - n, value=7 - n))
    for s, seller in enumerate(world.sellers):
        for subject_id in seller.subject_ids[:2]:
            response = client.post(
                f"/api/v1/respond/{seller.token}/subjects/{subject_id}/submit",
                json={"answers": complete_answers(recommend=9, value=6 - s)},
            )
            assert response.status_code == 200
    for response in _completed(db, world.wave_id):
        score_response(db=db, response_id=response["_id"], wave_id=world.wave_id)

    loaded = load_wave(db, world.wave_id)
    whole = engine.score_wave(loaded.input, loaded.settings)
    stored = {d["key"]: d for d in db.scores.find({"wave_id": world.wave_id, "kind": "account"})}
    assert len(stored) == 3
    for external_id, document in stored.items():
        expected = engine.account_to_json(whole, external_id)
        account = document["account"]
        # every figure of the account; coaching ranks over the slice until the close
        assert account.pop("coaching") is not None and expected.pop("coaching") is not None
        assert differences(account, expected) == [], external_id
    responses = {d["key"]: d for d in scores.response_rows(db=db, wave_id=world.wave_id)}
    assert len(responses) == len(_completed(db, world.wave_id))


def test_provisional_scores_never_replace_final_or_later_ones(db):
    from datetime import UTC, datetime, timedelta

    from services.scoring import engine
    from services.scoring.worker import load_wave, write_account_scores

    world, client = _big_wave_with_one_account_scored(db)
    newer = db.scores.find_one({"wave_id": world.wave_id, "kind": "account"})

    # a slice read before the stored one (a slower worker) keeps the stored account
    _submit(client, world.buyers[1], complete_answers(recommend=2, value=1))
    loaded = load_wave(db, world.wave_id)
    older = newer["as_of"] - timedelta(seconds=5)
    result = engine.score_wave(loaded.input, loaded.settings)
    assert write_account_scores(db, loaded, result, as_of=older) is False
    kept = db.scores.find_one({"_id": newer["_id"]})
    assert kept["as_of"] == newer["as_of"] and kept["account"] == newer["account"]

    # final documents are never replaced by a provisional write, however late
    db.scores.update_many({"wave_id": world.wave_id}, {"$set": {"final": True}})
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert write_account_scores(db, loaded, result, as_of=later) is False
    assert db.scores.find_one({"_id": newer["_id"]})["account"] == newer["account"]


def test_a_small_wave_is_recomputed_whole_on_each_completion(db):
    from services.scoring.worker import score_response
    from tests.conftest import isolated_settings

    world = make_wave(db, isolated_settings(), buyers=3, sellers=1, accounts=3)
    client = survey_app(db, isolated_settings()).test_client()
    _submit(client, world.buyers[0], complete_answers(recommend=9, value=6))
    (first,) = _completed(db, world.wave_id)
    # a wave of 4 invitations: the completion recomputes all of it, results included
    assert score_response(db=db, response_id=first["_id"], wave_id=world.wave_id)
    assert db.results.find_one({"wave_id": world.wave_id})["results"]["n_buyers"] == 1
    state = db.scoring_state.find_one({"_id": world.wave_id})
    assert state["recompute_s"] > 0 and state["stale"] is False

    _submit(client, world.buyers[1], complete_answers(recommend=3, value=2))
    second = next(r for r in _completed(db, world.wave_id) if r["_id"] != first["_id"])
    assert score_response(db=db, response_id=second["_id"], wave_id=world.wave_id)
    # no refresh pass in between: the wave's results already count the second buyer
    assert db.results.find_one({"wave_id": world.wave_id})["results"]["n_buyers"] == 2
    accounts = {d["key"] for d in db.scores.find({"wave_id": world.wave_id, "kind": "account"})}
    assert len(accounts) == 2  # the first buyer's account and the second's
    (scored,) = [
        r for r in scores.response_rows(db=db, wave_id=world.wave_id) if r["key"] == second["_id"]
    ]
    assert scored["nps_category"] == "detractor"


def test_the_whole_wave_limit_is_the_consumers_setting(db):
    from shared.bus import InProcessBus
    from shared.events import RESPONSE_COMPLETED
    from tests.conftest import isolated_settings

    world = make_wave(db, isolated_settings(), buyers=3, sellers=1, accounts=3)
    client = survey_app(db, isolated_settings()).test_client()
    _submit(client, world.buyers[0], complete_answers(recommend=9, value=6))
    (first,) = _completed(db, world.wave_id)
    # what the launch records for 3 buyers and 1 seller
    db.waves.update_one(
        {"_id": world.wave_id}, {"$set": {"invited_buyers": 3, "invited_sellers": 1}}
    )
    # RAPPORT_WHOLE_WAVE_MAX_INVITED=3: this wave of 4 invitations gets account slices
    settings = isolated_settings(whole_wave_max_invited=3)
    container = build(settings, db=db, bus=InProcessBus(settings))
    (spec,) = consumer_specs(container)
    payload = {"response_id": first["_id"], "wave_id": world.wave_id, "org_id": world.org_id}
    spec.handler(Event(RESPONSE_COMPLETED, payload))
    assert db.scores.count_documents({"wave_id": world.wave_id, "kind": "account"}) == 1
    assert db.results.find_one({"wave_id": world.wave_id}) is None  # left to the refresh
    assert db.scoring_state.find_one({"_id": world.wave_id})["stale"] is True


def test_the_ranked_account_list_is_stored_in_chunks_and_read_back_in_order(db, monkeypatch):
    from services.scoring import engine
    from services.scoring.worker import close_wave, load_wave
    from services.survey.results import wave_results
    from shared.bus import InProcessBus
    from shared.store import results as stored_results
    from tests.conftest import isolated_settings

    monkeypatch.setattr(stored_results, "RANKING_CHUNK", 2)  # 5 accounts: chunks of 2, 2, 1
    world = make_wave(db, isolated_settings(), buyers=5, sellers=1, accounts=5)
    client = survey_app(db, isolated_settings()).test_client()
    for n, buyer in enumerate(world.buyers):
        _submit(client, buyer, complete_answers(recommend=10 - 2 * n, value=7 - n))
    bus = InProcessBus(isolated_settings())
    bus.consumer(ConsumerSpec("sink", ("#",), lambda event: None)).start()
    close_wave(db=db, bus=bus, wave_id=world.wave_id)
    bus.close()

    stored = db.results.find_one({"wave_id": world.wave_id})
    assert stored["ranking_chunks"] == 3 and "accounts" not in stored["results"]
    chunks = db.scores.count_documents({"wave_id": world.wave_id, "kind": "ranking"})
    assert chunks == 3
    served = wave_results(db=db, org_id=world.org_id, wave_id=world.wave_id)
    loaded = load_wave(db, world.wave_id)
    expected = engine.wave_result_to_json(engine.score_wave(loaded.input, loaded.settings))
    assert [a["external_id"] for a in served["accounts"]] == [
        a["external_id"] for a in expected["accounts"]
    ]
    assert len(served["accounts"]) == 5


def test_closing_a_wave_alerts_on_a_decision_maker_who_never_answered(db):
    settings = isolated_settings()
    # buyers 1 and 4 are decision makers (roster_rows): buyer 4 never answers
    world = make_wave(db, settings, buyers=4, sellers=1)
    client = survey_app(db, settings).test_client()
    for buyer in world.buyers[:3]:
        _submit(client, buyer, complete_answers(recommend=8, value=5))
    bus = InProcessBus(settings, declare={"everything": ("#",)})
    close_wave(db=db, bus=bus, org_id=world.org_id, wave_id=world.wave_id)

    result = score_closed_wave(db=db, bus=bus, wave_id=world.wave_id)

    silent = [(a.reason, a.contact_key) for a in result.alerts]
    assert silent == [("silent_decision_maker", world.buyers[3].email)]
    stored = [
        a
        for d in db.scores.find({"wave_id": world.wave_id, "kind": "account"})
        for a in d["alerts"]
    ]
    assert [(a["reason"], a["contact_key"]) for a in stored] == silent
