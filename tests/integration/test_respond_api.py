"""The respondent JSON API of API.md against a real pymongo connection: shape, saves, bad input."""

from __future__ import annotations

import pytest

from tests.conftest import isolated_settings
from tests.support.survey_fixtures import (
    close,
    complete_answers,
    make_wave,
    pass_the_closing_date,
    revoke,
    survey_app,
)


@pytest.fixture
def settings():
    return isolated_settings()


@pytest.fixture
def world(db, settings):
    return make_wave(db, settings, buyers=2, sellers=1)


@pytest.fixture
def app(db, settings):
    return survey_app(db, settings)


@pytest.fixture
def client(app):
    return app.test_client()


def _buyer(world):
    person = world.buyers[0]
    return person, f"/api/v1/respond/{person.token}", person.subject_ids[0]


def _error(response):
    body = response.get_json()
    assert set(body) == {"error"}, body
    return body["error"]


def test_get_describes_the_respondent_the_wave_and_the_questionnaire(client, world, db):
    person, base, subject_id = _buyer(world)
    response = client.get(base)
    assert response.status_code == 200
    body = response.get_json()
    assert body["side"] == "buyer"
    assert body["language"] == "en"
    assert body["wave"]["name"] == "Spring review"
    assert body["wave"]["closes_at"]
    assert body["respondent"] == {"name": "Buyer 1"}
    assert body["subjects"] == [
        {
            "subject_id": subject_id,
            "label": "Buyer 1, Account 1",
            "status": "not_started",
            "answers": {},
        }
    ]
    items = {item["id"]: item for item in body["questionnaire"]["items"]}
    assert items["trust.1"]["dimension"] == "trust"
    assert items["trust.1"]["text"] == "Northwind Supplies keeps its promises."
    assert items["trust.1"]["scale"]["min"] == 1 and items["trust.1"]["scale"]["max"] == 7
    assert items["recommend"]["scale"]["max"] == 10
    invitation = db.invitations.find_one({"_id": person.invitation_id})
    assert invitation["status"] == "opened" and invitation["opened_at"] is not None


def test_put_saves_the_given_answers_and_keeps_the_others(client, world, db):
    person, base, subject_id = _buyer(world)
    url = f"{base}/subjects/{subject_id}"
    first = client.put(url, json={"answers": {"trust.1": 6, "trust.2": None}})
    assert first.status_code == 200
    assert first.get_json()["status"] == "in_progress"
    second = client.put(url, json={"answers": {"trust.3": 2, "comment.start": "  More visits  "}})
    assert second.status_code == 200
    saved = client.get(base).get_json()["subjects"][0]
    assert saved["status"] == "in_progress"
    assert saved["answers"] == {
        "trust.1": 6,
        "trust.2": None,
        "trust.3": 2,
        "comment.start": "More visits",
    }
    response = db.responses.find_one({"invitation_id": person.invitation_id})
    assert response["side"] == "buyer"
    assert response["contact_id"] == person.contact_id
    assert response["account_id"] == person.account_id
    assert response["program_id"] == world.program_id
    assert response["org_id"] == world.org_id
    assert response["outbox"] == []
    assert "seller_email" not in response
    assert db.invitations.find_one({"_id": person.invitation_id})["status"] == "in_progress"


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"trust.1": 8}, "trust.1"),
        ({"trust.1": 0}, "trust.1"),
        ({"recommend": 11}, "recommend"),
        ({"competitor.trust": -3}, "competitor.trust"),
        ({"trust.1": 5.5}, "trust.1"),
        ({"trust.1": "6"}, "trust.1"),
        ({"trust.1": True}, "trust.1"),
        ({"trust.1": {"$gt": ""}}, "trust.1"),
        ({"comment.start": {"$ne": None}}, "comment.start"),
        ({"$where": "1 == 1"}, "$where"),
        ({"trust.9": 4}, "trust.9"),
        ({"moments": [{"touchpoint": "sales", "tag": "bored", "text": "x"}]}, "moments"),
    ],
)
def test_put_rejects_bad_values_naming_the_field_and_saves_nothing(
    client, world, db, answers, field
):
    person, base, subject_id = _buyer(world)
    response = client.put(
        f"{base}/subjects/{subject_id}", json={"answers": {"trust.2": 4, **answers}}
    )
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "validation_error"
    assert list(error["details"]) == [field]
    assert db.responses.count_documents({}) == 0


def test_put_rejects_fields_other_than_answers(client, world):
    _, base, subject_id = _buyer(world)
    response = client.put(
        f"{base}/subjects/{subject_id}", json={"answers": {}, "status": "completed"}
    )
    assert response.status_code == 400
    assert "status" in _error(response)["details"]


def test_put_without_answers_is_a_400_naming_answers(client, world):
    _, base, subject_id = _buyer(world)
    response = client.put(f"{base}/subjects/{subject_id}", json={"answers": [1, 2]})
    assert response.status_code == 400
    assert "answers" in _error(response)["details"]


