"""The seller grid's plan: pages, columns, resume, what is missing, and the time estimate."""

from __future__ import annotations

import pytest

from services.survey.respond import grid
from services.survey.respond.service import Respondent, SubjectState
from shared.organisation import Branding
from shared.questionnaire import load_bank


def _subject(n: int, answers: dict | None = None, resume: str | None = None, status="in_progress"):
    return SubjectState(
        subject_id=f"s{n}",
        contact_id=f"c{n}",
        label=f"Buyer {n}",
        buyer_name=f"Buyer {n}",
        status=status,
        answers=answers or {},
        resume_section=resume,
    )


def _seller(*subjects: SubjectState) -> Respondent:
    return Respondent(
        invitation={"_id": "i", "org_id": "o", "wave_id": "w", "side": "seller"},
        wave={},
        language="en",
        branding=Branding(),
        subjects=subjects,
    )


def test_every_dimension_has_a_page_then_ratings_then_submit():
    bank = load_bank()
    assert grid.grid_pages() == [*bank.dimensions, "ratings", "submit"]
    assert grid.page_item_ids("trust") == ("trust.1", "trust.2", "trust.3")
    assert grid.page_item_ids("ratings") == ("recommend", "satisfaction")


@pytest.mark.parametrize("buyers", [3, 8, 40, 500])
def test_the_page_loads_stay_at_10_or_fewer_whatever_the_number_of_buyers(buyers):
    # welcome + grid pages + thanks; the estimate counts the same pages
    loads = len(grid.grid_pages()) + 2
    assert loads <= 10
    items = 20 * buyers
    assert grid.seller_grid_seconds(buyers) == items * 4 + loads * 3


def test_the_grid_is_the_default_from_three_buyers():
    assert not grid.uses_grid(_seller(_subject(1), _subject(2)))
    assert grid.uses_grid(_seller(_subject(1), _subject(2), _subject(3)))


def test_resume_is_the_furthest_page_an_open_buyer_was_saved_from():
    seller = _seller(
        _subject(1, resume="grid:proactivity"),
        _subject(2, resume="grid:competence"),
        _subject(3, resume="grid:commitment", status="completed"),
    )
    assert grid.resume_page(seller) == "proactivity"
    assert grid.resume_page(_seller(_subject(1))) == "trust"
    assert not grid.prefers_one_at_a_time(seller)
    assert grid.prefers_one_at_a_time(_seller(_subject(1, resume="competence")))


def test_a_row_names_the_pages_that_still_block_submitting():
    four = {f"{d}.{n}": 5 for d in load_bank().dimensions[:4] for n in (1, 2)}
    assert grid.row_status(_subject(1, four)) == {"state": "missing", "pages": ["ratings"]}
    ready = {**four, "recommend": 7}
    assert grid.row_status(_subject(1, ready)) == {"state": "ready", "pages": []}
    three = {k: v for k, v in ready.items() if not k.startswith("trust")}
    assert grid.row_status(_subject(1, three))["pages"] == [
        "trust",
        "responsiveness",
        "commitment",
    ]
    dont_know = {**ready, "trust.1": None, "trust.2": None}
    assert "trust" in grid.row_status(_subject(1, dont_know))["pages"]


def test_a_row_of_the_form_is_read_back_by_subject():
    form = {"s1/trust.1": "5", "s2/trust.1": "dk", "csrf_token": "x", "s1/trust.2": "7"}
    assert grid.row_form(form, "s1") == {"trust.1": "5", "trust.2": "7"}
    assert grid.field_name("s2", "trust.1") == "s2/trust.1"
