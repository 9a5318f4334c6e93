"""Roster import through the admin API into a real database: counts, re-imports, bad rows."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pymongo
import pytest
from pymongo import monitoring

from deploy.local.mongo_server import LocalMongo
from services.survey.admin import roster
from shared.store import ensure_indexes
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
        "warnings": [],
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


def test_a_language_the_program_does_not_offer_gets_its_first_with_a_warning(admin, db):
    program = admin.program(settings={"languages": ["de"]})
    rows = [{**SAMPLE_ROWS[0], "language": "de"}, {**SAMPLE_ROWS[2], "language": "en"}]
    report = admin.import_csv(program["id"], roster_csv(rows, header=(*HEADER, "language")))
    report = report.get_json()
    assert report["rows_rejected"] == 0 and report["errors"] == []
    assert [(w["row"], w["column"]) for w in report["warnings"]] == [(3, "language")]
    assert "imported with de" in report["warnings"][0]["message"]
    third = SAMPLE_ROWS[2]["contact_email"]
    assert db.contacts.find_one({"email": third})["language"] == "de"
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


# --- large rosters, the embedded SQLite server, a database that goes away ----------------


ROLES = ("decision_maker", "influencer", "user", "other")


def many_contacts(contacts: int, *, per_account: int = 6, sellers: int = 5, second_every: int = 0):
    """Roster rows for `contacts` buyers, `per_account` to an account; every `second_every`-th
    contact has a second seller (0: none has)."""
    rows = []
    for i in range(contacts):
        account = i // per_account
        assigned = [i % sellers]
        if second_every and i % second_every == 0:
            assigned.append((i + 1) % sellers)
        for seller in assigned:
            rows.append(
                {
                    "account_id": f"A-{account:05d}",
                    "account_name": f"Account {account}",
                    "annual_revenue": 100_000 + account,
                    "contact_email": f"buyer{i}@client{account}.example",
                    "contact_name": f"Buyer {i}",
                    "contact_role": ROLES[i % len(ROLES)],
                    "seller_email": f"seller{seller}@vendor.example",
                    "seller_name": f"Seller {seller}",
                }
            )
    return rows


def assert_every_row_landed(db, program_id: str, rows) -> None:
    """Every account, contact, seller and assignment of `rows` is stored, and nothing else."""
    stored = {
        name: {
            tuple(doc.get(f) for f in fields)
            for doc in db[name].find({"program_id": program_id}, dict.fromkeys(fields, 1))
        }
        for name, fields in (
            ("accounts", ("external_id",)),
            ("contacts", ("email", "account_external_id")),
            ("sellers", ("email",)),
            ("assignments", ("contact_email", "seller_email")),
        )
    }
    assert stored == {
        "accounts": {(r["account_id"],) for r in rows},
        "contacts": {(r["contact_email"], r["account_id"]) for r in rows},
        "sellers": {(r["seller_email"],) for r in rows},
        "assignments": {(r["contact_email"], r["seller_email"]) for r in rows},
    }
    # Each contact points at its account's document.
    accounts = {a["_id"]: a["external_id"] for a in db.accounts.find({"program_id": program_id})}
    for contact in db.contacts.find({"program_id": program_id}):
        assert accounts[contact["account_id"]] == contact["account_external_id"]


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory):
    """The embedded default of `make dev`: the local wire server on its SQLite engine."""
    path = tmp_path_factory.mktemp("sqlite") / "rapport.sqlite"
    server = LocalMongo(engine="sqlite", path=str(path)).start()
    yield server
    server.stop()


@pytest.fixture
def sqlite_db(sqlite_server):
    client = pymongo.MongoClient(sqlite_server.uri, tz_aware=True)
    database = client[f"rapport_test_{uuid.uuid4().hex[:12]}"]
    ensure_indexes(database)
    yield database
    client.drop_database(database.name)
    client.close()


@pytest.mark.slow
def test_a_roster_of_600_contacts_imports_completely_into_the_embedded_sqlite_server(sqlite_db):
    # One batch of 600 contacts: its `$in` of 600 keys went past SQLite's expression depth.
    admin = make_admin(sqlite_db)
    program = admin.program()
    rows = many_contacts(600, second_every=10)
    response = admin.import_csv(program["id"], roster_csv(rows))
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["contacts_created"], report["assignments_created"]) == (600, 660)
    assert (report["accounts_created"], report["sellers_created"]) == (100, 5)
    assert report["rows_imported"] == 660 and report["rows_rejected"] == 0
    assert_every_row_landed(sqlite_db, program["id"], rows)
    again = admin.import_csv(program["id"], roster_csv(rows)).get_json()
    assert {k: v for k, v in again.items() if k.endswith(("_created", "_updated", "_removed"))} == {
        k: 0 for k in again if k.endswith(("_created", "_updated", "_removed"))
    }


def test_a_nul_in_an_account_id_is_a_row_error_on_the_embedded_sqlite_server_too(sqlite_db):
    # SQLite's json_extract cuts a string at U+0000: such an account, once written, was never
    # found again, and the next import of it wrote the accounts and then failed with a 500.
    admin = make_admin(sqlite_db)
    program = admin.program()
    rows = [{**SAMPLE_ROWS[0], "account_id": "a\u0000b"}, SAMPLE_ROWS[3]]
    for _ in range(2):
        response = admin.post(f"/api/v1/programs/{program['id']}/roster", json={"rows": rows})
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["errors"] == [
            {"row": 1, "column": "account_id", "message": "contains the control character U+0000"}
        ]
    assert [a["external_id"] for a in sqlite_db.accounts.find()] == ["B-2"]
    assert [c["email"] for c in sqlite_db.contacts.find()] == ["bea@beta.example"]


def test_a_roster_of_several_batches_imports_every_contact_and_assignment(admin, program, db):
    rows = many_contacts(3000, second_every=4)  # 3,750 rows: four batches of 1,000
    response = _import(admin, program, rows)
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["contacts_created"], report["assignments_created"]) == (3000, 3750)
    assert report["accounts_created"] == 500
    assert_every_row_landed(db, program["id"], rows)
    again = _import(admin, program, rows).get_json()
    assert again["contacts_created"] == again["contacts_updated"] == 0
    assert again["assignments_created"] == again["assignments_updated"] == 0


class StopServerAfterUpdates(monitoring.CommandListener):
    """Stops the local server right after the n-th write command succeeds, once armed: the
    database goes away in the middle of an import."""

    def __init__(self, server: LocalMongo) -> None:
        self.server = server
        self.remaining: int | None = None

    def arm(self, updates: int) -> None:
        self.remaining = updates

    def started(self, event) -> None:
        pass

    def succeeded(self, event) -> None:
        if self.remaining is not None and event.command_name == "update":
            self.remaining -= 1
            if self.remaining == 0:
                self.server.stop()

    def failed(self, event) -> None:
        pass


@pytest.fixture
def server_that_goes_away(tmp_path: Path):
    """A SQLite-engine server of its own, a client that notices quickly when it is gone, and
    a way to start it again on the same file and port."""
    path = str(tmp_path / "rapport.sqlite")
    server = LocalMongo(engine="sqlite", path=path).start()
    listener = StopServerAfterUpdates(server)
    client = pymongo.MongoClient(
        server.uri, tz_aware=True, event_listeners=[listener], serverSelectionTimeoutMS=1500
    )
    db = client["rapport"]
    ensure_indexes(db)
    servers = [server]

    def restart() -> None:
        servers.append(LocalMongo(engine="sqlite", path=path, port=server.port).start())

    yield db, listener, restart
    client.close()
    for each in servers:
        each.stop()


def test_a_database_lost_after_the_accounts_answers_503_saying_so_and_a_reimport_finishes(
    server_that_goes_away,
):
    db, listener, restart = server_that_goes_away
    admin = make_admin(db)
    program = admin.program()
    rows = many_contacts(60)
    listener.arm(1)  # the server stops once the accounts are written, before any contact
    response = admin.import_csv(program["id"], roster_csv(rows))
    assert response.status_code == 503, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "import_interrupted"
    assert "no row is completely imported yet" in error["message"]
    assert "import the same file again to finish" in error["message"]
    assert error["details"]["rows"] == ["2 on: not imported, or only in part"]
    assert error["details"]["database"] == ["the database could not be reached"]
    assert error["last_row_imported"] is None
    restart()
    assert db.accounts.count_documents({}) == 10  # what was said: accounts only
    assert db.contacts.count_documents({}) == 0
    again = admin.import_csv(program["id"], roster_csv(rows))
    assert again.status_code == 200, again.get_json()
    report = again.get_json()
    assert (report["accounts_created"], report["accounts_updated"]) == (0, 0)
    assert (report["contacts_created"], report["assignments_created"]) == (60, 60)
    assert_every_row_landed(db, program["id"], rows)


def test_a_database_lost_between_batches_names_the_rows_imported_and_a_reimport_finishes(
    server_that_goes_away,
):
    db, listener, restart = server_that_goes_away
    admin = make_admin(db)
    program = admin.program()
    rows = many_contacts(60)
    data = roster_csv(rows).encode()
    # Batch 1 (rows 2-21) writes accounts, sellers, contacts, assignments; then batch 2's accounts.
    listener.arm(5)
    with pytest.raises(roster.RosterImportInterrupted) as caught:
        roster.import_roster_csv(
            db=db, org_id=admin.org_id, program_id=program["id"], data=data, batch_rows=20
        )
    error = caught.value
    assert error.status == 503
    assert "rows 2-21 are imported, rows after 21 are not, or only in part" in error.message
    assert error.details["rows"] == ["2-21: imported", "22 on: not imported, or only in part"]
    assert error.extra == {"last_row_imported": 21}
    restart()
    assert_every_row_landed_of_first = {c["email"] for c in db.contacts.find({}, {"email": 1})}
    assert assert_every_row_landed_of_first == {r["contact_email"] for r in rows[:20]}
    report = roster.import_roster_csv(
        db=db, org_id=admin.org_id, program_id=program["id"], data=data, batch_rows=20
    )
    assert (report.contacts_created, report.assignments_created) == (40, 40)
    assert report.contacts_updated == report.assignments_updated == 0
    assert_every_row_landed(db, program["id"], rows)


# --- values and bodies that must be a 400 naming the problem -------------------------------


@pytest.mark.parametrize(
    "account_id, code",
    [("\u0000", "U+0000"), ("a\u0000b", "U+0000"), ("A-1\u001b", "U+001B"), ("x\u0085y", "U+0085")],
)
def test_a_control_character_in_an_identifier_is_a_row_error_and_writes_nothing(
    admin, program, db, account_id, code
):
    body = {"rows": [{**SAMPLE_ROWS[0], "account_id": account_id}]}
    response = admin.post(f"/api/v1/programs/{program['id']}/roster", json=body)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["details"] == {"account_id": [f"row 1: contains the control character {code}"]}
    for name in ("accounts", "contacts", "sellers", "assignments"):
        assert db[name].count_documents({}) == 0, name


def test_a_row_with_a_control_character_is_reported_and_the_other_rows_imported(admin, program, db):
    rows = [
        SAMPLE_ROWS[0],
        {**SAMPLE_ROWS[2], "contact_name": "Amy\u0000Buyer"},
        {**SAMPLE_ROWS[3], "account_id": "B\u00002"},
    ]
    response = admin.post(f"/api/v1/programs/{program['id']}/roster", json={"rows": rows})
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["errors"] == [
        {"row": 2, "column": "contact_name", "message": "contains the control character U+0000"},
        {"row": 3, "column": "account_id", "message": "contains the control character U+0000"},
    ]
    assert [a["external_id"] for a in db.accounts.find()] == ["A-1"]
    assert [c["email"] for c in db.contacts.find()] == ["joe@acme.example"]


def test_a_hundred_thousand_empty_json_rows_are_a_short_400_naming_the_first_rows(
    admin, program, db
):
    body = json.dumps({"rows": [{}] * 100_000})
    response = admin.post(
        f"/api/v1/programs/{program['id']}/roster", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert len(response.data) < 20_000, len(response.data)
    error = response.get_json()["error"]
    assert error["errors_truncated"] is True
    assert error["message"].startswith("invalid input: rows.0.account_id: Missing data")
    assert error["message"].endswith("; the rows after rows.19 were not checked")
    named_rows = {key.split(".")[1] for key in error["details"]}
    assert named_rows == {str(i) for i in range(20)}
    assert error["details"]["rows.19.seller_name"] == ["Missing data for required field."]
    assert db.accounts.count_documents({}) == 0


def test_csv_rows_that_are_all_bad_list_fifty_problems_and_say_there_are_more(admin, program):
    rows = [{**SAMPLE_ROWS[0], "annual_revenue": "-1"} for _ in range(80)]
    response = _import(admin, program, rows)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert len(error["details"]["annual_revenue"]) == 50
    assert error["errors_truncated"] is True


@pytest.mark.parametrize(
    "lines, named",
    [
        (["x" * 140_000, "A-1"], "line 1 (the header)"),
        (["sep=,", ",".join(HEADER) + "," + "y" * 140_000], "line 2 (the header)"),
        (["", "", '"' + "z" * 140_000 + '"'], "line 3 (the header)"),
    ],
    ids=["first-line", "after-sep-line", "after-blank-lines"],
)
def test_a_csv_header_longer_than_the_csv_field_limit_is_a_400_naming_the_line(
    admin, program, db, lines, named
):
    response = admin.import_csv(program["id"], "\r\n".join(lines) + "\r\n")
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["message"].startswith(named), error["message"]
    assert "a cell is longer than 131,072 characters" in error["message"]
    assert db.accounts.count_documents({}) == 0


def test_a_csv_row_with_a_cell_over_the_field_limit_is_a_400_naming_the_row(admin, program, db):
    text = roster_csv(
        [SAMPLE_ROWS[0], {**SAMPLE_ROWS[1], "account_name": "n" * 140_000}, SAMPLE_ROWS[2]]
    )
    response = admin.import_csv(program["id"], text)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["message"] == (
        "row 3: the CSV cannot be read (a cell is longer than 131,072 characters)"
    )
    assert db.accounts.count_documents({}) == 0
