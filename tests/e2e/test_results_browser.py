"""The results pages in a real browser (Debian's headless Chromium) on a scored synthetic
wave: every chart is drawn (an SVG with marks) under the strict CSP, every chart has its data
table, axe finds no serious or critical violation; screenshots at 360 and 1280 px are kept
under test-artifacts/."""

from __future__ import annotations

import uuid

import pytest

from shared.store.database import ensure_indexes
from tests.conftest import isolated_settings
from tests.support.browser import assert_accessible, axe_source, launch_chromium, live_server
from tests.support.console import PASSWORD, make_user
from tests.support.scored_wave import scored_program
from tests.support.survey_fixtures import survey_app

pytestmark = pytest.mark.browser

SCREENS = {"phone": {"width": 360, "height": 740}, "laptop": {"width": 1280, "height": 800}}
SELLER = "seller0@vendor.example.com"


@pytest.fixture(scope="module")
def served(mongo_client):
    """A program with two scored waves, a manager and a seller, the app on a real port."""
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    db = mongo_client[name]
    ensure_indexes(db)
    settings = isolated_settings()
    program = scored_program(db, settings, accounts=12)
    make_user(db, email="manager@acme.example", role="manager")
    make_user(db, email=SELLER, role="seller")
    results = db.scores.find_one({"wave_id": program.wave_id, "kind": "ranking"})
    first_account = results["accounts"][0]["external_id"]
    with live_server(survey_app(db, settings)) as url:
        yield {"url": url, "program": program, "account": first_account}
    mongo_client.drop_database(name)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def _signed_in(browser, url, email, screen):
    context = browser.new_context(viewport=screen)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/app/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return context, page, errors


def _charts_drawn(page) -> dict[str, int]:
    """Each chart's marks in its SVG, once every chart says it is drawn."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart-spec]')]"
        ".every(e => e.dataset.chartReady || e.dataset.chartError)",
        timeout=20_000,
    )
    failed = page.evaluate(
        "() => [...document.querySelectorAll('[data-chart-error]')].map(e => e.id + ': ' + e.dataset.chartError)"
    )
    assert not failed, failed
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-chart-spec]')].map(e => [
            e.id, e.querySelectorAll('svg .mark-symbol path, svg .mark-rect path, svg .mark-line path,'
              + ' svg .mark-rule line, svg .mark-text text').length]))"""
    )


def _check_page(page, errors, name: str, expected: set[str]) -> None:
    marks = _charts_drawn(page)
    assert set(marks) == expected
    assert all(count > 0 for count in marks.values()), marks
    for chart_id in expected:  # each chart has its table, with rows
        rows = page.locator(f"#{chart_id} ~ .chart-table tbody tr").count()
        assert rows > 0, chart_id
    assert_accessible(page, axe_source(), name)
    assert not errors, errors


@pytest.mark.parametrize("screen", ["phone", "laptop"])
def test_results_and_account_pages_draw_their_charts(browser, served, screen):
    wave_id = served["program"].wave_id
    context, page, errors = _signed_in(
        browser, served["url"], "manager@acme.example", SCREENS[screen]
    )
    page.goto(f"{served['url']}/app/waves/{wave_id}/results")
    _check_page(
        page,
        errors,
        f"results-wave-{screen}",
        {"chart-levels", "chart-segments", "chart-dimensions", "chart-drivers", "chart-trends"},
    )
    page.goto(f"{served['url']}/app/waves/{wave_id}/accounts/{served['account']}")
    _check_page(
        page, errors, f"results-account-{screen}", {"chart-committee", "chart-account-dimensions"}
    )
    context.close()


@pytest.mark.parametrize("screen", ["phone", "laptop"])
def test_a_seller_sees_their_page_first(browser, served, screen):
    wave_id = served["program"].wave_id
    context, page, errors = _signed_in(browser, served["url"], SELLER, SCREENS[screen])
    assert page.url.endswith(f"/app/waves/{wave_id}/sellers/{SELLER}")
    _check_page(page, errors, f"results-seller-{screen}", {"chart-relationships"})
    committed = page.get_by_text("You will do this").count()
    page.get_by_role("button", name="I'll do this").first.click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("You will do this").count() == committed + 1
    assert page.get_by_role("status").inner_text().startswith("Saved")
    context.close()
