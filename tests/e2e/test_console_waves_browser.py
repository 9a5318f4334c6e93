"""Issue 15's journey in a real browser (Debian's headless Chromium), one session: an admin
signs in, opens the program, creates a wave, previews the questionnaire, launches, watches a
response arrive without reloading, reminds, invites a late contact, copies a link, reads
the email log, closes. axe-core checks every wave page; screenshots under test-artifacts/.

The program and its 500-row roster (3 bad rows) are made through the product's own
functions (create_program, import_roster_csv): the browser pages for those are on another
branch (h15roster)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from services.survey.admin.programs import create_program
from services.survey.admin.roster import import_roster_csv
from services.survey.admin.roster_file import REQUIRED_COLUMNS
from services.survey.admin.waves import wave_links
from services.survey.organisations import ensure_organisation
from tests.conftest import isolated_settings
from tests.integration.test_admin_support import admin_app
from tests.support.browser import assert_accessible, axe_source, launch_chromium, live_server
from tests.support.console import PASSWORD, make_user
from tests.support.survey_fixtures import complete_answers

pytestmark = pytest.mark.browser

ROWS = 500
PHONE = {"width": 360, "height": 740}


def roster(rows: int = ROWS, extra: tuple[list, ...] = ()) -> bytes:
    """A roster of `rows` rows over 100 accounts and 20 sellers; rows 100, 200 and 300 are
    bad (no email, a bad role, no account name)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REQUIRED_COLUMNS)
    roles = ("decision_maker", "user", "influencer")
    for n in range(rows):
        a, s = n % 100, n % 20
        row = [
            f"ACC-{a:03d}",
            f"Account {a}",
            100_000 + a,
            f"buyer{n}@account{a}.example",
            f"Buyer {n}",
            roles[n % 3],
            f"seller{s}@vendor.example",
            f"Seller {s}",
        ]
        if n == 100:
            row[3] = ""
        elif n == 200:
            row[5] = "boss"
        elif n == 300:
            row[1] = ""
        writer.writerow(row)
    for row in extra:
        writer.writerow(row)
    return out.getvalue().encode()


LATE = ["ACC-007", "Account 7", 100_007, "late@account7.example", "Lea Late", "user",
        "seller7@vendor.example", "Seller 7"]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def _submit_a_buyer_response(page, url: str, token: str) -> None:
    """Answer and submit through the respondent JSON API, over HTTP, the page left open."""
    person = page.request.get(f"{url}/api/v1/respond/{token}").json()
    for subject in person["subjects"]:
        done = page.request.post(
            f"{url}/api/v1/respond/{token}/subjects/{subject['subject_id']}/submit",
            data={"answers": complete_answers()},
        )
        assert done.status == 200, done.text()


