"""Roster import through the admin API into a real database: counts, re-imports, bad rows."""

from __future__ import annotations

import io

import pytest

from services.survey.admin import roster
from tests.integration.test_admin_support import (
    HEADER,
    SAMPLE_ROWS,
    make_admin,
    roster_csv,
    snapshot,
)


@pytest.fixture
def admin(db):
    return make_admin(db)


@pytest.fixture
def program(admin):
    return admin.program()


def _import(admin, program, rows, **kwargs):
    return admin.import_csv(program["id"], roster_csv(rows, **kwargs))


def test_a_roster_creates_accounts_contacts_sellers_and_assignments(admin, program, db):
    response = _import(admin, program, SAMPLE_ROWS)
    assert response.status_code == 200
    report = response.get_json()
    assert {k: v for k, v in report.items() if k != "errors"} == {
        "accounts_created": 2,
        "accounts_updated": 0,
        "contacts_created": 3,
        "contacts_updated": 0,
        "sellers_created": 2,
        "sellers_updated": 0,
        "assignments_created": 4,
        "assignments_updated": 0,
        "assignments_removed": 0,
        "rows_imported": 4,
        "rows_rejected": 0,
        "errors_truncated": False,
    }
    assert report["errors"] == []
    acme = db.accounts.find_one({"program_id": program["id"], "external_id": "A-1"})
    assert acme["name"] == "Acme" and acme["annual_revenue"] == 1_000_000
    assert acme["org_id"] == admin.org_id
    joe = db.contacts.find_one({"program_id": program["id"], "email": "joe@acme.example"})
    assert joe["account_id"] == acme["_id"]
    assert joe["account_external_id"] == "A-1"
    assert joe["role"] == "decision_maker"
    assert joe["language"] == "en"
    assert joe["primary_seller_email"] == "sue@vendor.example"
    positions = {
        a["seller_email"]: a["position"]
        for a in db.assignments.find({"program_id": program["id"], "contact_email": joe["email"]})
    }
    assert positions == {"sue@vendor.example": 0, "tom@vendor.example": 1}
    for name in ("accounts", "contacts", "sellers", "assignments"):
        assert db[name].count_documents({"org_id": {"$ne": admin.org_id}}) == 0, name


def test_reimporting_the_same_file_changes_nothing(admin, program, db):
    first = _import(admin, program, SAMPLE_ROWS).get_json()
    before = snapshot(db)
    second = _import(admin, program, SAMPLE_ROWS).get_json()
    assert second["rows_imported"] == first["rows_imported"] == 4
    for key, value in second.items():
        if key.endswith(("_created", "_updated", "_removed")):
            assert value == 0, key
    assert snapshot(db) == before


def test_a_changed_roster_updates_what_changed(admin, program, db):
    _import(admin, program, SAMPLE_ROWS)
    changed = [dict(row) for row in SAMPLE_ROWS]
    changed[3]["annual_revenue"] = 300_000
    changed[2]["contact_role"] = "influencer"
    report = _import(admin, program, changed).get_json()
    assert report["accounts_updated"] == 1
    assert report["contacts_updated"] == 1
    assert report["accounts_created"] == report["contacts_created"] == 0
    assert db.accounts.find_one({"external_id": "B-2"})["annual_revenue"] == 300_000


def test_the_first_seller_on_a_contacts_rows_is_primary_and_dropped_sellers_are_removed(
    admin, program, db
):
    _import(admin, program, SAMPLE_ROWS)
    # Joe now has Tom first and Sue no longer.
    rows = [SAMPLE_ROWS[1], SAMPLE_ROWS[2], SAMPLE_ROWS[3]]
    report = _import(admin, program, rows).get_json()
    assert report["assignments_removed"] == 1
    joe = db.contacts.find_one({"email": "joe@acme.example"})
    assert joe["primary_seller_email"] == "tom@vendor.example"
    assert [
        (a["seller_email"], a["position"])
        for a in db.assignments.find({"contact_email": "joe@acme.example"})
    ] == [("tom@vendor.example", 0)]


