"""Results before anything is scored: the survey service answers them with no scoring engine,
and what it answers is what the engine computes for a wave nobody has answered."""

from __future__ import annotations

from services.scoring import engine
from services.scoring.worker import load_wave
from services.survey.organisations import create_api_key
from tests.conftest import isolated_settings
from tests.support.survey_fixtures import make_wave, survey_app


def _get(client, path, key):
    response = client.get(path, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_results_of_a_wave_nobody_answered_are_what_the_engine_computes(db):
    world = make_wave(db, isolated_settings(), buyers=4, sellers=2, accounts=3)
    client = survey_app(db, isolated_settings()).test_client()
    key = create_api_key(db=db, org_id=world.org_id)

    served = _get(client, f"/api/v1/waves/{world.wave_id}/results", key)

    loaded = load_wave(db, world.wave_id)
    expected = engine.wave_result_to_json(
        engine.score_wave(loaded.input, loaded.settings),
        wave_id=world.wave_id,
        status="open",
        final=False,
    )
    # nothing ranks accounts nobody answered: the same accounts and sellers, in any order
    by_id = lambda accounts: sorted(accounts, key=lambda a: a["external_id"])  # noqa: E731
    assert by_id(served.pop("accounts")) == by_id(expected.pop("accounts"))
    by_email = lambda sellers: sorted(sellers, key=lambda s: s["email"])  # noqa: E731
    assert by_email(served.pop("sellers")) == by_email(expected.pop("sellers"))
    assert len(loaded.input.account_external_id) == 3
    assert served == expected


def test_an_account_nobody_answered_lists_its_people_as_the_engine_does(db):
    world = make_wave(db, isolated_settings(), buyers=3, sellers=2, accounts=2)
    client = survey_app(db, isolated_settings()).test_client()
    key = create_api_key(db=db, org_id=world.org_id)
    loaded = load_wave(db, world.wave_id)
    result = engine.score_wave(loaded.input, loaded.settings)

    for external_id in loaded.input.account_external_id.tolist():
        served = _get(client, f"/api/v1/waves/{world.wave_id}/accounts/{external_id}", key)
        expected = engine.account_to_json(result, external_id)
        # the survey adds each contact's own words (none yet) to the engine's document
        for contact in served["contacts"]:
            assert contact.pop("comments") == {"start": None, "stop": None, "continue": None}
            assert contact.pop("seller_comments") == []
        for contact in expected["contacts"]:
            assert contact.pop("comments") is None  # nobody said anything yet
        assert served == expected

    missing = client.get(
        f"/api/v1/waves/{world.wave_id}/accounts/NOPE", headers={"Authorization": f"Bearer {key}"}
    )
    assert missing.status_code == 404
