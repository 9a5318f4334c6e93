"""Respondents in a real browser: Debian's headless Chromium, driven by Playwright.

A buyer on a phone-sized screen answers, closes the tab, comes back through the link,
resumes and submits; a seller answers for two buyers. axe-core checks every page type.
Screenshots are kept under test-artifacts/.
"""

from __future__ import annotations

import pytest

from tests.conftest import isolated_settings
from tests.support.browser import (
    assert_accessible,
    axe_source,
    launch_chromium,
    live_server,
    screenshot,
)
from tests.support.survey_fixtures import make_wave, survey_app

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def axe():
    return axe_source()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def settings():
    return isolated_settings()


@pytest.fixture
def server(db, settings):
    with live_server(survey_app(db, settings)) as url:
        yield url


def _watch_console(page) -> list[str]:
    """Console errors (a CSP violation, a missing file) fail the test."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def _heading(page) -> str:
    return page.locator("h1").inner_text().strip()


def _pick(page, item_id: str, value: object) -> None:
    page.locator(f'input[name="{item_id}"][value="{value}"]').check()


def _next(page) -> None:
    page.get_by_role("button", name="Next").click()


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_buyer_on_a_phone_answers_leaves_comes_back_and_submits(
    browser, server, db, settings, axe
):
    world = make_wave(db, settings, buyers=1)
    person = world.buyers[0]
    link = f"{server}/s/{person.token}"
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = _watch_console(page)

    page.goto(link)
    assert _heading(page) == "Your view of working with Northwind Supplies"
    assert _fits_the_screen(page)
    assert_accessible(page, axe, "buyer-1-welcome")
    page.get_by_role("link", name="Start").click()

    assert _heading(page) == "Trust, competence and recognition"
    assert page.get_by_text("Page 1 of 7").is_visible()
    pages_seen = {page.url}
    for n, value in ((1, 6), (2, 7), (3, "dk")):
        _pick(page, f"trust.{n}", value)
    _pick(page, "competence.1", 5)
    _pick(page, "competence.2", 5)
    assert _fits_the_screen(page)
    assert_accessible(page, axe, "buyer-2-section-trust")

    # Keyboard only: Tab into a question, Space and arrows choose, Enter goes on.
    page.locator('input[name="competence.2"][value="5"]').focus()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "recognition.1":
            break
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "recognition.2"
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_url("**/proactivity")
    assert _heading(page) == "Proactivity, responsiveness and commitment"
    saved = db.responses.find_one({"invitation_id": person.invitation_id})["answers"]
    assert saved == {
        "trust.1": 6,
        "trust.2": 7,
        "trust.3": None,
        "competence.1": 5,
        "competence.2": 5,
        "recognition.1": 4,
        "recognition.2": 2,
    }
    page.close()  # the buyer closes the tab

    page = context.new_page()
    errors += _watch_console(page)
    page.goto(link)
    assert _heading(page) == "Proactivity, responsiveness and commitment", "resumes"
    page.get_by_role("button", name="Back").click()
    assert _heading(page) == "Trust, competence and recognition"
    assert page.locator('input[name="recognition.1"][value="4"]').is_checked()
    _next(page)

    pages_seen.add(page.url)
    for item in ("proactivity", "responsiveness", "commitment"):
        _pick(page, f"{item}.1", 6)
        _pick(page, f"{item}.2", 4)
    _next(page)
    assert _heading(page) == "Recommendation and overall satisfaction"
    pages_seen.add(page.url)
    _pick(page, "recommend", 9)
    assert _fits_the_screen(page), "0-10 fits a phone"
    tops = page.evaluate(
        """() => [...document.querySelectorAll('input[name="recommend"]:not([value="dk"])')]
            .map(i => i.closest('label').getBoundingClientRect())
            .map(r => [Math.round(r.top), Math.round(r.right)])"""
    )
    assert len(tops) == 11
    assert len({top for top, _ in tops}) == 1, f"0-10 is one row at 360 px: {tops}"
    assert max(right for _, right in tops) <= PHONE["width"]
    screenshot(page, "buyer-3-recommend")
    _pick(page, "satisfaction", 6)
    _next(page)
    assert _heading(page) == "Working together"
    pages_seen.add(page.url)
    _next(page)
    assert _heading(page) == "Moments that stood out"
    pages_seen.add(page.url)
    page.get_by_label("Where it happened").first.select_option("delivery")
    page.get_by_label("How it felt").first.select_option("let_down")
    page.get_by_label("What happened").first.fill("The March delivery was two weeks late.")
    assert_accessible(page, axe, "buyer-4-section-moments")
    _next(page)
    assert _heading(page) == "Compared with the leader and in your own words"
    pages_seen.add(page.url)
    page.locator('textarea[name="comment.start"]').fill("Visit us once a quarter.")
    page.get_by_role("button", name="Review answers").click()
    pages_seen.add(page.url)
    assert len(pages_seen) <= 7, sorted(pages_seen)

    assert _heading(page) == "Review and submit"
    assert page.get_by_text("The March delivery was two weeks late.").is_visible()
    assert_accessible(page, axe, "buyer-5-review")
    page.get_by_role("button", name="Submit answers").click()

    assert _heading(page) == "Thank you"
    assert page.url == f"{link}/done"
    assert_accessible(page, axe, "buyer-6-done")
    response = db.responses.find_one({"invitation_id": person.invitation_id})
    assert response["status"] == "completed"
    assert response["answers"]["recommend"] == 9
    assert response["answers"]["comment.start"] == "Visit us once a quarter."
    assert response["outbox"][0]["status"] == "sent"
    assert db.invitations.find_one({"_id": person.invitation_id})["status"] == "completed"

    page.goto(link)
    assert _heading(page) == "Already submitted"
    assert errors == []
    context.close()


def _answer_minimum(page) -> None:
    """Four dimensions with two answers each and the recommendation: enough to submit."""
    for section in ("trust", "competence", "recognition", "proactivity"):
        _pick(page, f"{section}.1", 5)
        _pick(page, f"{section}.2", 3)
        if section == "recognition":
            _next(page)
    _next(page)  # responsiveness and commitment left out
    _pick(page, "recommend", 7)
    for _ in range(3):  # satisfaction .. comments
        _next(page)
    page.get_by_role("button", name="Review answers").click()


def test_a_seller_answers_the_mirrored_questionnaire_for_two_buyers(
    browser, server, db, settings, axe
):
    world = make_wave(db, settings, buyers=2, sellers=1)
    seller = world.sellers[0]
    link = f"{server}/s/{seller.token}"
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    errors = _watch_console(page)

    page.goto(link)
    assert _heading(page) == "How do your clients see working with us?"
    assert_accessible(page, axe, "seller-1-welcome")
    page.get_by_role("link", name="Start").click()

    assert _heading(page) == "Your buyer contacts"
    assert page.locator(".status-not_started").count() == 2
    assert_accessible(page, axe, "seller-2-list")
    page.get_by_role("link", name="Next: Buyer 1, Account 1").click()

    assert page.get_by_text("Buyer 1 would say that we keep our promises.").is_visible()
    assert page.get_by_text("About Buyer 1, Account 1").is_visible()
    assert_accessible(page, axe, "seller-3-section-trust")
    _answer_minimum(page)
    assert _heading(page) == "Review and submit"
    page.get_by_role("button", name="Submit answers").click()

    assert _heading(page) == "Your buyer contacts"
    assert page.get_by_role("status").inner_text().startswith("Thank you")
    assert page.locator(".status-completed").count() == 1
    screenshot(page, "seller-4-list-one-done")
    page.get_by_role("link", name="Next: Buyer 2, Account 1").click()
    assert page.get_by_text("Buyer 2 would say that we keep our promises.").is_visible()
    _answer_minimum(page)
    page.get_by_role("button", name="Submit answers").click()

    assert _heading(page) == "Thank you"
    assert_accessible(page, axe, "seller-5-done")
    responses = list(db.responses.find({"invitation_id": seller.invitation_id}))
    assert sorted(r["contact_id"] for r in responses) == sorted(seller.subject_ids)
    assert {r["status"] for r in responses} == {"completed"}
    assert db.invitations.find_one({"_id": seller.invitation_id})["status"] == "completed"
    assert errors == []
    context.close()


def test_a_link_that_is_not_valid_gets_a_plain_accessible_page(browser, server, axe):
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    response = page.goto(f"{server}/s/not-a-valid-link")
    assert response.status == 404
    assert _heading(page) == "Link not valid"
    assert_accessible(page, axe, "link-not-valid")
    context.close()
