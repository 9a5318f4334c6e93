"""The admin API's guard rails: API keys, organisation scoping, strict input, error format."""

from __future__ import annotations

import json

import pytest

from services.survey.organisations import hash_key
from tests.conftest import isolated_settings
from tests.integration.test_admin_support import SAMPLE_ROWS, in_a_month, make_admin, snapshot


def _error(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


ENDPOINTS = (
    ("get", "/api/v1/programs"),
    ("post", "/api/v1/programs"),
    ("get", "/api/v1/programs/{program}"),
    ("get", "/api/v1/programs/{program}/accounts"),
    ("post", "/api/v1/programs/{program}/roster"),
    ("post", "/api/v1/programs/{program}/waves"),
    ("get", "/api/v1/waves/{wave}"),
    ("post", "/api/v1/waves/{wave}/launch"),
    ("get", "/api/v1/waves/{wave}/links"),
    ("post", "/api/v1/waves/{wave}/close"),
)


@pytest.fixture
def admin(db):
    return make_admin(db)


@pytest.fixture
def rival(admin):
    return admin.as_organisation("rival")


@pytest.fixture
def world(admin):
    program, wave, _ = admin.launched_wave()
    return {"program": program["id"], "wave": wave["id"]}


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer wrong-key", "Basic abc"])
def test_every_endpoint_needs_a_valid_key(admin, world, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, template in ENDPOINTS:
        path = template.format(**world)
        response = getattr(admin.client, method)(path, headers=headers, json={})
        assert response.status_code == 401, (method, path)
        assert _error(response)["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_is_refused(admin):
    admin.db.api_keys.update_one({"key_hash": hash_key(admin.key)}, {"$set": {"revoked_at": 1}})
    assert admin.get("/api/v1/programs").status_code == 401


def test_keys_are_stored_hashed_never_in_clear(admin):
    stored = admin.db.api_keys.find_one({"org_id": admin.org_id})
    assert stored["key_hash"] == hash_key(admin.key)
    assert admin.key not in json.dumps(stored, default=str)


def test_another_organisations_program_and_wave_are_not_found(admin, rival, world):
    before = snapshot(admin.db)
    bodies = {
        "/api/v1/programs/{program}/waves": {"name": "x", "closes_at": in_a_month()},
        "/api/v1/waves/{wave}/launch": {"delivery": "none"},
    }
    for method, template in ENDPOINTS:
        if "{" not in template:
            continue
        path = template.format(**world)
        response = getattr(rival, method)(path, json=bodies.get(template, {}))
        assert response.status_code == 404, (method, path, response.get_json())
        assert _error(response)["code"] == "not_found"
    assert snapshot(admin.db) == before
    assert rival.get("/api/v1/programs").get_json() == {"items": []}


def test_a_rival_roster_upload_is_not_found_and_imports_nothing(admin, rival, world):
    csv_text = "account_id,account_name,annual_revenue,contact_email,contact_name,contact_role,seller_email,seller_name\nX,X,1,x@x.example,X,user,y@y.example,Y\n"
    response = rival.import_csv(world["program"], csv_text)
    assert response.status_code == 404
    assert admin.db.contacts.count_documents({"email": "x@x.example"}) == 0


def test_unknown_fields_are_refused_naming_the_field(admin):
    response = admin.post("/api/v1/programs", json={"name": "P", "owner": "me"})
    assert response.status_code == 400
    error = _error(response)
    assert error["details"] == {"owner": ["Unknown field."]}
    assert "owner" in error["message"]
    nested = admin.post("/api/v1/programs", json={"name": "P", "settings": {"colour": "red"}})
    assert nested.status_code == 400
    assert "settings.colour" in _error(nested)["details"]
    assert admin.db.programs.count_documents({}) == 0


OPERATORS = ({"$gt": ""}, {"$where": "sleep(1000)"}, {"$ne": None}, ["$gt"])


@pytest.mark.parametrize("operator", OPERATORS, ids=["gt", "where", "ne", "list"])
def test_mongo_operators_are_refused_wherever_a_value_goes(admin, operator):
    program = admin.program()
    wave = admin.wave(program["id"])
    cases = [
        ("/api/v1/programs", {"name": operator}, "name"),
        (
            "/api/v1/programs",
            {"name": "P", "settings": {"gap_threshold": operator}},
            "settings.gap_threshold",
        ),
        (
            "/api/v1/programs",
            {"name": "P", "settings": {"cut_points": [operator, 60, 80]}},
            "settings.cut_points.0",
        ),
        (
            "/api/v1/programs",
            {"name": "P", "settings": {"languages": [operator]}},
            "settings.languages.0",
        ),
        (
            f"/api/v1/programs/{program['id']}/waves",
            {"name": "W", "closes_at": operator},
            "closes_at",
        ),
        (
            f"/api/v1/programs/{program['id']}/waves",
            {"name": "W", "closes_at": in_a_month(), "reminder_days": operator},
            "reminder_days",
        ),
        (f"/api/v1/waves/{wave['id']}/launch", {"delivery": operator}, "delivery"),
        (
            f"/api/v1/programs/{program['id']}/roster",
            {"rows": [{**SAMPLE_ROWS[0], "contact_email": operator}]},
            "rows.0.contact_email",
        ),
        (
            f"/api/v1/programs/{program['id']}/roster",
            {"rows": [{**SAMPLE_ROWS[0], "annual_revenue": operator}]},
            "rows.0.annual_revenue",
        ),
    ]
    before = snapshot(admin.db)
    for path, body, field in cases:
        response = admin.post(path, json=body)
        assert response.status_code == 400, (path, body, response.get_json())
        error = _error(response)
        named = [key for key in error["details"] if key == field or key.startswith(field + ".")]
        assert named, (field, error)
        assert named[0] in error["message"]
    assert snapshot(admin.db) == before


def test_operator_keys_in_role_weights_are_refused(admin):
    response = admin.post(
        "/api/v1/programs", json={"name": "P", "settings": {"role_weights": {"$gt": 1}}}
    )
    assert response.status_code == 400
    assert any(key.startswith("settings.role_weights") for key in _error(response)["details"])


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"gap_threshold": "10"}, "settings.gap_threshold"),
        ({"cut_points": [40, "60", 80]}, "settings.cut_points.1"),
        ({"role_weights": {"user": "2"}}, "settings.role_weights.user.value"),
        ({"reminder_days": ["3"]}, "settings.reminder_days.0"),
        ({"reminder_days": [True]}, "settings.reminder_days.0"),
        ({"gap_threshold": True}, "settings.gap_threshold"),
    ],
)
def test_strings_and_booleans_where_numbers_go_are_refused(admin, settings, field):
    response = admin.post("/api/v1/programs", json={"name": "P", "settings": settings})
    assert response.status_code == 400
    assert field in _error(response)["details"]


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"name": ', b"\xff\xfe\x00", b"[1, 2", b"nul"],
    ids=["open-brace", "truncated", "binary", "open-list", "bare-word"],
)
def test_malformed_json_is_a_400(admin, body):
    response = admin.post("/api/v1/programs", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in _error(response)["message"]


def test_json_that_is_not_an_object_is_a_400(admin):
    response = admin.post("/api/v1/programs", json=[{"name": "P"}])
    assert response.status_code == 400
    _error(response)


def test_a_body_over_the_size_limit_is_a_413(db):
    settings = isolated_settings(max_body_bytes=2048)
    admin = make_admin(db, settings=settings)
    program = admin.program()
    big = {"name": "P" * 5000}
    response = admin.post("/api/v1/programs", json=big)
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"
    csv_body = "x" * 10_000
    response = admin.import_csv(program["id"], csv_body)
    assert response.status_code == 413
    assert admin.db.programs.count_documents({}) == 1


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/api/v1/programs", "text/plain"),
        ("/api/v1/programs", "application/x-www-form-urlencoded"),
        ("/api/v1/programs/{program}/waves", "application/xml"),
        ("/api/v1/programs/{program}/roster", "application/xml"),
        ("/api/v1/programs/{program}/roster", "image/png"),
    ],
)
def test_a_wrong_content_type_is_a_415(admin, path, content_type):
    program = admin.program()
    response = admin.post(
        path.format(program=program["id"]), data=b"name=P", content_type=content_type
    )
    assert response.status_code == 415
    assert _error(response)["code"] == "unsupported_media_type"


