"""The console's program forms and roster pages by role: create and edit a program, the
accounts table (paged, sorted, searched), an account, importing a CSV, downloading it."""

from __future__ import annotations

import csv
import io
import re

import pytest

from services.survey.admin.programs import create_program, get_program
from services.survey.admin.roster import import_roster_csv, import_roster_rows
from services.survey.organisations import ensure_organisation
from shared.store import roster as roster_store
from tests.conftest import isolated_settings
from tests.integration.test_admin_support import SAMPLE_ROWS, admin_app
from tests.support.console import csrf_token, make_user, post_form, sign_in
from tests.support.rosters import roster_file


@pytest.fixture
def app(db):
    return admin_app(db, settings=isolated_settings())


@pytest.fixture
def acme(db):
    org_id = ensure_organisation(db=db, name="acme")
    program = create_program(db=db, org_id=org_id, name="Key accounts 2026")
    import_roster_rows(db=db, org_id=org_id, program_id=program["_id"], rows=list(SAMPLE_ROWS))
    return {"org_id": org_id, "program": program, "id": program["_id"]}


def _client(app, db, role: str, *, org: str = "acme", email: str | None = None):
    email = email or f"{role}@{org}.example"
    make_user(db, org=org, email=email, role=role)
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def _text(response) -> str:
    return response.get_data(as_text=True)


SETTINGS_FORM = {
    "name": "Distributors 2026",
    "cut_points": "35, 55, 75",
    "gap_threshold": "12.5",
    "role_weights.decision_maker": "4",
    "role_weights.influencer": "2",
    "role_weights.user": "1",
    "role_weights.other": "0.5",
    "reminder_days": "2, 5, 9",
    "languages": "en",
    "manager_email": "max@acme.example",
}


# --- programs: create and edit ---------------------------------------------------------------


def test_the_new_program_form_shows_every_setting_with_its_default_and_explanation(app, db):
    client = _client(app, db, "manager")
    page = _text(client.get("/app/programs/new"))
    for label, default in (
        ("Level cut points", "Default: 40, 60, 80."),
        ("Gap threshold", "Default: 10."),
        ("Reminder days", "Default: 3, 7."),
        ("Languages", "Default: en"),
        ("Manager email", "Default: none."),
    ):
        assert f">{label}</label>" in page and default in page, label
    assert "Decision maker</label>" in page and "Default: 3." in page
    assert "a seller rating the relationship this many points above the buyer" in page
    assert 'value="40, 60, 80"' in page  # the defaults filled in


def test_a_manager_creates_a_program_with_its_settings(app, db):
    client = _client(app, db, "manager")
    response = post_form(client, "/app/programs/new", SETTINGS_FORM)
    assert response.status_code == 302
    program_id = re.search(r"/app/programs/([^/?]+)\?created=1", response.location).group(1)
    org_id = ensure_organisation(db=db, name="acme")
    settings = get_program(db=db, org_id=org_id, program_id=program_id)["settings"]
    assert settings["cut_points"] == [35, 55, 75] and settings["gap_threshold"] == 12.5
    assert settings["role_weights"] == {
        "decision_maker": 4,
        "influencer": 2,
        "user": 1,
        "other": 0.5,
    }
    assert (
        settings["reminder_days"] == [2, 5, 9] and settings["manager_email"] == "max@acme.example"
    )
    assert "Program created." in _text(client.get(response.location))


def test_a_refused_form_names_each_field_and_saves_nothing(app, db):
    client = _client(app, db, "admin")
    form = {
        **SETTINGS_FORM,
        "name": "",
        "cut_points": "60, 40, 80",
        "gap_threshold": "ten",
        "role_weights.user": "-1",
        "languages": "en, xx",
        "manager_email": "nobody",
    }
    response = post_form(client, "/app/programs/new", form, form_page="/app/programs/new")
    page = _text(response)
    assert response.status_code == 400 and "Nothing was saved" in page
    for field, message in (
        ("name", "enter the program&#39;s name"),
        ("cut_points", "must be strictly increasing"),
        ("gap_threshold", "&#39;ten&#39; is not a number"),
    ):
        assert re.search(f'id="{field}-error">[^<]*{message}', page), field
    assert 'value="60, 40, 80"' in page  # what was typed comes back
    assert db.programs.count_documents({}) == 0


