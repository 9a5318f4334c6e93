"""The console in a real browser (Debian's headless Chromium): an admin signs in with a
password, sees the programs, opens one, edits the organisation's settings, signs out.
axe-core checks every console page; screenshots are kept under test-artifacts/."""

from __future__ import annotations

import pytest

from services.survey.admin.programs import create_program
from services.survey.organisations import ensure_organisation
from tests.conftest import isolated_settings
from tests.integration.test_admin_support import admin_app
from tests.integration.test_console_pages import png
from tests.support.browser import (
    assert_accessible,
    axe_source,
    launch_chromium,
    live_server,
)
from tests.support.console import PASSWORD, make_user

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def _watch_console(page) -> list[str]:
    """Console errors (a CSP violation, a missing file) fail the test."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("screen", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_an_admin_signs_in_sees_the_programs_and_edits_the_organisation(browser, db, screen):
    org_id = ensure_organisation(db=db, name="acme")
    program = create_program(db=db, org_id=org_id, name="Key accounts 2026")
    make_user(db, email="ada@acme.example", role="admin")
    axe = axe_source()
    name = "laptop" if screen is LAPTOP else "phone"
    with live_server(admin_app(db, settings=isolated_settings())) as url:
        context = browser.new_context(viewport=screen)
        page = context.new_page()
        errors = _watch_console(page)

        page.goto(url + "/")
        assert page.url == url + "/app/sign-in"
        assert_accessible(page, axe, f"console-{name}-1-sign-in")
        page.keyboard.press("Tab")  # the skip link comes first
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.get_by_label("Password").fill("wrong password")
        page.get_by_label("Email", exact=True).first.fill("ada@acme.example")
        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_role("alert").inner_text() == "The email or the password is not right."
        assert_accessible(page, axe, f"console-{name}-2-sign-in-refused")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        assert page.url == url + "/app/programs"
        assert page.get_by_role("heading", level=1).inner_text() == "Programs"
        assert page.evaluate("typeof window.htmx") == "object"  # served by Rapport, under CSP
        assert _fits_the_screen(page)
        assert_accessible(page, axe, f"console-{name}-3-programs")
        page.get_by_role("link", name="Key accounts 2026").click()
        assert page.url == f"{url}/app/programs/{program['_id']}"
        assert page.get_by_role("cell", name="gap_threshold").count() == 0  # a row header
        assert page.get_by_role("rowheader", name="gap_threshold").is_visible()
        assert _fits_the_screen(page)
        assert_accessible(page, axe, f"console-{name}-4-program")

        page.get_by_role("navigation").get_by_role("link", name="Organisation").click()
        page.get_by_label("Display name").fill("Northwind Supplies")
        page.get_by_label("Accent colour").fill("blue")
        page.get_by_role("button", name="Save").click()
        assert "must be a colour like #1d4ed8" in page.locator("#accent_color-error").inner_text()
        assert_accessible(page, axe, f"console-{name}-5-organisation-refused")
        assert db.organisations.find_one({"name": "acme"}).get("display_name") is None
        page.get_by_label("Accent colour").fill("#1d4ed8")
        logo = {"name": "logo.png", "mimeType": "image/png", "buffer": png(width=40, height=20)}
        page.get_by_label("Logo").set_input_files(files=[logo])
        page.get_by_role("button", name="Save").click()
        assert page.get_by_role("status").inner_text() == "Saved."
        preview = page.get_by_role("img", name="The current logo of Northwind Supplies")
        assert preview.evaluate("img => img.complete && img.naturalWidth") == 40
        assert _fits_the_screen(page)
        assert_accessible(page, axe, f"console-{name}-6-organisation-saved")
        stored = db.organisations.find_one({"name": "acme"})
        assert stored["display_name"] == "Northwind Supplies"
        assert stored["accent_color"] == "#1d4ed8"

        page.get_by_role("button", name="Sign out").click()
        assert page.url == url + "/app/sign-in"
        page.goto(url + "/app/programs")
        assert page.url.startswith(url + "/app/sign-in")
        # the refused forms answer 400 (the browser logs them); nothing else may fail
        assert [e for e in errors if "status of 400" not in e] == []
        assert len(errors) == 2
        context.close()


def test_a_seller_signs_in_by_a_link_and_cannot_open_another_program(browser, db):
    from services.survey.admin.roster import import_roster_rows
    from services.survey.console.signing_in import sign_in_link
    from tests.integration.test_admin_support import SAMPLE_ROWS

    org_id = ensure_organisation(db=db, name="acme")
    theirs = create_program(db=db, org_id=org_id, name="Key accounts 2026")
    other = create_program(db=db, org_id=org_id, name="Distributors")
    import_roster_rows(db=db, org_id=org_id, program_id=theirs["_id"], rows=list(SAMPLE_ROWS))
    sue = make_user(db, email="sue@vendor.example", role="seller", password=None)
    settings = isolated_settings()
    axe = axe_source()
    with live_server(admin_app(db, settings=settings)) as url:
        link = sign_in_link(settings=settings, person=sue.person).replace(settings.public_url, url)
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        page.goto(link)
        assert page.url == url + "/app/programs"
        assert page.get_by_role("link", name="Key accounts 2026").is_visible()
        assert page.get_by_role("link", name="Distributors").count() == 0
        response = page.goto(f"{url}/app/programs/{other['_id']}")
        assert response.status == 404
        assert page.get_by_role("heading", level=1).inner_text() == "Not found"
        assert_accessible(page, axe, "console-seller-1-not-found")
        # the same link a second time, in another browser: a plain "link not valid"
        stranger = browser.new_context(viewport=PHONE).new_page()
        response = stranger.goto(link)
        assert response.status == 404
        assert stranger.get_by_role("heading", level=1).inner_text() == "Link not valid"
        assert_accessible(stranger, axe, "console-seller-2-link-not-valid")
        stranger.context.close()
        context.close()
