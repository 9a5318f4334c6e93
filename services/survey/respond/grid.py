"""The seller grid: one page per dimension (and one for recommend and satisfaction) with every
buyer of the seller as a row. Pure functions over the item bank and a respondent: no I/O.

Each page's form names a rated answer `<subject_id>/<item_id>`; a row is read back into the
answers of one subject and saved through the same service function as the JSON API. Where a
seller stopped is recorded on each saved subject as `resume_section = "grid:<page>"`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from services.survey.respond.service import Respondent, SubjectState
from shared.questionnaire import (
    Questionnaire,
    Section,
    answered_dimensions,
    load_bank,
    missing_for_submit,
)
from shared.questionnaire.model import SECONDS_PER_ITEM, SECONDS_PER_PAGE
from shared.vocabulary import SELLER

RATINGS = "ratings"  # the page with recommend and satisfaction
SUBMIT = "submit"  # the last page: who is ready, who is missing what, submit
RESUME_PREFIX = "grid:"
GRID_FROM_BUYERS = 3  # the grid is the default for a seller with more than two buyers


def uses_grid(respondent: Respondent) -> bool:
    """True when the grid is this respondent's default: a seller with more than two buyers."""
    return respondent.side == SELLER and len(respondent.subjects) >= GRID_FROM_BUYERS


TOPICS = "topics"  # a pulse wave's one page of dimensions (one item each)


def grid_pages(bank: Questionnaire | None = None) -> list[str]:
    """Page order: each dimension (all on one page in a pulse wave), recommend and
    satisfaction, then submit."""
    bank = bank or load_bank()
    if bank.kind == "pulse":
        return [TOPICS, RATINGS, SUBMIT]
    return [*bank.dimensions, RATINGS, SUBMIT]


def page_item_ids(page: str, bank: Questionnaire | None = None) -> tuple[str, ...]:
    """The items (columns) of one grid page; KeyError for a page that does not exist."""
    bank = bank or load_bank()
    if page == RATINGS:
        return ("recommend", "satisfaction")
    if page == TOPICS:
        return tuple(i for ids in bank.dimension_items().values() for i in ids)
    return bank.dimension_items()[page]


def page_section(page: str, bank: Questionnaire | None = None) -> Section:
    """A grid page as a section, so the survey's form reader reads one row of it."""
    bank = bank or load_bank()
    items = tuple(bank.item(i) for i in page_item_ids(page, bank))
    return Section(id=page, title={}, intro={}, items=items)


def neighbours(page: str, bank: Questionnaire | None = None) -> tuple[str | None, str]:
    """The grid page before (None on the first) and after this one."""
    order = grid_pages(bank)
    index = order.index(page)
    return (order[index - 1] if index else None), order[min(index + 1, len(order) - 1)]


def field_name(subject_id: str, item_id: str) -> str:
    """The form field of one buyer's answer to one item."""
    return f"{subject_id}/{item_id}"


def row_form(form: Mapping[str, str], subject_id: str) -> dict[str, str]:
    """The fields of one buyer's row, keyed by item id (what `answers_from_form` reads)."""
    prefix = subject_id + "/"
    return {k.removeprefix(prefix): form[k] for k in form if k.startswith(prefix)}


def resume_page(respondent: Respondent) -> str:
    """Where a seller carries on in the grid: the furthest page any open buyer was saved
    from, else the first page."""
    order = grid_pages(respondent.bank)
    reached = [
        order.index(page)
        for s in respondent.subjects
        if not s.completed
        for page in [(s.resume_section or "").removeprefix(RESUME_PREFIX)]
        if (s.resume_section or "").startswith(RESUME_PREFIX) and page in order
    ]
    return order[max(reached)] if reached else order[0]


def prefers_one_at_a_time(respondent: Respondent) -> bool:
    """True when the seller chose the one-buyer-at-a-time pages (an open buyer was saved
    from one of them)."""
    return any(
        s.resume_section and not s.resume_section.startswith(RESUME_PREFIX)
        for s in respondent.subjects
        if not s.completed
    )


def missing_pages(subject: SubjectState, bank: Questionnaire | None = None) -> list[str]:
    """The grid pages that still block submitting this buyer (empty when ready)."""
    bank = bank or load_bank()
    missing = missing_for_submit(subject.answers, questionnaire=bank)
    pages: list[str] = []
    if "recommend" in missing:
        pages.append(RATINGS)
    if "dimensions" in missing:
        counted = answered_dimensions(subject.answers, questionnaire=bank)
        uncounted = [d for d in bank.dimensions if d not in counted]
        pages[:0] = [TOPICS] if bank.kind == "pulse" else uncounted
    return pages


def row_status(subject: SubjectState, bank: Questionnaire | None = None) -> dict[str, Any]:
    """One buyer's state for a grid row: completed, ready, or the pages still missing."""
    if subject.completed:
        return {"state": "completed", "pages": []}
    pages = missing_pages(subject, bank)
    return {"state": "missing" if pages else "ready", "pages": pages}


def estimate_seconds(*, items: int, pages: int) -> int:
    """A respondent's time from the page contents (issue 18's rule: items × 4 s + pages × 3 s)."""
    return items * SECONDS_PER_ITEM + pages * SECONDS_PER_PAGE


def seller_grid_seconds(buyers: int, bank: Questionnaire | None = None) -> int:
    """A seller's estimated time in the grid: every rated grid item for every buyer, plus the
    welcome page, each grid page and the thank-you page."""
    bank = bank or load_bank()
    order = grid_pages(bank)
    items = sum(len(page_item_ids(p, bank)) for p in order if p != SUBMIT)
    return estimate_seconds(items=items * buyers, pages=len(order) + 2)


def minutes(seconds: int) -> int:
    """Seconds as the whole minutes a page states (rounded up)."""
    return max(1, math.ceil(seconds / 60))
