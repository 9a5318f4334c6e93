"""Every survey page reads correctly in every language, whichever optional value is missing:
the organisation's name, the respondent's and the buyers' names, the contact for questions.

Each case builds a wave, takes a buyer and a seller through every page (welcome, each
questionnaire page, review with and without missing answers, submit, thanks, already
submitted, closed, link not valid, expired, opt-out) and proof-reads the text of each.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import template_rendered

from services.survey.organisations import update_branding
from services.survey.respond import grid, wording
from services.survey.respond.wording import LANGUAGES, words
from shared.questionnaire import load_bank
from shared.tokens import optout_token
from tests.conftest import isolated_settings
from tests.support.reading import reading_problems, visible_lines
from tests.support.survey_fixtures import (
    close,
    complete_answers,
    csrf_token,
    make_wave,
    survey_app,
)

TEMPLATES = Path(__file__).parents[2] / "services" / "survey" / "templates"

FULL_BRANDING = {
    "display_name": "Northwind Supplies",
    "contact_name": "Dana Lee",
    "contact_email": "dana@northwind.example",
    "privacy_url": "https://northwind.example/privacy",
}
# What is set in each case; everything else is missing.
CASES = {
    "everything set": {"branding": FULL_BRANDING, "names": True},
    "no organisation name": {"branding": None, "names": True},
    "no person names": {
        "branding": {"display_name": "Northwind Supplies", "contact_email": "q@northwind.example"},
        "names": False,
    },
    "nothing optional": {"branding": None, "names": False},
}


@pytest.fixture
def settings():
    return isolated_settings()


def _languages() -> list[str]:
    # every language of the questionnaire and of the page wording
    return sorted(set(load_bank().languages) | set(LANGUAGES))


def _world(db, settings, language: str, case: dict):
    # "default" is the internal name Rapport gives an organisation: never shown
    world = make_wave(db, settings, buyers=2, sellers=1, language=language, company_name="default")
    if case["branding"]:
        update_branding(db=db, org_id=world.org_id, changes=case["branding"])
    if not case["names"]:
        db.invitations.update_many({"wave_id": world.wave_id}, {"$set": {"person_name": ""}})
        db.contacts.update_many({"program_id": world.program_id}, {"$set": {"name": ""}})
    return world


def _read(pages: dict[str, str], response, name: str) -> str:
    html = response.get_data(as_text=True)
    pages[name] = html
    return html


def _walk(client, db, person, pages: dict[str, str]) -> None:
    """Every page one respondent can see, from the welcome page to the thanks."""
    base = f"/s/{person.token}"
    _read(pages, client.get(base), f"{person.side}: welcome")
    if person.side == "seller":
        _read(pages, client.get(f"{base}/buyers"), "seller: list")
        for grid_page in grid.grid_pages():
            page = client.get(f"{base}/grid/{grid_page}")
            assert page.status_code == 200, (grid_page, page.status_code)
            _read(pages, page, f"seller: grid {grid_page}")
    subject = person.subject_ids[0]
    for section in load_bank().sections:
        page = client.get(f"{base}/q/{subject}/{section.id}")
        assert page.status_code == 200, (section.id, page.status_code)
        _read(pages, page, f"{person.side}: {section.id}")
    review = _read(pages, client.get(f"{base}/q/{subject}/review"), f"{person.side}: review")
    # submitting with nothing answered: the review page says what is missing
    refused = client.post(f"{base}/q/{subject}/review", data={"csrf_token": csrf_token(review)})
    assert refused.status_code == 400
    _read(pages, refused, f"{person.side}: review, answers missing")
    # a page whose answers are wrong shows its errors
    bad = client.post(
        f"{base}/q/{subject}/moments",
        data={
            "csrf_token": csrf_token(review),
            "moments-present": "1",
            "moments-1-touchpoint": "sales",
            "action": "next",
        },
    )
    assert bad.status_code == 400
    _read(pages, bad, f"{person.side}: moments with an error")
    for subject_id in person.subject_ids:
        saved = client.put(
            f"/api/v1/respond/{person.token}/subjects/{subject_id}",
            json={"answers": complete_answers()},
        )
        assert saved.status_code == 200, saved.get_json()
        done = client.post(f"{base}/q/{subject_id}/review", data={"csrf_token": csrf_token(review)})
        assert done.status_code == 303
        if person.side == "seller" and subject_id != person.subject_ids[-1]:
            _read(pages, client.get(done.headers["Location"]), "seller: list, one done")
    _read(pages, client.get(f"{base}/done"), f"{person.side}: thanks")
    _read(pages, client.get(f"{base}/q/{subject}/trust"), f"{person.side}: already submitted")
    # an expired form (no CSRF token)
    _read(pages, client.post(f"{base}/q/{subject}/trust", data={}), f"{person.side}: expired")


@pytest.mark.parametrize("case_name", list(CASES))
@pytest.mark.parametrize("language", _languages())
def test_every_survey_page_reads_correctly_with_any_optional_value_missing(
    db, settings, language, case_name
):
    case = CASES[case_name]
    world = _world(db, settings, language, case)
    app = survey_app(db, settings)
    client = app.test_client()
    rendered: set[str] = set()

    def record(sender, template, context, **extra):
        rendered.add(template.name)

    pages: dict[str, str] = {}
    with template_rendered.connected_to(record, app):
        _walk(client, db, world.buyers[0], pages)
        _walk(client, db, world.sellers[0], pages)
        _read(pages, client.get("/s/not-a-valid-token"), "link not valid")
        closed = world.buyers[1]
        close(db, settings, world)
        _read(pages, client.get(f"/s/{closed.token}"), "closed")
    optout = f"/optout/{optout_token(closed.invitation_id, settings)}"
    _read(pages, client.get(optout), "opt-out: question")
    _read(pages, client.post(optout), "opt-out: done")

    # every page template was rendered (partials and the layout are part of each page)
    templates = {p.name for p in TEMPLATES.glob("*.html") if not p.name.startswith("_")}
    assert templates - {"base.html"} <= rendered

    lang_words = words(language)
    problems = {
        name: found
        for name, html in pages.items()
        if (found := reading_problems(visible_lines(html)))
    }
    assert not problems, problems
    shown = "\n".join(pages.values())
    if case["branding"]:
        assert "Northwind Supplies" in shown
    assert "default" not in "\n".join(
        line for html in pages.values() for line in visible_lines(html)
    )
    if case["branding"] and case["branding"].get("contact_email"):
        assert case["branding"]["contact_email"] in pages["buyer: welcome"]
    # the page language is the respondent's (no sentence falls back to English)
    assert lang_words["start"] in pages["buyer: welcome"]


def test_every_page_sentence_is_written_in_every_language():
    # words() falls back to English key by key: a sentence missing in German would not fail
    for language in LANGUAGES:
        source = getattr(wording, f"_{language.upper()}")
        assert set(source) == set(wording._EN), (language, set(wording._EN) - set(source))