def test_schema_errors_are_shown_next_to_their_field(app, db):
    client = _client(app, db, "admin")
    form = {
        **SETTINGS_FORM,
        "role_weights.user": "-1",
        "languages": "en, xx",
        "manager_email": "nobody",
    }
    page = _text(post_form(client, "/app/programs/new", form, form_page="/app/programs/new"))
    assert re.search(r'id="role_weights-user-error">[^<]*greater than or equal to 0', page)
    assert re.search(r'id="languages-error">[^<]*item 2: the questionnaire has no', page)
    assert re.search(r'id="manager_email-error">[^<]*email', page, re.IGNORECASE)
    assert db.programs.count_documents({}) == 0


def test_editing_saves_every_setting_at_once_or_nothing(app, db, acme):
    client = _client(app, db, "admin")
    path = f"/app/programs/{acme['id']}/settings"
    page = _text(client.get(path))
    assert 'value="Key accounts 2026"' in page and 'value="40, 60, 80"' in page
    refused = post_form(client, path, {**SETTINGS_FORM, "reminder_days": "9, 2"})
    assert refused.status_code == 400 and "Nothing was saved" in _text(refused)
    unchanged = get_program(db=db, org_id=acme["org_id"], program_id=acme["id"])
    assert unchanged["name"] == "Key accounts 2026"
    assert unchanged["settings"]["cut_points"] == [40, 60, 80]
    saved = post_form(client, path, {**SETTINGS_FORM, "manager_email": ""})
    assert saved.status_code == 302 and saved.location.endswith("?saved=1")
    program = get_program(db=db, org_id=acme["org_id"], program_id=acme["id"])
    assert program["name"] == "Distributors 2026" and program["settings"]["cut_points"] == [
        35,
        55,
        75,
    ]
    assert "manager_email" not in program["settings"]


def test_viewers_may_not_post_and_sellers_or_others_do_not_find_the_forms(app, db, acme):
    viewer = _client(app, db, "viewer")
    token = csrf_token(viewer, "/app/programs")
    for path in ("/app/programs/new", f"/app/programs/{acme['id']}/settings"):
        refused = viewer.post(path, data={**SETTINGS_FORM, "csrf_token": token})
        assert refused.status_code == 403, path
    assert viewer.get("/app/programs/new").status_code == 403
    assert db.programs.count_documents({}) == 1
    seller = _client(app, db, "seller", email="sue@vendor.example")
    assert seller.get(f"/app/programs/{acme['id']}/settings").status_code == 403
    other = _client(app, db, "admin", org="globex")
    assert other.get(f"/app/programs/{acme['id']}/settings").status_code == 404


# --- the accounts table ----------------------------------------------------------------------


@pytest.fixture
def big(db):
    """A program of 120 accounts (ACC-0000 to ACC-0119, revenue 1000 + i)."""
    org_id = ensure_organisation(db=db, name="acme")
    program = create_program(db=db, org_id=org_id, name="Big")
    import_roster_csv(db=db, org_id=org_id, program_id=program["_id"], data=roster_file(120))
    return program["_id"]


