"""The program half of the console in a real browser (Debian's headless Chromium): an admin
creates a program, imports a 500-row roster with 3 bad rows from the browser and sees those
rows' errors, pages, sorts and searches the accounts table without reloading, opens an
account, downloads the roster; then the table on a phone. axe on every page; screenshots
under test-artifacts/."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.conftest import isolated_settings
from tests.e2e.test_console_browser import LAPTOP, PHONE, _fits_the_screen, _watch_console
from tests.integration.test_admin_support import admin_app
from tests.support.browser import assert_accessible, axe_source, launch_chromium, live_server
from tests.support.console import PASSWORD, make_user
from tests.support.rosters import roster_file

pytestmark = pytest.mark.browser

BAD_ROWS = (10, 250, 480)  # file rows (the header is row 1): accounts 8, 248 and 478


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


_WATCH_PROGRESS = """
window.progressSaid = [];
const status = document.getElementById('import-status');
new MutationObserver(() => window.progressSaid.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true});
"""


def _create_program(page, url: str, axe: str) -> None:
    page.goto(url + "/app/sign-in")
    page.get_by_label("Email", exact=True).first.fill("ada@acme.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="New program").click()
    assert page.get_by_label("Gap threshold").input_value() == "10"
    assert_accessible(page, axe, "roster-1-new-program")
    page.get_by_label("Name").fill("Key accounts 2026")
    page.get_by_role("button", name="Create the program").click()
    assert page.get_by_role("status").inner_text() == "Program created."
    assert page.get_by_role("heading", level=1).inner_text() == "Key accounts 2026"
    assert_accessible(page, axe, "roster-2-program")


def _import(page, axe: str) -> None:
    page.get_by_role("link", name="Import a CSV").click()
    assert_accessible(page, axe, "roster-3-import")
    data = roster_file(500, bad_rows=BAD_ROWS)
    page.get_by_label("Roster file (CSV)").set_input_files(
        files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": data}]
    )
    page.evaluate("window.stillThisPage = true")
    page.evaluate(_WATCH_PROGRESS)
    page.get_by_role("button", name="Import").click()
    heading = page.locator("#import-result h2")
    heading.wait_for()
    assert heading.inner_text() == "Imported 497 rows; 3 rows with problems"
    assert page.evaluate("window.stillThisPage") is True  # sent by the script, no reload
    said = page.evaluate("window.progressSaid")  # what the progress bar's status said
    assert said[0] == "Uploading: 0%" and "Uploaded (100%); importing the rows…" in said
    assert page.locator("#import-progress").is_hidden()  # and gone once the result is in
    table = page.get_by_role("table", name=re.compile("Rows with problems"))
    rows = table.locator("tbody tr")
    assert rows.count() == 3
    shown = [rows.nth(i).locator("td").all_inner_texts()[:2] for i in range(3)]
    assert shown == [["10", "contact_email"], ["250", "annual_revenue"], ["480", "contact_role"]]
    assert_accessible(page, axe, "roster-4-import-errors")


def _browse(page, url: str, axe: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="See the accounts").click()
    caption = page.locator("#accounts-caption")
    assert caption.inner_text() == "497 accounts, page 1 of 10"
    assert_accessible(page, axe, "roster-5-accounts")
    page.evaluate("window.stillThisPage = true")
    page.get_by_role("link", name="Next").click()
    expect(caption).to_contain_text("page 2 of 10")
    assert page.url.endswith("/accounts?page=2")  # the address follows, for back and reload
    page.get_by_role("link", name=re.compile("^Annual revenue")).click()
    expect(page.locator("th[aria-sort]")).to_contain_text("Annual revenue")
    assert page.locator("th[aria-sort]").get_attribute("aria-sort") == "descending"
    assert page.locator("tbody th a").first.inner_text() == "Account 0499"
    page.get_by_label("Search accounts").fill("account 049")
    expect(caption).to_contain_text("matching")
    assert caption.inner_text() == "10 accounts matching “account 049”"
    assert page.evaluate("window.stillThisPage") is True  # htmx swapped the table only
    assert_accessible(page, axe, "roster-6-accounts-searched")
    page.get_by_role("link", name="Account 0495").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Account 0495"
    assert "buyer495@account495.example" in page.get_by_role("table").first.inner_text()
    assert_accessible(page, axe, "roster-7-account")
    page.go_back()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the roster (CSV)").click()
    text = open(download.value.path(), encoding="utf-8").read()
    table = list(csv.reader(io.StringIO(text)))
    assert len(table) == 1 + 497 and table[1][0] == "ACC-0000"


def test_an_admin_creates_a_program_imports_a_roster_and_browses_its_accounts(browser, db):
    make_user(db, email="ada@acme.example", role="admin")
    axe = axe_source()
    with live_server(admin_app(db, settings=isolated_settings())) as url:
        context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
        page = context.new_page()
        errors = _watch_console(page)
        _create_program(page, url, axe)
        _import(page, axe)
        _browse(page, url, axe)
        page.set_viewport_size(PHONE)
        page.goto(page.url.split("?")[0])
        assert _fits_the_screen(page)  # the table scrolls inside its own region
        page.keyboard.press("Tab")
        assert_accessible(page, axe, "roster-8-accounts-phone")
        assert errors == []
        context.close()
