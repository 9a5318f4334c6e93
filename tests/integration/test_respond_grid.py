"""The seller grid without a browser: page count, saving every row, resume, what is missing,
one completion per buyer, and the one-buyer-at-a-time flow still there."""

from __future__ import annotations

import re

import pytest

from services.survey.respond import grid
from shared.questionnaire import load_bank
from tests.conftest import isolated_settings
from tests.support.survey_fixtures import csrf_token, make_wave, survey_app


@pytest.fixture
def settings():
    return isolated_settings()


@pytest.fixture
def client(db, settings):
    return survey_app(db, settings).test_client()


def _text(response) -> str:
    return response.get_data(as_text=True)


def _rows(html: str) -> list[str]:
    """The subject ids of the rows a grid page asks about (open buyers only)."""
    return list(dict.fromkeys(re.findall(r'name="([^"/]+)/[^"]+" value=', html)))


def _fill(html: str, value: str = "6") -> dict[str, str]:
    """Every radio group of a grid page answered with `value` (recommend with 8)."""
    names = dict.fromkeys(re.findall(r'name="([^"]+/[^"]+)" value=', html))
    return {n: ("8" if n.endswith("/recommend") else value) for n in names}


class Walk:
    """A seller going through the grid in a test client, counting the pages they see."""

    def __init__(self, client, token: str) -> None:
        self.client, self.token, self.loads = client, token, 0

    def get(self, url: str):
        response = self.client.get(url)
        while response.status_code == 303:
            response = self.client.get(response.headers["Location"])
        assert response.status_code == 200, (url, response.status_code)
        self.loads += 1
        return response, url if not response.request else response.request.path

    def post(self, url: str, html: str, data: dict[str, str]):
        return self.client.post(url, data={"csrf_token": csrf_token(html), **data})


def _walk_grid(client, token: str, *, stop_after: int | None = None) -> Walk:
    walk = Walk(client, token)
    page, _ = walk.get(f"/s/{token}")
    start = re.search(r'class="button primary" href="([^"]+)"', _text(page)).group(1)
    assert start == f"/s/{token}/grid"
    response, path = walk.get(start)
    posted = 0
    while True:
        html = _text(response)
        path = response.request.path
        if path.endswith("/done"):
            return walk
        if stop_after is not None and posted == stop_after:
            return walk
        data = _fill(html) if not path.endswith("/submit") else {}
        sent = walk.post(path, html, {**data, "action": "next"})
        assert sent.status_code == 303, (path, sent.status_code, _text(sent)[:500])
        posted += 1
        response, _ = walk.get(sent.headers["Location"])


def test_a_seller_with_8_buyers_finishes_the_grid_in_at_most_10_pages(db, settings, client):
    world = make_wave(db, settings, buyers=8, sellers=1)
    seller = world.sellers[0]
    walk = _walk_grid(client, seller.token)
    assert walk.loads <= 10
    responses = list(db.responses.find({"invitation_id": seller.invitation_id}))
    assert len(responses) == 8
    assert all(r["status"] == "completed" for r in responses)
    events = [e for r in responses for e in r["outbox"] if e["type"] == "response.completed"]
    assert len(events) == 8 and len({e["event_id"] for e in events}) == 8
    assert {e["payload"]["subject_id"] for e in events} == set(seller.subject_ids)
    expected = {f"{d}.{n}": 6 for d in load_bank().dimensions for n in (1, 2, 3)}
    assert responses[0]["answers"] == {**expected, "recommend": 8, "satisfaction": 6}


@pytest.mark.parametrize("buyers", [3, 14])
def test_the_page_count_does_not_grow_with_the_number_of_buyers(db, settings, client, buyers):
    world = make_wave(db, settings, buyers=buyers, sellers=1)
    walk = _walk_grid(client, world.sellers[0].token)
    assert walk.loads == len(grid.grid_pages()) + 2 <= 10  # welcome, grid pages, thanks


def test_leaving_mid_way_resumes_on_the_next_page_with_the_rows_saved(db, settings, client):
    world = make_wave(db, settings, buyers=4, sellers=1)
    seller = world.sellers[0]
    _walk_grid(client, seller.token, stop_after=3)
    fresh = client.application.test_client()
    first = fresh.get(f"/s/{seller.token}")
    assert first.headers["Location"].endswith(f"/s/{seller.token}/grid")
    second = fresh.get(first.headers["Location"])
    assert second.headers["Location"].endswith(f"/grid/{load_bank().dimensions[3]}")
    html = _text(fresh.get(f"/s/{seller.token}/grid/trust"))
    assert len(re.findall(r'value="6" checked', html)) == 4 * 3
    statuses = {r["status"] for r in db.responses.find({"invitation_id": seller.invitation_id})}
    assert statuses == {"in_progress"}