def _names(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', page)


def test_the_accounts_table_is_paged_sorted_and_searched_on_the_server(app, db, big):
    client = _client(app, db, "viewer")
    path = f"/app/programs/{big}/accounts"
    first = _text(client.get(path))
    assert _names(first)[:2] == ["Account 0000", "Account 0001"] and len(_names(first)) == 50
    assert "120 accounts, page 1 of 3" in first and 'aria-sort="ascending"' in first
    assert f'href="{path}?page=2"' in first  # a plain link: works without htmx
    last = _text(client.get(path + "?page=3"))
    assert _names(last)[-1] == "Account 0119" and len(_names(last)) == 20
    by_revenue = _text(client.get(path + "?sort=revenue&dir=desc"))
    assert _names(by_revenue)[0] == "Account 0119"
    assert re.search(
        r'<th scope="col" class="number" aria-sort="descending">\s*<a[^>]*>Annual revenue',
        by_revenue,
    )
    searched = _text(client.get(path + "?q=account+011"))
    assert _names(searched) == [f"Account 011{i}" for i in range(10)]
    assert "10 accounts matching “account 011”" in searched
    assert _names(_text(client.get(path + "?q=acc-0005"))) == ["Account 0005"]
    assert "No account matches" in _text(client.get(path + "?q=.*"))  # text, not a pattern
    beyond = _text(client.get(path + "?page=99&sort=nonsense"))
    assert "page 3 of 3" in beyond


def test_the_table_sorts_by_contacts_and_sellers_and_htmx_gets_the_table_only(app, db, acme):
    client = _client(app, db, "manager")
    path = f"/app/programs/{acme['id']}/accounts"
    page = _text(client.get(path + "?sort=contacts&dir=desc"))
    assert _names(page) == ["Acme", "Beta GmbH"]
    counts = re.findall(
        r'<td class="number">(\d+)</td>\s*<td class="number">(\d+)</td>\s*</tr>', page
    )
    assert counts == [("2", "2"), ("1", "1")]  # Joe and Amy, Sue and Tom; Bea, Tom
    assert _names(_text(client.get(path + "?sort=sellers"))) == ["Beta GmbH", "Acme"]
    partial = client.get(
        path + "?q=gmbh", headers={"HX-Request": "true", "HX-Request-Type": "partial"}
    )
    assert _text(partial).lstrip().startswith('<div id="accounts-table"')
    assert "<html" not in _text(partial) and _names(_text(partial)) == ["Beta GmbH"]


def test_an_account_shows_its_contacts_and_sellers(app, db, acme):
    client = _client(app, db, "viewer")
    account = roster_store.find_account(db=db, program_id=acme["id"], external_id="A-1")
    page = _text(client.get(f"/app/programs/{acme['id']}/accounts/{account['_id']}"))
    assert "2 contacts of Acme" in page and "2 sellers of Acme" in page
    assert "joe@acme.example" in page and "Sue Seller, Tom Seller" in page


def test_sellers_and_other_organisations_do_not_find_roster_pages(app, db, acme):
    account = roster_store.find_account(db=db, program_id=acme["id"], external_id="A-1")
    paths = [
        f"/app/programs/{acme['id']}/{p}"
        for p in ("accounts", f"accounts/{account['_id']}", "roster/import", "roster.csv")
    ]
    seller = _client(app, db, "seller", email="sue@vendor.example")
    assert seller.get(f"/app/programs/{acme['id']}").status_code == 200  # their own program
    other = _client(app, db, "admin", org="globex")
    for path in paths:
        assert seller.get(path).status_code == 404, path
        assert other.get(path).status_code == 404, path
    elsewhere = create_program(db=db, org_id=acme["org_id"], name="Other")
    admin = _client(app, db, "admin")
    assert (
        admin.get(f"/app/programs/{elsewhere['_id']}/accounts/{account['_id']}").status_code == 404
    )


# --- import and download ---------------------------------------------------------------------


def _upload(client, program_id: str, data: bytes, name: str = "roster.csv", **headers):
    path = f"/app/programs/{program_id}/roster/import"
    token = csrf_token(client, path)
    return client.post(
        path,
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers=headers,
    )


def test_an_import_reports_its_bad_rows_as_a_table_and_imports_the_others(app, db, big):
    client = _client(app, db, "admin")
    response = _upload(
        client, big, roster_file(30, bad_rows=(4, 10, 21)), **{"X-Rapport-Partial": "import"}
    )
    page = _text(response)
    assert response.status_code == 200 and "<html" not in page  # the script's partial
    assert "Imported 27 rows; 3 rows with problems" in page
    rows = re.findall(r'<tr><td class="number">(\d+)</td><td><code>(\w+)</code></td><td>', page)
    assert rows == [("4", "contact_email"), ("10", "annual_revenue"), ("21", "contact_role")]
    full = _text(_upload(client, big, roster_file(30, bad_rows=(4,))))
    assert "<html" in full and "Imported 29 rows; 1 row with problems" in full


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.csv", "The file chosen is empty"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
            "logo.png",
            "not a CSV file (it is binary)",
        ),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "photo.csv", "not a CSV file (it is binary)"),
        (b"name,email\nJoe,joe@x.example\n", "other.csv", "Missing columns: account_id"),
    ],
    ids=["empty", "png", "jpeg", "not-a-roster"],
)
def test_a_file_that_is_not_a_roster_csv_gets_one_message_and_nothing_is_imported(
    app, db, acme, data, name, message
):
    client = _client(app, db, "manager")
    before = db.accounts.count_documents({})
    response = _upload(client, acme["id"], data, name)
    page = _text(response)
    assert response.status_code == 400 and message in page and "Nothing was imported" in page
    assert page.count('class="form-error"') == 1 and "import-errors" not in page
    assert db.accounts.count_documents({}) == before


