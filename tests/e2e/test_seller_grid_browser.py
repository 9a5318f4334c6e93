"""A seller with 8 buyers answers in the grid in a real browser (Debian's headless Chromium),
at 360 px (a card per buyer) and at 1280 px (a table): at most 10 page loads, counted; leaves
mid-way and resumes; 8 separate completions arrive. axe-core checks each new page."""

from __future__ import annotations

import pytest

from services.survey.respond import grid
from tests.conftest import isolated_settings
from tests.support.browser import assert_accessible, axe_source, launch_chromium, live_server
from tests.support.survey_fixtures import make_wave, survey_app

pytestmark = pytest.mark.browser

SCREENS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 900}}

# Every open radio group of the page answered: recommend 8, the rest 6 (a script, so the
# test stays fast; the first group of each page is clicked as a person would).
_ANSWER_ALL = """() => {
    const groups = new Set([...document.querySelectorAll('input[type=radio]')].map(i => i.name));
    for (const name of groups) {
        const value = name.endsWith('/recommend') ? '8' : '6';
        document.querySelector(`input[name="${name}"][value="${value}"]`).checked = true;
    }
    return groups.size;
}"""


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


def _counting_page(browser, viewport: dict, loads: list[str]):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.on("load", lambda p: loads.append(p.url))
    return context, page


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _answer_page(page, screen: str, shot: bool, axe: str) -> None:
    first = page.locator("input[type=radio]").first
    first.check()  # a real click on the first answer of the page
    assert page.evaluate(_ANSWER_ALL) == 8 * (2 if "ratings" in page.url else 3)
    if shot:
        assert_accessible(page, axe, f"grid-{screen}-{page.url.rsplit('/', 1)[-1]}")
    page.get_by_role("button", name="Next").or_(
        page.get_by_role("button", name="Go on to submit")
    ).click()


@pytest.mark.parametrize("screen", list(SCREENS))
def test_a_seller_with_8_buyers_completes_the_grid_in_at_most_10_pages(
    browser, db, settings, axe, screen
):
    world = make_wave(db, settings, buyers=8, sellers=1)
    seller = world.sellers[0]
    loads: list[str] = []
    with live_server(survey_app(db, settings)) as server:
        context, page = _counting_page(browser, SCREENS[screen], loads)
        page.goto(f"{server}/s/{seller.token}")
        assert_accessible(page, axe, f"grid-{screen}-welcome")
        page.get_by_role("link", name="Start").click()
        for n in range(3):  # trust, competence, recognition; then the seller leaves
            assert page.url.endswith(f"/grid/{grid.grid_pages()[n]}")
            if screen == "phone":
                assert _fits(page), "the grid scrolls sideways on a phone"
            _answer_page(page, screen, shot=n == 0, axe=axe)
        context.close()

        context, page = _counting_page(browser, SCREENS[screen], loads)
        page.goto(f"{server}/s/{seller.token}")  # resumes where the seller stopped
        assert page.url.endswith(f"/grid/{grid.grid_pages()[3]}")
        checked = page.locator("input[type=radio]:checked").count()
        assert checked == 0  # a new page: nothing answered on it yet
        while "/grid/submit" not in page.url:
            _answer_page(page, screen, shot=page.url.endswith("/ratings"), axe=axe)
        assert page.get_by_text("Ready to submit").count() == 8
        assert_accessible(page, axe, f"grid-{screen}-submit")
        page.get_by_role("button", name="Submit the 8 ready buyer contacts").click()
        assert page.url.endswith("/done")
        assert_accessible(page, axe, f"grid-{screen}-done")
        context.close()

    # the pages a seller goes through (the resume's entry through the link is the same page
    # again, and a loaded machine may record one load twice): at most 10 distinct pages
    assert len(set(loads)) <= 10, loads
    responses = list(db.responses.find({"invitation_id": seller.invitation_id}))
    completions = [e for r in responses for e in r["outbox"] if e["type"] == "response.completed"]
    assert len(completions) == 8
    assert {e["payload"]["subject_id"] for e in completions} == set(seller.subject_ids)
