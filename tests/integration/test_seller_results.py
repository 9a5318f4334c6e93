"""`GET /api/v1/waves/{wave_id}/sellers/{email}` (API.md 1.1): one seller's relationships,
coaching plan and accuracy, read from what the scoring worker stored at close."""

from __future__ import annotations

import pytest

from services.scoring.worker import score_response
from services.survey.organisations import create_api_key
from shared.store import responses
from tests.conftest import isolated_settings
from tests.support.survey_fixtures import close, complete_answers, make_wave, survey_app

SELLER = "seller1@northwind.example"


def _submit(client, person, subject_id: str, value: int) -> None:
    submitted = client.post(
        f"/api/v1/respond/{person.token}/subjects/{subject_id}/submit",
        json={"answers": complete_answers(recommend=9, value=value)},
    )
    assert submitted.status_code == 200, submitted.get_json()


@pytest.fixture
def closed_wave(db):
    """Two buyers of one account, two sellers on both: buyer 1 answers 4s, seller 1 answers 6s
    about both buyers, buyer 2 and seller 2 never answer; then the wave closes and is scored."""
    settings = isolated_settings()
    world = make_wave(db, settings, buyers=2, sellers=2, accounts=1)
    client = survey_app(db, settings).test_client()
    buyer = world.buyers[0]
    _submit(client, buyer, buyer.subject_ids[0], value=4)
    seller = next(s for s in world.sellers if s.email == SELLER)
    for subject_id in seller.subject_ids:
        _submit(client, seller, subject_id, value=6)
    close(db, settings, world)
    return world, client, create_api_key(db=db, org_id=world.org_id)


def _get(client, path: str, key: str):
    return client.get(path, headers={"Authorization": f"Bearer {key}"})


def test_seller_view_gives_accuracy_relationships_with_gaps_and_the_final_plan(closed_wave):
    world, client, key = closed_wave
    base = f"/api/v1/waves/{world.wave_id}"
    answer = _get(client, f"{base}/sellers/{SELLER}", key)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    seller = answer.get_json()
    results = _get(client, f"{base}/results", key).get_json()
    account = _get(client, f"{base}/accounts/A0001", key).get_json()

    # accuracy as the results list it: 6s against 4s is a gap of 33.3 on every dimension
    (listed,) = [s for s in results["sellers"] if s["email"] == SELLER]
    assert {k: seller[k] for k in listed} == listed
    assert seller["accuracy"] == pytest.approx(100 - 100 / 3)
    assert seller["n_pairs"] == 1
    assert (seller["n"], seller["low_n"]) == (1, True)  # one pair, under min_n 3
    assert seller["final"] is True and seller["status"] == "closed"

    answered, silent = sorted(seller["relationships"], key=lambda r: r["contact_email"])
    assert answered["contact_email"] == "buyer1@client1.example"
    assert answered["account_name"] == "Account 1" and answered["contact_name"] == "Buyer 1"
    assert answered["buyer_answered"] is True
    assert answered["buyer"]["relationship_index"] == pytest.approx(50.0)
    assert answered["seller"]["relationship_index"] == pytest.approx(250 / 3)
    assert answered["gap"] == pytest.approx(100 / 3)
    assert answered["gap_class"] == "blind_spot"
    assert list(answered["dimension_gaps"].values()) == [pytest.approx(100 / 3)] * 6
    # one pair on this contact: the pair's gap is the contact's in the account document
    (contact,) = [c for c in account["contacts"] if c["email"] == answered["contact_email"]]
    assert answered["gap"] == contact["gap"]

    assert silent["contact_email"] == "buyer2@client1.example"
    assert silent["buyer_answered"] is False and silent["buyer"] is None
    assert silent["gap"] is None and silent["gap_class"] is None
    assert silent["seller"]["relationship_index"] == pytest.approx(250 / 3)

    # the plan stored at close: three dimensions, each with the blind-spot behaviours
    assert len(seller["coaching"]["dimensions"]) == 3
    assert {d["gap_class"] for d in seller["coaching"]["dimensions"]} == {"blind_spot"}
    assert all(d["behaviours"] for d in seller["coaching"]["dimensions"])


def test_seller_view_lists_every_assigned_buyer_even_unanswered(closed_wave):
    # seller 2 never answered, about either buyer; buyer 1 answered, buyer 2 did not: both
    # buyers are listed, marked, the seller's side null, the buyer's view where there is one
    world, client, key = closed_wave
    (silent_seller,) = [s for s in world.sellers if s.email != SELLER]
    base = f"/api/v1/waves/{world.wave_id}"
    answer = _get(client, f"{base}/sellers/{silent_seller.email}", key)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["accuracy"] is None and (body["n"], body["low_n"]) == (0, True)
    one, two = sorted(body["relationships"], key=lambda r: r["contact_email"])
    assert [one["contact_email"], two["contact_email"]] == [
        "buyer1@client1.example",
        "buyer2@client1.example",
    ]
    for relationship in (one, two):
        assert relationship["seller_answered"] is False and relationship["seller"] is None
        assert relationship["gap"] is None and relationship["gap_class"] is None
        assert relationship["nps_gap"] is None and relationship["dimension_gaps"] is None
        assert relationship["account_external_id"] == "A0001"
        assert relationship["account_name"] == "Account 1"
    assert one["contact_name"] == "Buyer 1" and one["role"]
    assert one["buyer_answered"] is True
    assert one["buyer"]["relationship_index"] == pytest.approx(50.0)
    assert two["buyer_answered"] is False and two["buyer"] is None

    # the seller who answered has both buyers too, each marked as answered by the seller
    answered = _get(client, f"{base}/sellers/{SELLER}", key).get_json()["relationships"]
    assert [r["seller_answered"] for r in answered] == [True, True]


def test_seller_view_of_an_unknown_seller_or_another_organisations_wave_is_404(db, closed_wave):
    world, client, key = closed_wave
    unknown = _get(client, f"/api/v1/waves/{world.wave_id}/sellers/nobody@x.example", key)
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"]

    other = make_wave(db, isolated_settings(), company_name="Contoso")
    other_key = create_api_key(db=db, org_id=other.org_id)
    foreign = _get(client, f"/api/v1/waves/{world.wave_id}/sellers/{SELLER}", other_key)
    assert foreign.status_code == 404


def test_seller_view_before_close_has_no_plan_yet_but_the_answered_relationships(db):
    settings = isolated_settings()
    world = make_wave(db, settings, buyers=1, sellers=1, accounts=1)
    client = survey_app(db, settings).test_client()
    key = create_api_key(db=db, org_id=world.org_id)
    seller = world.sellers[0]
    _submit(client, seller, seller.subject_ids[0], value=5)
    (response,) = responses.of_invitation(
        db=db, org_id=world.org_id, wave_id=world.wave_id, invitation_id=seller.invitation_id
    )
    assert score_response(db=db, response_id=response["_id"], wave_id=world.wave_id)

    answer = _get(client, f"/api/v1/waves/{world.wave_id}/sellers/{SELLER}", key)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["final"] is False and body["coaching"] is None
    (relationship,) = body["relationships"]
    assert relationship["buyer_answered"] is False and relationship["seller_answered"] is True
    assert relationship["seller"]["relationship_index"] == pytest.approx(200 / 3)
