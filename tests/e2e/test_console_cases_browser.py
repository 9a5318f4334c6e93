"""The close-the-loop pages in a real browser (headless Chromium): a manager opens a wave's
cases and one case, is refused closing it without a note; axe-core checks each page."""

from __future__ import annotations

import pytest

from services.survey.console.people import create_user
from services.survey.console.signing_in import sign_in_link
from tests.conftest import isolated_settings
from tests.support.browser import assert_accessible, axe_source, launch_chromium, live_server
from tests.support.case_fixtures import autumn_wave, spring_wave
from tests.support.survey_fixtures import close, survey_app

pytestmark = pytest.mark.browser


def test_the_cases_pages_are_accessible(db):
    from playwright.sync_api import sync_playwright

    settings = isolated_settings()
    spring = spring_wave(db, settings)
    close(db, settings, spring)
    autumn = autumn_wave(db, settings, spring)
    close(db, settings, autumn)
    boss = create_user(
        db=db, org_id=autumn.org_id, email="boss@northwind.example", role="manager", password=None
    )
    axe = axe_source()
    with sync_playwright() as playwright, live_server(survey_app(db, settings)) as url:
        chromium = launch_chromium(playwright)
        page = chromium.new_context().new_page()
        page.goto(sign_in_link(settings=settings, person=boss).replace(settings.public_url, url))
        page.goto(f"{url}/app/waves/{autumn.wave_id}/cases")
        assert page.get_by_role("heading", level=1).inner_text() == "Cases of Autumn review"
        assert_accessible(page, axe, "console-cases-1-list")
        page.locator('a[href^="/app/cases/case_"]').first.click()
        assert "/app/cases/case_" in page.url
        assert_accessible(page, axe, "console-cases-2-case")
        page.get_by_label("Status").select_option("closed")
        page.get_by_role("button", name="Save").click()
        assert "is required to close a case" in page.locator("#note-error").inner_text()
        assert_accessible(page, axe, "console-cases-3-note-refused")
        chromium.close()
