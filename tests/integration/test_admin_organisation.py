"""The organisation's branding through the admin API: read, change, validated, shown to people."""

from __future__ import annotations

import pytest

from tests.conftest import isolated_settings
from tests.integration.test_admin_support import admin_app, admin_for
from tests.support.survey_fixtures import make_wave

BRANDING = {
    "display_name": "Northwind Supplies",
    "sender_name": "Northwind Account Team",
    "reply_to": "accounts@northwind.example",
    "accent_color": "#1d4ed8",
    "privacy_url": "https://northwind.example/privacy",
    "contact_name": "Dana Lee",
    "contact_email": "dana@northwind.example",
}


@pytest.fixture
def settings():
    return isolated_settings()


@pytest.fixture
def app(db, settings):
    return admin_app(db, settings=settings)


@pytest.fixture
def default(app, db):
    """Organisation `default`, as RAPPORT_BOOTSTRAP_API_KEY and `make dev` create it."""
    return admin_for(app, db, org="default")


def _patch(admin, body, **kwargs):
    return admin.client.patch("/api/v1/organisation", json=body, headers=admin.headers, **kwargs)


def test_the_default_organisation_has_no_name_people_read_until_one_is_set(default):
    response = default.get("/api/v1/organisation")
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "default" and body["id"] == default.org_id
    assert {k: body[k] for k in BRANDING} == dict.fromkeys(BRANDING)
    assert body["shown_name"] is None  # never the internal `default`


def test_every_branding_field_is_stored_and_read_back(default, db):
    response = _patch(default, BRANDING)
    assert response.status_code == 200, response.get_json()
    assert {k: response.get_json()[k] for k in BRANDING} == BRANDING
    again = default.get("/api/v1/organisation").get_json()
    assert {k: again[k] for k in BRANDING} == BRANDING
    assert again["shown_name"] == "Northwind Supplies"
    # fields left out stay; null and an empty text clear one
    response = _patch(default, {"sender_name": None, "contact_name": ""})
    body = response.get_json()
    assert body["sender_name"] is None and body["contact_name"] is None
    assert body["display_name"] == "Northwind Supplies" and body["reply_to"] == BRANDING["reply_to"]
    stored = db.organisations.find_one({"name": "default"})
    assert "sender_name" not in stored and "contact_name" not in stored


@pytest.mark.parametrize(
    "body, field",
    [
        ({"accent_color": "blue"}, "accent_color"),
        ({"accent_color": "#12345"}, "accent_color"),
        ({"privacy_url": "javascript:alert(1)"}, "privacy_url"),
        ({"privacy_url": "ftp://northwind.example/privacy"}, "privacy_url"),
        ({"reply_to": "not an address"}, "reply_to"),
        ({"reply_to": "a@b.example\r\nBcc: x@evil.example"}, "reply_to"),
        ({"contact_email": "dana@"}, "contact_email"),
        ({"display_name": "Northwind\r\nBcc: x@evil.example"}, "display_name"),
        ({"sender_name": "x" * 121}, "sender_name"),
        ({"display_name": 42}, "display_name"),
        ({"name": "renamed"}, "name"),
        ({"logo": "x"}, "logo"),
    ],
)
def test_bad_branding_is_a_400_naming_the_field_and_changes_nothing(default, db, body, field):
    _patch(default, {"display_name": "Northwind Supplies"})
    before = db.organisations.find_one({"name": "default"})
    response = _patch(default, {"contact_name": "Dana Lee", **body})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"], error
    assert db.organisations.find_one({"name": "default"}) == before


def test_a_body_that_is_not_json_is_a_415(default):
    response = default.client.patch(
        "/api/v1/organisation",
        data="display_name=x",
        content_type="application/x-www-form-urlencoded",
        headers=default.headers,
    )
    assert response.status_code == 415


def test_each_organisation_reads_and_changes_only_its_own(default, app, db):
    rival = admin_for(app, db, org="rival")
    _patch(default, {"display_name": "Northwind Supplies"})
    assert rival.get("/api/v1/organisation").get_json()["display_name"] is None
    assert rival.get("/api/v1/organisation").get_json()["shown_name"] == "rival"
    assert default.client.get("/api/v1/organisation").status_code == 401


def test_respondents_read_the_display_name_as_soon_as_it_is_set(default, app, db, settings):
    world = make_wave(db, settings, buyers=1, sellers=1, company_name="default")
    assert world.org_id == default.org_id
    token = world.buyers[0].token
    before = app.test_client().get(f"/s/{token}").get_data(as_text=True)
    assert "default" not in before and "Your view of working together" in before
    _patch(default, {"display_name": "Northwind Supplies", "contact_email": "q@northwind.example"})
    after = app.test_client().get(f"/s/{token}").get_data(as_text=True)
    assert "Your view of working with Northwind Supplies" in after
    assert "q@northwind.example" in after