def test_a_wrong_method_is_a_json_405(admin):
    response = admin.client.delete("/api/v1/programs", headers=admin.headers)
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("DELETE", "/api/v1/programs", {"GET", "POST"}),
        ("TRACE", "/api/v1/programs/p1/roster", {"POST"}),
        ("PUT", "/api/v1/waves/w1/close", {"POST"}),
        ("PATCH", "/api/v1/waves/w1/results", {"GET"}),
        ("DELETE", "/api/v1/respond/t1/subjects/s1", {"PUT"}),
        ("DELETE", "/s/t1/done", {"GET"}),  # an HTML page: RFC 9110 holds there too
    ],
)
def test_a_405_lists_the_allowed_methods_in_allow(admin, method, path, allowed):
    response = admin.client.open(path, method=method, headers=admin.headers)
    assert response.status_code == 405
    listed = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    assert allowed <= listed, response.headers
    assert listed - allowed <= {"HEAD", "OPTIONS"}


def test_an_unknown_id_is_a_json_404(admin):
    for path in ("/api/v1/programs/nope", "/api/v1/waves/nope", "/api/v1/programs/$gt"):
        response = admin.get(path)
        assert response.status_code == 404
        assert _error(response)["code"] == "not_found"


def test_the_openapi_document_lists_the_admin_api(admin):
    response = admin.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.get_json()["paths"]
    for path, method in (
        ("/api/v1/programs", "post"),
        ("/api/v1/programs/{program_id}", "get"),
        ("/api/v1/programs/{program_id}/roster", "post"),
        ("/api/v1/programs/{program_id}/accounts", "get"),
        ("/api/v1/programs/{program_id}/waves", "post"),
        ("/api/v1/waves/{wave_id}", "get"),
        ("/api/v1/waves/{wave_id}/launch", "post"),
        ("/api/v1/waves/{wave_id}/links", "get"),
        ("/api/v1/waves/{wave_id}/close", "post"),
        ("/api/v1/programs/{program_id}/waves", "get"),
        ("/api/v1/waves/{wave_id}", "patch"),
        ("/api/v1/waves/{wave_id}/reminders", "post"),
        ("/api/v1/waves/{wave_id}/invitations", "post"),
        ("/api/v1/waves/{wave_id}/links/{email}/revoke", "post"),
        ("/api/v1/waves/{wave_id}/links/{email}/reissue", "post"),
        ("/api/v1/organisation/logo", "put"),
    ):
        assert method in paths[path], path
        assert paths[path][method]["security"] == [{"bearer": []}]
    roster_body = paths["/api/v1/programs/{program_id}/roster"]["post"]["requestBody"]
    assert set(roster_body["content"]) == {"text/csv", "multipart/form-data", "application/json"}


def test_malformed_json_rows_for_the_roster_are_a_400_too(admin):
    program = admin.program()
    response = admin.post(
        f"/api/v1/programs/{program['id']}/roster",
        data=b'{"rows": [',
        content_type="application/json",
    )
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "bad_request" and "JSON" in error["message"]


def test_a_rival_sending_a_bad_body_still_gets_404_not_a_validation_error(admin, rival, world):
    # a 400 naming fields would confirm that the id exists in another organisation
    for path, body in (
        (f"/api/v1/programs/{world['program']}/waves", {"name": 7, "unknown": True}),
        (f"/api/v1/waves/{world['wave']}/launch", {"delivery": "carrier pigeon"}),
    ):
        response = rival.post(path, json=body)
        assert response.status_code == 404, (path, response.get_json())
        assert _error(response)["code"] == "not_found"
