"""A pulse wave from launch to scored results: the program setting, the short pages for a
buyer and a seller, the API's questionnaire, and results with k = 1 and alpha null."""

from __future__ import annotations

import re

import pytest

from services.survey.organisations import create_api_key
from tests.conftest import isolated_settings
from tests.support.survey_fixtures import close, csrf_token, make_wave, survey_app

PULSE_ITEMS = [
    "trust.1",
    "competence.1",
    "recognition.1",
    "proactivity.1",
    "responsiveness.1",
    "commitment.1",
    "recommend",
    "satisfaction",
    "comment.start",
]


@pytest.fixture
def settings():
    return isolated_settings()


@pytest.fixture
def client(db, settings):
    return survey_app(db, settings).test_client()


def _text(response) -> str:
    return response.get_data(as_text=True)


def _answer_pages(client, start_url: str, fill) -> int:
    """Follow the pages from `start_url`, answering each with `fill(html)`; the page count."""
    url, pages = start_url, 0
    while True:
        page = client.get(url)
        assert page.status_code == 200, (url, page.status_code)
        pages += 1
        html = _text(page)
        sent = client.post(
            url, data={"csrf_token": csrf_token(html), **fill(html), "action": "next"}
        )
        assert sent.status_code == 303, (url, sent.status_code, html[:300])
        url = sent.headers["Location"]
        if url.endswith("/done"):
            return pages


def _buyer_fill(html: str) -> dict[str, str]:
    names = dict.fromkeys(re.findall(r'type="radio" name="([^"]+)"', html))
    data = {n: ("9" if n == "recommend" else "6") for n in names}
    if 'name="comment.start"' in html:
        data["comment.start"] = "Keep the quarterly visits."
    return data


def test_the_program_setting_is_validated(db, settings, client):
    world = make_wave(db, settings, buyers=1)
    key = create_api_key(db=db, org_id=world.org_id)
    response = client.patch(
        f"/api/v1/programs/{world.program_id}",
        json={"settings": {"questionnaire": "short"}},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 400
    assert "questionnaire" in str(response.get_json()["error"]["details"])


def test_a_pulse_wave_from_launch_to_scored_results(db, settings, client):
    world = make_wave(db, settings, buyers=12, sellers=1, accounts=3, questionnaire="pulse")
    buyer = world.buyers[0]
    api = client.get(f"/api/v1/respond/{buyer.token}").get_json()
    assert api["questionnaire"]["kind"] == "pulse"
    assert [i["id"] for i in api["questionnaire"]["items"]] == PULSE_ITEMS
    # an item outside the pulse questionnaire is refused, naming it
    refused = client.put(
        f"/api/v1/respond/{buyer.token}/subjects/{buyer.subject_ids[0]}",
        json={"answers": {"trust.2": 5}},
    )
    assert refused.status_code == 400 and "trust.2" in refused.get_json()["error"]["details"]

    welcome = _text(client.get(f"/s/{buyer.token}"))
    assert "It takes about a minute" in welcome
    assert "at least 1 of the 1 statements on 4 of the 6 topics" in welcome
    for person in world.buyers:
        pages = _answer_pages(
            client, f"/s/{person.token}/q/{person.subject_ids[0]}/trust", _buyer_fill
        )
        assert pages == 3  # the topics, recommend with satisfaction and the open question, review
    saved = db.responses.find_one({"invitation_id": buyer.invitation_id})
    assert set(saved["answers"]) == set(PULSE_ITEMS)

    seller = world.sellers[0]
    grid_pages = _answer_pages(client, f"/s/{seller.token}/grid/topics", _buyer_fill)
    assert grid_pages == 3  # the six topics, recommend and satisfaction, submit
    completed = db.responses.count_documents({"wave_id": world.wave_id, "status": "completed"})
    assert completed == 24

    close(db, settings, world)
    key = create_api_key(db=db, org_id=world.org_id)
    results = client.get(
        f"/api/v1/waves/{world.wave_id}/results", headers={"Authorization": f"Bearer {key}"}
    ).get_json()
    assert results["final"] is True
    assert results["relationship_index"]["value"] == pytest.approx(5 / 6 * 100)
    assert results["relationship_index"]["n"] == 12
    for name, dimension in results["dimensions"].items():
        assert dimension["buyer"] == pytest.approx(5 / 6 * 100), name
        assert dimension["alpha"] is None
        assert dimension["alpha_reason"].startswith("pulse wave")