def test_bad_rows_are_reported_by_row_and_column_and_the_good_ones_imported(admin, program, db):
    rows = [
        SAMPLE_ROWS[0],
        {**SAMPLE_ROWS[2], "contact_email": "amy-at-acme"},
        {**SAMPLE_ROWS[3], "contact_role": "boss", "annual_revenue": "-10"},
        {**SAMPLE_ROWS[3], "contact_email": "cy@beta.example", "annual_revenue": "many"},
    ]
    response = _import(admin, program, rows)
    assert response.status_code == 200
    report = response.get_json()
    assert report["rows_imported"] == 1
    assert report["rows_rejected"] == 3
    assert sorted((e["row"], e["column"]) for e in report["errors"]) == [
        (3, "contact_email"),
        (4, "annual_revenue"),
        (4, "contact_role"),
        (5, "annual_revenue"),
    ]
    assert db.contacts.count_documents({}) == 1
    assert db.accounts.count_documents({}) == 1


def test_a_contact_listed_under_two_accounts_is_reported(admin, program, db):
    rows = [SAMPLE_ROWS[0], {**SAMPLE_ROWS[1], "account_id": "B-2"}]
    report = _import(admin, program, rows).get_json()
    assert report["rows_rejected"] == 1
    (error,) = report["errors"]
    assert error["row"] == 3 and error["column"] == "account_id"
    assert "row 2" in error["message"]


def _stored(db) -> dict:
    return snapshot(db)


@pytest.mark.parametrize(
    "body, needle",
    [
        (
            roster_csv(SAMPLE_ROWS, header=[c for c in HEADER if c != "seller_email"]),
            "seller_email",
        ),
        (roster_csv([{**SAMPLE_ROWS[0], "contact_email": "not-an-email"}]), "contact_email"),
        (roster_csv([{**SAMPLE_ROWS[0], "contact_role": "ceo"}]), "contact_role"),
        (roster_csv([{**SAMPLE_ROWS[0], "annual_revenue": "-1"}]), "annual_revenue"),
        (roster_csv([{**SAMPLE_ROWS[0], "annual_revenue": "a lot"}]), "annual_revenue"),
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (roster_csv([]), "no rows"),
    ],
    ids=[
        "missing-column",
        "bad-email",
        "unknown-role",
        "negative-revenue",
        "non-numeric-revenue",
        "empty",
        "binary",
        "header-only",
    ],
)
def test_a_roster_with_nothing_importable_is_a_400_naming_the_problem_and_changes_nothing(
    admin, program, db, body, needle
):
    _import(admin, program, SAMPLE_ROWS)
    before = _stored(db)
    response = admin.import_csv(program["id"], body)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert needle in error["message"] or needle in error["details"], error
    assert _stored(db) == before