def test_each_row_shows_what_is_still_missing(db, settings, client):
    world = make_wave(db, settings, buyers=3, sellers=1, buyer_names=["Ada Lim"])
    seller = world.sellers[0]
    url = f"/s/{seller.token}/grid/trust"
    html = _text(client.get(url))
    rows = _rows(html)
    assert len(rows) == 3
    only_first = {k: v for k, v in _fill(html).items() if k.startswith(rows[0] + "/")}
    client.post(url, data={"csrf_token": csrf_token(html), **only_first, "action": "next"})
    html = _text(client.get(url))
    assert "Still needed: Competence, Recognition, Proactivity" in html
    assert "Still needed: Trust, Competence" in html
    submit = _text(client.get(f"/s/{seller.token}/grid/submit"))
    assert "No buyer contact is ready to submit yet." in submit
    assert f'href="/s/{seller.token}/grid/ratings"' in submit


def test_a_wrong_value_shows_the_page_again_and_saves_no_row(db, settings, client):
    world = make_wave(db, settings, buyers=3, sellers=1)
    seller = world.sellers[0]
    url = f"/s/{seller.token}/grid/trust"
    html = _text(client.get(url))
    data = _fill(html)
    data[f"{_rows(html)[1]}/trust.2"] = "9"
    response = client.post(url, data={"csrf_token": csrf_token(html), **data, "action": "next"})
    assert response.status_code == 400
    assert "Choose one of the options." in _text(response)
    assert db.responses.count_documents({"invitation_id": seller.invitation_id}) == 0


def test_only_ready_buyers_are_submitted_and_the_others_stay_open(db, settings, client):
    world = make_wave(db, settings, buyers=3, sellers=1)
    seller = world.sellers[0]
    for page in grid.grid_pages()[:-1]:
        url = f"/s/{seller.token}/grid/{page}"
        html = _text(client.get(url))
        keep = _rows(html)[:2]
        data = {k: v for k, v in _fill(html).items() if k.split("/")[0] in keep}
        client.post(url, data={"csrf_token": csrf_token(html), **data, "action": "next"})
    url = f"/s/{seller.token}/grid/submit"
    html = _text(client.get(url))
    assert "Submit the 2 ready buyer contacts" in html
    sent = client.post(url, data={"csrf_token": csrf_token(html)})
    assert sent.headers["Location"].endswith("/grid/submit?submitted=2")
    done = {
        r["subject_id"]: r["status"]
        for r in db.responses.find({"invitation_id": seller.invitation_id})
    }
    assert sorted(done.values()) == ["completed", "completed"]
    assert "2 buyer contacts submitted." in _text(client.get(sent.headers["Location"]))


def test_one_buyer_at_a_time_stays_available_and_two_buyers_keep_it(db, settings, client):
    world = make_wave(db, settings, buyers=3, sellers=1)
    html = _text(client.get(f"/s/{world.sellers[0].token}"))
    assert f'href="/s/{world.sellers[0].token}/buyers"' in html
    pair = make_wave(db, settings, buyers=2, sellers=1, company_name="Other Co")
    html = _text(client.get(f"/s/{pair.sellers[0].token}"))
    assert f'href="/s/{pair.sellers[0].token}/buyers"' in html
    assert "/grid" not in html


def test_a_buyer_link_has_no_grid(db, settings, client):
    world = make_wave(db, settings, buyers=3, sellers=1)
    assert client.get(f"/s/{world.buyers[0].token}/grid/trust").status_code == 404


def test_every_grid_page_carries_the_branding(db, settings, client):
    from services.survey.organisations import update_branding

    world = make_wave(db, settings, buyers=3, sellers=1)
    update_branding(
        db=db,
        org_id=world.org_id,
        changes={
            "accent_color": "#c8102e",
            "privacy_url": "https://northwind.example/privacy",
            "contact_name": "Dana Lee",
            "contact_email": "dana@northwind.example",
        },
    )
    token = world.sellers[0].token
    for page in grid.grid_pages():
        html = _text(client.get(f"/s/{token}/grid/{page}"))
        assert "--brand: #c8102e" in html, page
        assert 'href="https://northwind.example/privacy"' in html, page
        assert "Write to Dana Lee at dana@northwind.example." in html, page
        assert "Northwind Supplies" in html, page
