"""What each survey page shows, built from a respondent and the item bank: no I/O, no Flask."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from services.survey.respond.service import Respondent, SubjectState
from services.survey.respond.wording import words
from shared.questionnaire import Questionnaire, answered_dimensions, load_bank

REVIEW = "review"


@functools.lru_cache(maxsize=256)  # one entry per buyer name for sellers: keep it bounded
def worded_sections(
    side: str, language: str, buyer_name: str | None, sender: str | None, kind: str = "full"
) -> tuple[dict[str, Any], ...]:
    """The bank's sections (full or pulse) worded for one side, language and pair of names."""
    bank = load_bank().pulse() if kind == "pulse" else load_bank()
    return tuple(
        bank.sections_for(side, language, buyer_name=buyer_name, seller_company=sender)  # type: ignore[arg-type]
    )


def sections_for(respondent: Respondent, subject: SubjectState) -> tuple[dict[str, Any], ...]:
    """The sections as this respondent sees them about this subject."""
    return worded_sections(
        respondent.side,
        respondent.language,
        subject.buyer_name,
        respondent.sender,
        respondent.bank.kind,
    )


def section_ids(bank: Questionnaire | None = None) -> list[str]:
    """The pages in order, each named by its first section (the review step not included)."""
    return [page[0] for page in (bank or load_bank()).pages]


def page_id(section_id: str, bank: Questionnaire | None = None) -> str | None:
    """The page that shows a section (or is named by it); REVIEW for review; else None."""
    if section_id == REVIEW:
        return REVIEW
    return (bank or load_bank()).page_of(section_id)


def page_sections(
    sections: tuple[dict[str, Any], ...], page: str, bank: Questionnaire | None = None
) -> list[dict[str, Any]]:
    """The worded sections one page shows, in order."""
    wanted = (bank or load_bank()).page_sections(page)
    return [s for s in sections if s["id"] in wanted]


def steps(bank: Questionnaire | None = None) -> list[str]:
    """Every step of one questionnaire: the sections, then review."""
    return [*section_ids(bank), REVIEW]


def page_title(sections: list[dict[str, Any]], language: str) -> str:
    """A page's heading: its section's title, or its sections' titles joined ("Trust,
    competence and recognition")."""
    titles = [s["title"] for s in sections]
    if len(titles) == 1:
        return titles[0]
    rest = [t[:1].lower() + t[1:] if language == "en" else t for t in titles[1:]]
    return ", ".join([titles[0], *rest[:-1]]) + words(language)["and"] + rest[-1]


def neighbours(section_id: str, bank: Questionnaire | None = None) -> tuple[str | None, str]:
    """The step before (None on the first page) and after a section."""
    order = steps(bank)
    index = order.index(section_id)
    return (order[index - 1] if index else None), order[min(index + 1, len(order) - 1)]


def progress(step_id: str, bank: Questionnaire | None = None) -> dict[str, int]:
    """`{step, total}` for the progress indicator (review is the last step)."""
    order = steps(bank)
    return {"step": order.index(step_id) + 1, "total": len(order)}


def welcome_facts(bank: Questionnaire | None = None) -> dict[str, int]:
    """The numbers the welcome page states: how long it takes and what submitting needs
    (the bank's own rule, the one `missing_for_submit` checks)."""
    return (bank or load_bank()).what_it_takes()


def resume_step(subject: SubjectState, bank: Questionnaire | None = None) -> str:
    """Where a respondent carries on: the page they were on, else the first page."""
    order = steps(bank)
    page = page_id(subject.resume_section or "", bank)  # saved before pages were grouped too
    return page if page in order else order[0]


def answer_text(item: Mapping[str, Any], value: Any, lang_words: Mapping[str, str]) -> str:
    """One saved answer as the review page shows it."""
    if item["scale"]:
        if value is None:
            return item["scale"]["dont_know"]
        label = next((p["label"] for p in item["scale"]["points"] if p["value"] == value), None)
        return f"{value} – {label}" if label else str(value)
    if item["kind"] == "moments":
        touchpoints = {t["id"]: t["label"] for t in item["touchpoints"]}
        tags = {t["id"]: t["label"] for t in item["tags"]}
        return "; ".join(
            f"{touchpoints.get(m['touchpoint'], '')}, {tags.get(m['tag'], '')}: {m['text']}"
            for m in value or []
        )
    return value or lang_words["not_answered"]


def review_sections(
    sections: tuple[dict[str, Any], ...], answers: Mapping[str, Any], lang_words: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Per section: title, how many answered, and each question with its answer."""
    out = []
    for section in sections:
        rows = []
        answered = 0
        for item in section["items"]:
            given = item["id"] in answers and (
                answers[item["id"]] is not None or item["scale"] is not None
            )
            answered += given
            rows.append(
                {
                    "text": item["text"],
                    "answer": answer_text(item, answers[item["id"]], lang_words)
                    if given
                    else lang_words["not_answered"],
                    "given": given,
                }
            )
        out.append(
            {
                "id": section["id"],
                "title": section["title"],
                "answered": answered,
                "total": len(section["items"]),
                "rows": rows,
            }
        )
    return out


def missing_messages(
    missing: Mapping[str, list[str]],
    answers: Mapping[str, Any],
    sections: tuple[dict[str, Any], ...],
    language: str,
    bank: Questionnaire | None = None,
) -> list[dict[str, str]]:
    """What blocks submitting, in words, each with the page that fixes it."""
    bank = bank or load_bank()
    lang_words = words(language)
    titles = {s["id"]: s["title"] for s in sections}
    messages = []
    for field in missing:
        if field == "dimensions":
            counted = answered_dimensions(answers, questionnaire=bank)
            page = next(d for d in bank.dimensions if d not in counted)
            facts = welcome_facts(bank)
            text = lang_words["missing_dimensions"].format(
                answered=facts["answered"],
                items=facts["items"],
                needed=facts["needed"],
                topics=facts["topics"],
                counted=len(counted),
            )
        else:
            item = bank.get(field)
            if item is None:
                continue
            page = item.section
            text = (
                lang_words["missing_recommend"]
                if field == "recommend"
                else lang_words["missing_item"]
            )
        messages.append(
            {
                "text": text,
                "section": page,
                "field": field,
                "link": lang_words["go_to"].format(title=titles.get(page, page)),
            }
        )
    return messages