def test_a_file_of_only_bad_rows_shows_them_all_and_imports_nothing(app, db, acme):
    client = _client(app, db, "manager")
    before = db.accounts.count_documents({})
    page = _text(_upload(client, acme["id"], roster_file(2, bad_rows=(2, 3))))
    assert "No row could be imported" in page
    assert re.findall(r'<tr><td class="number">(\d+)</td>', page) == ["2", "3"]
    assert db.accounts.count_documents({}) == before


def test_viewers_may_not_import(app, db, acme):
    viewer = _client(app, db, "viewer")
    assert viewer.get(f"/app/programs/{acme['id']}/roster/import").status_code == 403
    token = csrf_token(viewer, f"/app/programs/{acme['id']}/accounts")
    response = viewer.post(
        f"/app/programs/{acme['id']}/roster/import",
        data={"csrf_token": token, "file": (io.BytesIO(roster_file(3)), "r.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert roster_store.find_account(db=db, program_id=acme["id"], external_id="ACC-0000") is None


def test_the_downloaded_roster_is_formula_safe_and_imports_back_unchanged(app, db, acme):
    rows = [
        {
            **SAMPLE_ROWS[0],
            "account_id": "=HYPERLINK(1)",
            "account_name": "@SUM(A1)",
            "contact_email": "eve@evil.example",
            "contact_name": "-2+3",
        }
    ]
    import_roster_rows(db=db, org_id=acme["org_id"], program_id=acme["id"], rows=rows)
    client = _client(app, db, "viewer")
    response = client.get(f"/app/programs/{acme['id']}/roster.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="roster-key-accounts-2026.csv"' in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(_text(response))))
    assert table[0][:3] == ["account_id", "account_name", "annual_revenue"]
    assert len(table) == 1 + len(SAMPLE_ROWS) + 1
    evil = next(r for r in table if r[3] == "eve@evil.example")
    assert evil[:2] == ["'=HYPERLINK(1)", "'@SUM(A1)"] and evil[4] == "'-2+3"
    acme_row = next(r for r in table if r[0] == "A-1")
    assert acme_row[2] == "1000000"
    again = import_roster_csv(
        db=db, org_id=acme["org_id"], program_id=acme["id"], data=response.get_data()
    )
    # the rows Rapport wrote as they were come back unchanged; only the quoted cells differ
    # (Eve, now under the account "'=HYPERLINK(1)" with the name "'-2+3")
    assert again.accounts_created == 1 and again.accounts_updated == 0
    assert again.contacts_updated == 1 and again.sellers_updated == 0


def test_a_later_import_takes_its_place_in_every_sort(app, db, acme):
    client = _client(app, db, "viewer")
    path = f"/app/programs/{acme['id']}/accounts"
    assert _names(_text(client.get(path))) == ["Acme", "Beta GmbH"]
    later = [
        {
            **SAMPLE_ROWS[0],
            "account_id": "Z-9",
            "account_name": "aardvark ltd",
            "annual_revenue": 5,
            "contact_email": "al@aardvark.example",
        }
    ]
    import_roster_rows(db=db, org_id=acme["org_id"], program_id=acme["id"], rows=later)
    assert _names(_text(client.get(path))) == ["aardvark ltd", "Acme", "Beta GmbH"]  # any case
    assert _names(_text(client.get(path + "?sort=revenue")))[0] == "aardvark ltd"
    assert _names(_text(client.get(path + "?sort=revenue&dir=desc")))[-1] == "aardvark ltd"


def test_accounts_without_stored_positions_are_counted_at_the_first_view(app, db, acme):
    # a roster imported before the table's tallies existed, or whose tallies pass failed
    db.accounts.update_many({}, {"$unset": {"rank_name": "", "contact_count": ""}})
    db.programs.update_many({}, {"$unset": {"account_count": ""}, "$set": {"tallies_stale": True}})
    client = _client(app, db, "viewer")
    page = _text(client.get(f"/app/programs/{acme['id']}/accounts"))
    assert _names(page) == ["Acme", "Beta GmbH"] and "2 accounts" in page
    program = db.programs.find_one({"_id": acme["id"]})
    assert program["account_count"] == 2 and program["tallies_stale"] is False
