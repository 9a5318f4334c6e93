"""Programs through the admin API: SCORING.md defaults, validated settings, reading back."""

from __future__ import annotations

import pytest

from tests.integration.test_admin_support import make_admin


@pytest.fixture
def admin(db):
    return make_admin(db)


def test_a_program_gets_the_scoring_defaults(admin, db):
    program = admin.program("Key accounts")
    assert program["name"] == "Key accounts"
    assert program["settings"] == {
        "cut_points": [40, 60, 80],
        "gap_threshold": 10,
        "role_weights": {"decision_maker": 3, "influencer": 2, "user": 1, "other": 1},
        "reminder_days": [3, 7],
        "languages": ["en", "de"],
        "case_due_hours": 48,
        "min_n": 3,
        "min_interval_accounts": 5,
        "reliable_change": 1.96,
        "default_reliability": 0.8,
    }
    stored = db.programs.find_one({"_id": program["id"]})
    assert stored["org_id"] == admin.org_id
    assert stored["settings"] == program["settings"]


def test_given_settings_override_the_defaults_and_role_weights_merge(admin):
    program = admin.program(
        settings={
            "cut_points": [35, 55.5, 75],
            "gap_threshold": 12.5,
            "role_weights": {"user": 0.5},
            "reminder_days": [2],
            "languages": ["de"],
            "manager_email": "pm@vendor.example",
        }
    )
    assert program["settings"] == {
        "cut_points": [35, 55.5, 75],
        "gap_threshold": 12.5,
        "role_weights": {"decision_maker": 3, "influencer": 2, "user": 0.5, "other": 1},
        "reminder_days": [2],
        "languages": ["de"],
        "manager_email": "pm@vendor.example",
        "case_due_hours": 48,
        "min_n": 3,
        "min_interval_accounts": 5,
        "reliable_change": 1.96,
        "default_reliability": 0.8,
    }


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"cut_points": [40, 60]}, "settings.cut_points"),
        ({"cut_points": [60, 40, 80]}, "settings.cut_points"),
        ({"cut_points": [40, 60, 100]}, "settings.cut_points.2"),
        ({"gap_threshold": 0}, "settings.gap_threshold"),
        ({"gap_threshold": -5}, "settings.gap_threshold"),
        ({"min_n": 0}, "settings.min_n"),
        ({"reliable_change": -1}, "settings.reliable_change"),
        ({"default_reliability": 1}, "settings.default_reliability"),
        ({"case_due_hours": 0}, "settings.case_due_hours"),
        ({"role_weights": {"boss": 5}}, "settings.role_weights.boss.key"),
        ({"role_weights": {"user": -1}}, "settings.role_weights.user.value"),
        ({"reminder_days": [7, 3]}, "settings.reminder_days"),
        ({"reminder_days": [3, 3]}, "settings.reminder_days"),
        ({"reminder_days": [0]}, "settings.reminder_days.0"),
        ({"reminder_days": [2.5]}, "settings.reminder_days.0"),
        ({"languages": []}, "settings.languages"),
        ({"languages": ["fr"]}, "settings.languages.0"),
        ({"languages": ["en", "en"]}, "settings.languages"),
        ({"manager_email": "nobody"}, "settings.manager_email"),
        ({"colour": "blue"}, "settings.colour"),
    ],
)
def test_bad_settings_are_a_400_naming_the_setting(admin, db, settings, field):
    response = admin.post("/api/v1/programs", json={"name": "P", "settings": settings})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert field in error["details"], error
    assert error["code"] == "validation_error"
    assert db.programs.count_documents({}) == 0


@pytest.mark.parametrize("name", ["", "x" * 201, None, 5])
def test_a_program_needs_a_sensible_name(admin, name):
    response = admin.post("/api/v1/programs", json={"name": name})
    assert response.status_code == 400
    assert "name" in response.get_json()["error"]["details"]


def test_a_program_reads_back_and_lists_for_its_organisation_only(admin):
    first = admin.program("First")
    second = admin.program("Second")
    response = admin.get(f"/api/v1/programs/{first['id']}")
    assert response.status_code == 200
    assert response.get_json() == first
    listed = admin.get("/api/v1/programs").get_json()["items"]
    assert [p["name"] for p in listed] == ["Second", "First"]
    assert listed[0] == second
    rival = admin.as_organisation("rival")
    assert rival.get(f"/api/v1/programs/{first['id']}").status_code == 404
    assert rival.get(f"/api/v1/programs/{first['id']}/accounts").status_code == 404


def test_an_empty_program_has_no_accounts(admin):
    program = admin.program()
    response = admin.get(f"/api/v1/programs/{program['id']}/accounts")
    assert response.status_code == 200
    assert response.get_json() == {"items": []}


def _patch(admin, program_id, body):
    return admin.client.patch(f"/api/v1/programs/{program_id}", json=body, headers=admin.headers)


def test_the_manager_email_can_be_set_changed_and_removed_after_creation(admin, db):
    program = admin.program(settings={"gap_threshold": 12.5, "role_weights": {"user": 0.5}})
    response = _patch(admin, program["id"], {"settings": {"manager_email": "pm@vendor.example"}})
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    # merged: what was not given stays as it was
    assert changed["settings"] == {**program["settings"], "manager_email": "pm@vendor.example"}
    assert db.programs.find_one({"_id": program["id"]})["settings"] == changed["settings"]
    assert admin.get(f"/api/v1/programs/{program['id']}").get_json() == changed
    response = _patch(
        admin,
        program["id"],
        {
            "name": "Key accounts 2027",
            "settings": {"manager_email": None, "role_weights": {"other": 2}},
        },
    )
    assert response.status_code == 200
    renamed = response.get_json()
    assert renamed["name"] == "Key accounts 2027"
    assert "manager_email" not in renamed["settings"]
    assert renamed["settings"]["role_weights"] == {
        "decision_maker": 3,
        "influencer": 2,
        "user": 0.5,
        "other": 2,
    }
    assert renamed["settings"]["gap_threshold"] == 12.5


@pytest.mark.parametrize(
    "body, field",
    [
        ({"settings": {"manager_email": "nobody"}}, "settings.manager_email"),
        ({"settings": {"cut_points": [60, 40, 80]}}, "settings.cut_points"),
        ({"settings": {"colour": "blue"}}, "settings.colour"),
        ({"name": ""}, "name"),
        ({"id": "other"}, "id"),
    ],
)
def test_a_bad_change_is_a_400_naming_the_setting_and_changes_nothing(admin, db, body, field):
    program = admin.program(settings={"manager_email": "pm@vendor.example"})
    before = db.programs.find_one({"_id": program["id"]})
    response = _patch(admin, program["id"], body)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["details"]
    assert db.programs.find_one({"_id": program["id"]}) == before


def test_another_organisations_program_cannot_be_changed(admin, db):
    program = admin.program()
    rival = admin.as_organisation("rival")
    response = _patch(rival, program["id"], {"settings": {"manager_email": "x@rival.example"}})
    assert response.status_code == 404
    assert "manager_email" not in db.programs.find_one({"_id": program["id"]})["settings"]