def test_an_admin_creates_previews_launches_watches_reminds_invites_late_and_closes(browser, db):
    from playwright.sync_api import expect

    org_id = ensure_organisation(db=db, name="acme")
    program = create_program(db=db, org_id=org_id, name="Key accounts 2026")
    report = import_roster_csv(db=db, org_id=org_id, program_id=program["_id"], data=roster())
    assert (report.rows_imported, report.rows_rejected) == (497, 3)
    assert sorted(e.row for e in report.errors) == [102, 202, 302]  # header is line 1
    make_user(db, email="ada@acme.example", role="admin")
    settings = isolated_settings()
    axe = axe_source()
    with live_server(admin_app(db, settings=settings)) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        # sign in, open the program, its waves
        page.goto(url + "/app/sign-in")
        page.get_by_label("Email", exact=True).first.fill("ada@acme.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Key accounts 2026").click()
        page.get_by_role("link", name=re.compile("^Waves")).click()
        assert page.get_by_role("heading", level=1).inner_text() == "Waves of Key accounts 2026"
        assert_accessible(page, axe, "waves-1-list")

        # create a wave: a closing date in the past first, its message next to the field
        page.get_by_label("Name").fill("Spring 2026")
        page.get_by_label("Closes at (UTC)").fill("2020-01-01T12:00")
        page.get_by_role("button", name="Create the wave").click()
        assert "must be in the future" in page.locator("#wave-closes_at-error").inner_text()
        assert page.get_by_label("Closes at (UTC)").get_attribute("aria-invalid") == "true"
        assert_accessible(page, axe, "waves-2-create-refused")
        page.get_by_label("Closes at (UTC)").fill("2099-06-30T17:00")
        page.get_by_role("button", name="Create the wave").click()
        assert page.get_by_role("status").inner_text() == "Wave “Spring 2026” created as a draft."
        assert_accessible(page, axe, "waves-3-draft")

        # preview as a buyer, then as a seller in another language
        page.get_by_role("link", name="Preview the questionnaire").click()
        assert "as a buyer reads it (en)" in page.get_by_role("heading", level=1).inner_text()
        assert page.locator(".preview-question").count() > 10
        assert_accessible(page, axe, "waves-4-preview-buyer")
        seller = page.get_by_role("link", name=re.compile(r"^As a seller, (?!en)"))
        if seller.count():
            seller.first.click()
        else:
            page.get_by_role("link", name="As a seller, en").click()
        assert "as a seller reads it" in page.get_by_role("heading", level=1).inner_text()
        assert_accessible(page, axe, "waves-5-preview-seller")

        # launch: the confirmation gives the counts
        page.get_by_role("navigation", name="Wave").get_by_role("link", name="Wave").click()
        page.get_by_role("link", name="Launch…").click()
        assert page.locator("#launch-buyers").inner_text() == "497"
        assert page.locator("#launch-sellers").inner_text() == "20"
        assert_accessible(page, axe, "waves-6-launch-confirm")
        page.get_by_role("button", name=re.compile("^Launch and invite 497 buyers")).click()
        assert (
            "Launched: 497 buyers and 20 sellers invited."
            in page.get_by_role("status").first.inner_text()
        )
        assert page.locator("#buyers-completed").inner_text() == "0"
        assert_accessible(page, axe, "waves-7-open")

        # a response arrives; the polled part shows it without a reload
        page.evaluate("window.stillTheSamePage = true")
        wave_id = page.url.rsplit("/", 1)[1]
        links = wave_links(db=db, settings=settings, org_id=org_id, wave_id=wave_id)
        buyer = next(link for link in links if link["side"] == "buyer")
        _submit_a_buyer_response(page, url, buyer["token"])
        expect(page.locator("#buyers-completed")).to_have_text("1", timeout=15_000)
        expect(page.locator("#buyers-rate")).to_have_text("0%")  # 1 of 497, rounded
        assert page.evaluate("window.stillTheSamePage") is True
        assert_accessible(page, axe, "waves-8-response-arrived")

        # remind: keyboard only, with a visible focus
        remind = page.get_by_role("button", name="Remind everyone not completed")
        remind.focus()
        assert remind.evaluate("b => getComputedStyle(b).outlineStyle") == "solid"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith(f"/app/waves/{wave_id}"), page.url
        assert "Reminders queued: 516." in page.get_by_role("status").first.inner_text()

        # a contact joins the roster; invite them
        import_roster_csv(
            db=db, org_id=org_id, program_id=program["_id"], data=roster(extra=(LATE,))
        )
        page.get_by_role("button", name="Invite contacts added since launch").click()
        assert (
            "Invited since launch: 1 buyers, 0 sellers"
            in page.get_by_role("status").first.inner_text()
        )

        # a person's link: copy it
        page.get_by_role("link", name="Only silent decision makers").click()
        page.get_by_role("link", name=re.compile("^Link of ")).first.click()
        page.get_by_role("button", name="Copy the link").first.click()
        expect(page.get_by_role("status").last).to_have_text("Copied.")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == page.get_by_label(re.compile("link$")).first.input_value()
        assert_accessible(page, axe, "waves-9-link")

        # the email log, then close
        page.goto(f"{url}/app/waves/{wave_id}/emails")
        assert_accessible(page, axe, "waves-10-email-log")
        page.goto(f"{url}/app/waves/{wave_id}")
        page.get_by_role("link", name="Close the wave…").click()
        assert_accessible(page, axe, "waves-11-close-confirm")
        page.get_by_role("button", name="Close the wave now").click()
        assert "The wave is closing" in page.get_by_role("status").first.inner_text()
        assert db.waves.find_one({"_id": wave_id})["status"] == "closing"

        # the wave page on a phone: nothing wider than the screen
        page.set_viewport_size(PHONE)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert_accessible(page, axe, "waves-12-closed-phone")
        # the refused create form answered 400 (the browser logs it); nothing else failed
        assert [e for e in errors if "status of 400" not in e] == []
        context.close()
