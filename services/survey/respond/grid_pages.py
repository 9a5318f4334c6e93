"""The seller grid pages (the default for a seller with more than two buyers): thin views over
service.py, on the respondent pages' blueprint. See grid.py for what each page holds."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for

from services.survey.respond import grid
from services.survey.respond.forms import answers_from_form, values_from_answers, values_from_form
from services.survey.respond.pages import _closed, _container, _load, _render, bp
from services.survey.respond.service import (
    NotReadyToSubmit,
    Respondent,
    UnknownSubject,
    save_answers,
    submit_answers,
)
from services.survey.respond.wording import words
from shared.vocabulary import SELLER


def _page_or_404(page: str, respondent: Respondent) -> str:
    if page not in grid.grid_pages(respondent.bank):
        raise UnknownSubject()
    return page


def _grid_respondent(token: str, *, allow_closed: bool = True) -> Respondent:
    respondent = _load(token, allow_closed=allow_closed)
    if respondent.side != SELLER:
        raise UnknownSubject()
    return respondent


@bp.get("/s/<token>/grid")
def grid_resume(token: str):
    """Carry on in the grid where the seller stopped."""
    respondent = _grid_respondent(token)
    return redirect(url_for(".grid_page", token=token, page=grid.resume_page(respondent)), 303)


@bp.get("/s/<token>/grid/<page>")
def grid_page(token: str, page: str):
    respondent = _grid_respondent(token)
    if respondent.closed:
        return _closed(respondent)
    _page_or_404(page, respondent)
    if respondent.completed:
        return redirect(url_for(".done", token=token), 303)
    if page == grid.SUBMIT:
        return _submit_page(token, respondent)
    section = grid.page_section(page, respondent.bank)
    values = {
        s.subject_id: values_from_answers(s.answers, section)
        for s in respondent.subjects
        if not s.completed
    }
    return _grid_page(token, respondent, page, values, {})


@bp.post("/s/<token>/grid/<page>")
def save_grid_page(token: str, page: str):
    """Save every open buyer's row of the page, then go back or forward; a wrong value shows
    the page again and saves nothing."""
    respondent = _grid_respondent(token, allow_closed=False)
    _page_or_404(page, respondent)
    if page == grid.SUBMIT:
        return _submit_ready(token, respondent)
    section = grid.page_section(page, respondent.bank)
    lang_words = words(respondent.language)
    back, forward = grid.neighbours(page, respondent.bank)
    target = back if request.form.get("action") == "back" else forward
    rows: dict[str, dict[str, Any]] = {}
    errors: dict[str, dict[str, list[str]]] = {}
    for subject in respondent.subjects:
        if subject.completed:
            continue
        answers, row_errors = answers_from_form(
            grid.row_form(request.form, subject.subject_id), section, lang_words
        )
        rows[subject.subject_id] = answers
        if row_errors:
            errors[subject.subject_id] = row_errors
    if errors:
        values = {sid: values_from_form(grid.row_form(request.form, sid), section) for sid in rows}
        return _grid_page(token, respondent, page, values, errors, status=400)
    for subject_id, answers in rows.items():
        if answers:
            save_answers(
                db=_container().db,
                respondent=respondent,
                subject_id=subject_id,
                answers=answers,
                resume_section=grid.RESUME_PREFIX + (target or page),
            )
    if target is None:
        return redirect(url_for(".welcome", token=token), 303)
    return redirect(url_for(".grid_page", token=token, page=target), 303)


def _columns(respondent: Respondent, page: str) -> list[dict[str, Any]]:
    worded = {
        item["id"]: item
        for item in respondent.bank.items_for(
            SELLER, respondent.language, seller_company=respondent.sender
        )
    }
    return [worded[i] for i in grid.page_item_ids(page, respondent.bank)]


def _title(page: str, respondent: Respondent) -> str:
    if page in (grid.RATINGS, grid.TOPICS):
        return words(respondent.language)[f"grid_{page}_title"]
    bank = respondent.bank
    section = next(s for s in bank.sections if s.id == page)
    return section.title[bank.language_for(respondent.language)]


def _page_titles(respondent: Respondent) -> dict[str, str]:
    return {p: _title(p, respondent) for p in grid.grid_pages(respondent.bank) if p != grid.SUBMIT}


def _progress(page: str, respondent: Respondent) -> dict[str, int]:
    order = grid.grid_pages(respondent.bank)
    return {"step": order.index(page) + 1, "total": len(order)}


def _grid_page(
    token: str,
    respondent: Respondent,
    page: str,
    values: dict[str, dict[str, Any]],
    errors: dict[str, dict[str, list[str]]],
    status: int = 200,
):
    back, forward = grid.neighbours(page, respondent.bank)
    return _render(
        "grid.html",
        respondent,
        status,
        token=token,
        page=page,
        title=_title(page, respondent),
        titles=_page_titles(respondent),
        columns=_columns(respondent, page),
        values=values,
        errors=errors,
        statuses={s.subject_id: grid.row_status(s, respondent.bank) for s in respondent.subjects},
        field_name=grid.field_name,
        progress=_progress(page, respondent),
        next_is_submit=forward == grid.SUBMIT,
        one_at_a_time_url=url_for(".seller_list", token=token),
        action=url_for(".save_grid_page", token=token, page=page),
    )


def _submit_page(
    token: str, respondent: Respondent, status: int = 200, submitted: int | None = None
):
    statuses = {s.subject_id: grid.row_status(s, respondent.bank) for s in respondent.subjects}
    ready = sum(st["state"] == "ready" for st in statuses.values())
    if submitted is None and request.args.get("submitted", "").isdigit():
        submitted = int(request.args["submitted"])
    return _render(
        "grid_submit.html",
        respondent,
        status,
        token=token,
        statuses=statuses,
        titles=_page_titles(respondent),
        ready=ready,
        facts=respondent.bank.what_it_takes(),
        submitted=submitted,
        progress=_progress(grid.SUBMIT, respondent),
        back_url=url_for(".grid_page", token=token, page=grid.RATINGS),
        one_at_a_time_url=url_for(".seller_list", token=token),
        action=url_for(".save_grid_page", token=token, page=grid.SUBMIT),
    )


def _submit_ready(token: str, respondent: Respondent):
    """Submit every buyer whose answers are complete, each as its own response (one
    `response.completed` event per buyer); the others stay open with what they miss."""
    container = _container()
    submitted = 0
    for subject in respondent.subjects:
        if subject.completed or grid.row_status(subject, respondent.bank)["state"] != "ready":
            continue
        try:
            submit_answers(
                db=container.db,
                bus=container.bus,
                respondent=respondent,
                subject_id=subject.subject_id,
                relay_after_s=container.settings.outbox_relay_after_s,
            )
        except NotReadyToSubmit:  # changed in another tab since this page was read
            continue
        submitted += 1
    fresh = _grid_respondent(token)
    if fresh.completed:
        return redirect(url_for(".done", token=token), 303)
    return redirect(url_for(".grid_page", token=token, page=grid.SUBMIT, submitted=submitted), 303)
