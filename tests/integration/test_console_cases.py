"""The console's close-the-loop pages with the Flask test client: a wave's cases with filters
and the share closed in time, one case with its history and change form, the email's signed
link, and who may see or change what (a seller only their own, a viewer reads, another
organisation gets a 404)."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from markupsafe import escape

from services.survey.admin.cases import list_cases
from services.survey.console.people import create_user
from services.survey.organisations import ensure_organisation
from shared.store import ensure_indexes
from shared.tokens import case_url
from tests.conftest import isolated_settings
from tests.support.case_fixtures import SELLER_1, SELLER_2, autumn_wave, buyer, spring_wave
from tests.support.console import PASSWORD, post_form, sign_in
from tests.support.survey_fixtures import close, survey_app

BOSS, VIEWER = "boss@northwind.example", "viewer@northwind.example"
STRANGER = "manager@elsewhere.example"


@pytest.fixture(scope="module")
def world(mongo_client):
    """A two-wave program whose autumn wave opened six cases; its users; one app."""
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    db = mongo_client[name]
    ensure_indexes(db)
    settings = isolated_settings()
    spring = spring_wave(db, settings)
    close(db, settings, spring)
    autumn = autumn_wave(db, settings, spring)
    close(db, settings, autumn)
    for email, role in ((BOSS, "manager"), (VIEWER, "viewer"), (SELLER_1, "seller")):
        create_user(db=db, org_id=autumn.org_id, email=email, role=role, password=PASSWORD)
    other = ensure_organisation(db=db, name="elsewhere")
    create_user(db=db, org_id=other, email=STRANGER, role="manager", password=PASSWORD)
    app = survey_app(db, settings)
    yield db, settings, autumn, app
    mongo_client.drop_database(name)


def _client(world, email: str):
    client = world[3].test_client()
    assert sign_in(client, email).status_code == 302
    return client


def _case_id(world, kind: str) -> str:
    db, _, autumn, _ = world
    found = list_cases(db=db, org_id=autumn.org_id, wave_id=autumn.wave_id, kind=kind)
    (case,) = found["items"]
    return case["id"]


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_the_cases_list_shows_every_case_and_filters_narrow_it(world):
    client, autumn = _client(world, BOSS), world[2]
    page = client.get(f"/app/waves/{autumn.wave_id}/cases")
    text = _text(page)
    assert page.status_code == 200
    assert text.count('href="/app/cases/case_') == 6
    assert "Became a detractor" in text and "Silent decision maker" in text
    assert "Closed in time per owner" in text and SELLER_2 in text
    only = _text(client.get(f"/app/waves/{autumn.wave_id}/cases?owner={SELLER_2}&kind=ri_drop"))
    assert only.count('href="/app/cases/case_') == 1 and "Relationship index dropped" in only
    by_account = _text(client.get(f"/app/waves/{autumn.wave_id}/cases?account=A0001"))
    assert by_account.count('href="/app/cases/case_') == 3
    overdue = _text(client.get(f"/app/waves/{autumn.wave_id}/cases?overdue=yes"))
    assert overdue.count('href="/app/cases/case_') == 0 and "No case matches." in overdue
    wave_page = _text(client.get(f"/app/waves/{autumn.wave_id}"))
    assert f'href="/app/waves/{autumn.wave_id}/cases"' in wave_page


def test_the_case_page_shows_what_triggered_it_and_its_history(world):
    client = _client(world, BOSS)
    text = _text(client.get(f"/app/cases/{_case_id(world, 'became_detractor')}"))
    assert "Became a detractor" in text and buyer(3) in text
    assert "Autumn review" in text and "compared with Spring review" in text
    assert "rapport: opened" in text
    assert 'name="csrf_token"' in text and 'name="note"' in text


def test_closing_without_a_note_is_refused_next_to_the_note_field(world):
    client, case_id = _client(world, BOSS), _case_id(world, "decision_maker_blind_spot")
    page = post_form(client, f"/app/cases/{case_id}", {"status": "closed", "note": " "})
    text = _text(page)
    assert page.status_code == 400
    assert 'id="note-error"' in text and "is required to close a case" in text
    assert "Closed" not in _text(client.get(f"/app/cases/{case_id}")).split("<h2>History")[0]


def test_closing_with_a_note_records_who_did_it(world):
    client, case_id = _client(world, BOSS), _case_id(world, "antagonistic")
    page = post_form(
        client, f"/app/cases/{case_id}", {"status": "closed", "note": "Called the CFO"}
    )
    assert page.status_code == 302
    text = _text(client.get(f"/app/cases/{case_id}"))
    assert f"{BOSS}: status Open → Closed" in text
    assert f"{BOSS}: note {escape('“Called the CFO”')}" in text
    again = post_form(client, f"/app/cases/{case_id}", {"status": "open"})
    assert again.status_code == 409 and 'id="status-error"' in _text(again)


def test_reassigning_a_case_changes_its_owner(world):
    client, case_id = _client(world, BOSS), _case_id(world, "level_drop")
    page = post_form(client, f"/app/cases/{case_id}", {"owner_email": SELLER_1})
    assert page.status_code == 302
    text = _text(client.get(f"/app/cases/{case_id}"))
    assert f"{BOSS}: owner {SELLER_2} → {SELLER_1}" in text
    unknown = post_form(client, f"/app/cases/{case_id}", {"owner_email": "who@nowhere.example"})
    assert unknown.status_code == 400 and 'id="owner_email-error"' in _text(unknown)


def test_a_seller_sees_only_their_own_cases(world):
    client, autumn = _client(world, SELLER_1), world[2]
    text = _text(client.get(f"/app/waves/{autumn.wave_id}/cases"))
    assert SELLER_2 not in text and buyer(3) in text
    assert client.get(f"/app/cases/{_case_id(world, 'became_detractor')}").status_code == 200
    theirs = _case_id(world, "silent_decision_maker")
    assert client.get(f"/app/cases/{theirs}").status_code == 404
    token_link = case_url(theirs, world[1]).split("/app/", 1)[1]
    assert client.get(f"/app/{token_link}").status_code == 302  # the token only leads there
    assert client.get(f"/app/{token_link}", follow_redirects=True).status_code == 404
    own_page = f"/app/cases/{_case_id(world, 'became_detractor')}"
    refused = post_form(client, f"/app/cases/{theirs}", {"status": "ok"}, form_page=own_page)
    assert refused.status_code == 404


def test_a_viewer_reads_cases_but_every_post_is_a_403(world):
    client, case_id = _client(world, VIEWER), _case_id(world, "ri_drop")
    assert client.get(f"/app/cases/{case_id}").status_code == 200
    refused = post_form(client, f"/app/cases/{case_id}", {"status": "in_progress"})
    assert refused.status_code == 403
    assert "Open" in _text(client.get(f"/app/cases/{case_id}"))
    assert "in_progress" not in str(world[0].cases.find_one({"_id": case_id})["status"])


def test_another_organisations_case_and_wave_are_a_404(world):
    client, autumn = _client(world, STRANGER), world[2]
    case_id = _case_id(world, "ri_drop")
    assert client.get(f"/app/cases/{case_id}").status_code == 404
    assert client.get(f"/app/waves/{autumn.wave_id}/cases").status_code == 404
    token = case_url(case_id, world[1]).split("?t=", 1)[1]
    assert client.get(f"/app/cases/{case_id}?t={token}", follow_redirects=True).status_code == 404


def test_the_emails_signed_link_leads_through_sign_in_to_the_case(world):
    case_id = _case_id(world, "became_detractor")
    path = "/app/" + case_url(case_id, world[1]).split("/app/", 1)[1]
    client = world[3].test_client()
    first = client.get(path)
    assert first.status_code == 302 and "/app/sign-in" in first.headers["Location"]
    query = parse_qs(urlsplit(first.headers["Location"]).query)
    assert query["next"] == [path]  # back to the case, token and all, after signing in
    signed_in = post_form(
        client,
        first.headers["Location"],
        {"email": BOSS, "password": PASSWORD},
        form_page="/app/sign-in",
        follow_redirects=True,
    )
    assert signed_in.status_code == 200
    assert signed_in.request.path == f"/app/cases/{case_id}"
    assert "Became a detractor" in _text(signed_in)
    tampered = client.get(f"/app/cases/{case_id}?t=not-a-token")
    assert tampered.status_code == 200  # ignored: the session decides