def test_malformed_json_is_a_400(client, world):
    _, base, subject_id = _buyer(world)
    response = client.put(
        f"{base}/subjects/{subject_id}",
        data='{"answers": {"trust.1": 6',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert _error(response)["code"] in ("bad_request", "validation_error")


@pytest.mark.parametrize(
    ("method", "suffix"), [("put", ""), ("post", "/submit")], ids=["save", "submit"]
)
def test_a_body_that_is_not_json_is_a_415(client, world, method, suffix):
    _, base, subject_id = _buyer(world)
    response = getattr(client, method)(
        f"{base}/subjects/{subject_id}{suffix}",
        data="answers=trust.1:6",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert _error(response)["code"] == "unsupported_media_type"


def test_a_body_over_the_size_limit_is_a_413(db, settings, world):
    client = survey_app(db, settings, MAX_CONTENT_LENGTH=2000).test_client()
    _, base, subject_id = _buyer(world)
    response = client.put(
        f"{base}/subjects/{subject_id}", json={"answers": {"comment.start": "x" * 5000}}
    )
    assert response.status_code == 413


def test_submit_without_recommend_is_a_400_naming_it(client, world, db):
    person, base, subject_id = _buyer(world)
    answers = complete_answers()
    del answers["recommend"]
    response = client.post(f"{base}/subjects/{subject_id}/submit", json={"answers": answers})
    assert response.status_code == 400
    assert list(_error(response)["details"]) == ["recommend"]
    assert db.responses.count_documents({"status": "completed"}) == 0


def test_submit_with_too_few_dimensions_is_a_400_naming_dimensions(client, world):
    _, base, subject_id = _buyer(world)
    answers = {"recommend": 8, "trust.1": 5, "trust.2": 5, "competence.1": 4}
    response = client.post(f"{base}/subjects/{subject_id}/submit", json={"answers": answers})
    assert response.status_code == 400
    assert "dimensions" in _error(response)["details"]


def test_submit_completes_once_and_a_second_submit_is_a_409(client, world, db):
    person, base, subject_id = _buyer(world)
    url = f"{base}/subjects/{subject_id}/submit"
    first = client.post(url, json={"answers": complete_answers()})
    assert first.status_code == 200
    assert first.get_json()["status"] == "completed"
    second = client.post(url)
    assert second.status_code == 409
    assert _error(second)["code"] == "conflict"
    late_save = client.put(f"{base}/subjects/{subject_id}", json={"answers": {"trust.1": 1}})
    assert late_save.status_code == 409
    response = db.responses.find_one({"invitation_id": person.invitation_id})
    assert response["status"] == "completed"
    assert response["answers"]["trust.1"] == 6
    assert len(response["outbox"]) == 1
    invitation = db.invitations.find_one({"_id": person.invitation_id})
    assert invitation["status"] == "completed" and invitation["completed_at"] is not None


def test_submit_with_no_body_uses_what_was_saved(client, world):
    _, base, subject_id = _buyer(world)
    client.put(f"{base}/subjects/{subject_id}", json={"answers": complete_answers()})
    response = client.post(f"{base}/subjects/{subject_id}/submit")
    assert response.status_code == 200
    assert client.get(base).get_json()["subjects"][0]["status"] == "completed"


def test_completion_records_the_event_in_the_response_and_publishes_it(db, settings, world):
    from shared.bus import InProcessBus

    bus = InProcessBus(settings, declare={"scoring": ("response.completed",)})
    client = survey_app(db, settings, bus=bus).test_client()
    person, base, subject_id = _buyer(world)
    client.post(f"{base}/subjects/{subject_id}/submit", json={"answers": complete_answers()})
    response = db.responses.find_one({"invitation_id": person.invitation_id})
    (entry,) = response["outbox"]
    assert entry["type"] == "response.completed"
    assert entry["status"] == "sent" and entry["sent_at"] is not None
    assert entry["payload"] == {
        "org_id": world.org_id,
        "wave_id": world.wave_id,
        "response_id": response["_id"],
        "invitation_id": person.invitation_id,
        "subject_id": subject_id,
        "side": "buyer",
        "contact_id": person.contact_id,
    }
    body, _ = bus._queues["scoring"].get_nowait()
    from shared.events import Event

    event = Event.from_json(body)
    assert event.event_id == entry["event_id"]
    assert event.payload == entry["payload"]


@pytest.mark.parametrize(
    "change",
    [
        lambda db, settings, world: close(db, settings, world),
        lambda db, settings, world: close(db, settings, world, scored=False),
        lambda db, settings, world: pass_the_closing_date(db, world),
    ],
    ids=["closed", "closing", "past-closes_at"],
)
def test_a_closed_wave_is_a_410_for_every_call(client, world, db, settings, change):
    _, base, subject_id = _buyer(world)
    change(db, settings, world)
    assert client.get(base).status_code == 410
    save = client.put(f"{base}/subjects/{subject_id}", json={"answers": {"trust.1": 4}})
    assert save.status_code == 410
    submit = client.post(
        f"{base}/subjects/{subject_id}/submit", json={"answers": complete_answers()}
    )
    assert submit.status_code == 410
    assert _error(submit)["code"] == "gone"
    assert db.responses.count_documents({}) == 0


def test_wrong_tampered_and_revoked_tokens_are_the_same_404(client, world, db):
    person, base, subject_id = _buyer(world)
    tampered = person.token[:-2] + ("AA" if not person.token.endswith("AA") else "BB")
    revoke(db, world.buyers[1].invitation_id)
    answers = []
    for token in ("not-a-token", tampered, world.buyers[1].token):
        response = client.get(f"/api/v1/respond/{token}")
        assert response.status_code == 404
        answers.append(_error(response))
        put = client.put(
            f"/api/v1/respond/{token}/subjects/{subject_id}", json={"answers": {"trust.1": 4}}
        )
        assert put.status_code == 404
    assert all(a == answers[0] for a in answers)
    assert answers[0]["message"] == "link not valid"
    assert answers[0]["details"] == {}


def test_a_subject_of_someone_else_is_a_404(client, world):
    _, base, _ = _buyer(world)
    other_subject = world.buyers[1].subject_ids[0]
    response = client.put(f"{base}/subjects/{other_subject}", json={"answers": {"trust.1": 4}})
    assert response.status_code == 404
    submit = client.post(f"{base}/subjects/nope/submit", json={"answers": complete_answers()})
    assert submit.status_code == 404


def test_a_seller_answers_each_buyer_and_completes_after_the_last(client, world, db):
    seller = world.sellers[0]
    base = f"/api/v1/respond/{seller.token}"
    body = client.get(base).get_json()
    assert body["side"] == "seller"
    assert [s["label"] for s in body["subjects"]] == [
        "Buyer 1, Account 1",
        "Buyer 2, Account 1",
    ]
    first, second = seller.subject_ids
    assert (
        client.post(
            f"{base}/subjects/{first}/submit", json={"answers": complete_answers()}
        ).status_code
        == 200
    )
    assert db.invitations.find_one({"_id": seller.invitation_id})["status"] == "in_progress"
    assert (
        client.post(
            f"{base}/subjects/{second}/submit", json={"answers": complete_answers(recommend=3)}
        ).status_code
        == 200
    )
    assert db.invitations.find_one({"_id": seller.invitation_id})["status"] == "completed"
    responses = list(db.responses.find({"invitation_id": seller.invitation_id}))
    assert {r["seller_email"] for r in responses} == {seller.email}
    assert {r["side"] for r in responses} == {"seller"}
    assert {r["contact_id"] for r in responses} == {first, second}


def test_the_openapi_document_lists_the_respondent_api(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/respond/{token}" in paths
    assert "put" in paths["/api/v1/respond/{token}/subjects/{subject_id}"]
    assert "post" in paths["/api/v1/respond/{token}/subjects/{subject_id}/submit"]


def test_a_submit_that_is_not_complete_yet_keeps_the_answers_it_sent(client, world, db):
    person, base, subject_id = _buyer(world)
    answers = complete_answers()
    del answers["recommend"]
    response = client.post(f"{base}/subjects/{subject_id}/submit", json={"answers": answers})
    assert response.status_code == 400
    saved = client.get(base).get_json()["subjects"][0]
    assert saved["status"] == "in_progress"
    assert saved["answers"]["trust.1"] == answers["trust.1"]
    stored = db.responses.find_one({"invitation_id": person.invitation_id})
    assert stored["status"] == "in_progress" and stored.get("outbox", []) == []
    # adding the missing answer then completes it
    done = client.post(f"{base}/subjects/{subject_id}/submit", json={"answers": {"recommend": 9}})
    assert done.status_code == 200 and done.get_json()["status"] == "completed"


def test_a_seller_gets_the_mirrored_wording_naming_each_buyer(client, world):
    seller = world.sellers[0]
    document = client.get(f"/api/v1/respond/{seller.token}").get_json()
    assert document["side"] == "seller" and len(document["subjects"]) == 2
    for subject, buyer in zip(document["subjects"], world.buyers, strict=True):
        texts = subject["texts"]
        assert set(texts) == {item["id"] for item in document["questionnaire"]["items"]}
        assert buyer.name in texts["trust.1"]
        other = next(b for b in world.buyers if b is not buyer)
        assert other.name not in texts["trust.1"]


def test_a_buyer_document_has_no_per_subject_wording(client, world):
    buyer = world.buyers[0]
    document = client.get(f"/api/v1/respond/{buyer.token}").get_json()
    assert "texts" not in document["subjects"][0]