def test_the_same_problems_through_a_multipart_upload(admin, program, db):
    before = _stored(db)
    for content in (
        b"",
        b"\x00\x01\x02binary",
        roster_csv(SAMPLE_ROWS, header=HEADER[:-1]).encode(),
    ):
        response = admin.post(
            f"/api/v1/programs/{program['id']}/roster",
            data={"file": (io.BytesIO(content), "roster.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 400
    missing = admin.post(
        f"/api/v1/programs/{program['id']}/roster",
        data={"other": (io.BytesIO(b"x"), "roster.csv")},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 400
    assert "file" in missing.get_json()["error"]["details"]
    assert _stored(db) == before


def test_a_multipart_upload_with_bom_semicolons_and_quotes_is_imported(admin, program, db):
    text = roster_csv(
        [{**SAMPLE_ROWS[3], "account_name": 'Beta; "the best" GmbH', "annual_revenue": "1.234,5"}],
        delimiter=";",
    )
    response = admin.post(
        f"/api/v1/programs/{program['id']}/roster",
        data={"file": (io.BytesIO(b"\xef\xbb\xbf" + text.encode()), "export.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    account = db.accounts.find_one({"external_id": "B-2"})
    assert account["name"] == 'Beta; "the best" GmbH'
    assert account["annual_revenue"] == 1234.5


def test_json_rows_import_like_csv(admin, program, db):
    response = admin.post(
        f"/api/v1/programs/{program['id']}/roster", json={"rows": list(SAMPLE_ROWS)}
    )
    assert response.status_code == 200
    assert response.get_json()["contacts_created"] == 3
    again = admin.post(f"/api/v1/programs/{program['id']}/roster", json={"rows": list(SAMPLE_ROWS)})
    assert again.get_json()["contacts_created"] == again.get_json()["contacts_updated"] == 0
    assert db.accounts.find_one({"external_id": "B-2"})["annual_revenue"] == 250_000.5


def test_json_rows_with_bad_values_are_reported_by_position(admin, program):
    rows = [SAMPLE_ROWS[0], {**SAMPLE_ROWS[2], "annual_revenue": -3}]
    report = admin.post(f"/api/v1/programs/{program['id']}/roster", json={"rows": rows}).get_json()
    assert report["errors"] == [
        {"row": 2, "column": "annual_revenue", "message": "must not be negative: '-3'"}
    ]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"rows": [{**SAMPLE_ROWS[0], "annual_revenue": "1000"}]}, "rows.0.annual_revenue"),
        ({"rows": [{**SAMPLE_ROWS[0], "colour": "red"}]}, "rows.0.colour"),
        (
            {"rows": [{k: v for k, v in SAMPLE_ROWS[0].items() if k != "seller_name"}]},
            "rows.0.seller_name",
        ),
        ({"rows": "A-1,Acme"}, "rows"),
        ({"rows": []}, "rows"),
        ({}, "rows"),
    ],
)
def test_json_rows_of_the_wrong_shape_are_a_400(admin, program, db, body, field):
    response = admin.post(f"/api/v1/programs/{program['id']}/roster", json=body)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["details"]
    assert db.contacts.count_documents({}) == 0


def test_a_program_language_list_limits_contact_languages(admin, db):
    program = admin.program(settings={"languages": ["de"]})
    rows = [{**SAMPLE_ROWS[0], "language": "de"}, {**SAMPLE_ROWS[2], "language": "en"}]
    report = admin.import_csv(program["id"], roster_csv(rows, header=(*HEADER, "language")))
    report = report.get_json()
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, "language")]
    assert db.contacts.find_one({"email": "joe@acme.example"})["language"] == "de"
    assert db.sellers.find_one({"email": "sue@vendor.example"})["language"] == "de"


def test_imports_are_written_in_batches_not_row_by_row(admin, program, db, monkeypatch):
    calls = []
    original = roster._Import._sync

    def counting(self, collection, key_fields, wanted):
        calls.append((collection, len(wanted)))
        return original(self, collection, key_fields, wanted)

    monkeypatch.setattr(roster._Import, "_sync", counting)
    rows = [
        {**SAMPLE_ROWS[0], "contact_email": f"c{i}@acme.example", "contact_name": f"C {i}"}
        for i in range(30)
    ]
    report = roster.import_roster_csv(
        db=db,
        org_id=admin.org_id,
        program_id=program["id"],
        data=roster_csv(rows).encode(),
        batch_rows=10,
    )
    assert report.contacts_created == 30
    assert [n for c, n in calls if c == "contacts"] == [10, 10, 10]
    assert [n for c, n in calls if c == "accounts" and n] == [1]


def test_accounts_list_counts_contacts_and_sellers(admin, program):
    _import(admin, program, SAMPLE_ROWS)
    response = admin.get(f"/api/v1/programs/{program['id']}/accounts")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [
        (i["external_id"], i["name"], i["annual_revenue"], i["contacts"], i["sellers"])
        for i in items
    ] == [("A-1", "Acme", 1_000_000, 2, 2), ("B-2", "Beta GmbH", 250_000.5, 1, 1)]
    assert all(len(i["id"]) == 32 for i in items)


def test_a_revenue_too_large_for_the_database_is_a_row_error_not_a_crash(admin, program, db):
    rows = [{**SAMPLE_ROWS[0], "annual_revenue": 10**30}]
    response = admin.post(f"/api/v1/programs/{program['id']}/roster", json={"rows": rows})
    assert response.status_code == 400
    assert "annual_revenue" in response.get_json()["error"]["details"]
    assert db.accounts.count_documents({}) == 0
