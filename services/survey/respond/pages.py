"""The respondent pages (server-rendered, no JavaScript needed): thin views over service.py."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from services.bootstrap import Container
from services.survey.respond import grid, screens
from services.survey.respond.branding import page_accent
from services.survey.respond.forms import (
    MOMENTS_PRESENT,
    answers_from_form,
    field_id,
    moment_rows,
    page_errors,
    values_from_answers,
    values_from_form,
)
from services.survey.respond.service import (
    AlreadySubmitted,
    InvalidAnswers,
    LinkNotValid,
    NotReadyToSubmit,
    Respondent,
    SaveConflict,
    SubjectState,
    UnknownSubject,
    WaveClosed,
    load_respondent,
    save_answers,
    submit_answers,
)
from services.survey.respond.wording import phrase, words
from shared.questionnaire import missing_for_submit
from shared.vocabulary import NOT_STARTED, SELLER

bp = Blueprint("respond_pages", __name__)


def _container() -> Container:
    return current_app.extensions["rapport"]


@bp.before_request
def _check_csrf() -> None:
    # CSRF is checked here, not app-wide: the JSON APIs authenticate by token or key.
    if request.method == "POST":
        current_app.extensions["csrf"].protect()


def _load(token: str, *, opened: bool = False, allow_closed: bool = True) -> Respondent:
    container = _container()
    return load_respondent(
        db=container.db,
        settings=container.settings,
        token=token,
        opened=opened,
        allow_closed=allow_closed,
    )


def _render(template: str, respondent: Respondent | None, status: int = 200, **context: Any):
    language = respondent.language if respondent else "en"
    return (
        render_template(
            template,
            lang=language,
            w=words(language),
            respondent=respondent,
            sender=respondent.sender if respondent else None,
            branding=respondent.branding if respondent else None,
            accent=page_accent(respondent.branding.accent_color) if respondent else None,
            phrase=phrase,
            field_id=field_id,
            **context,
        ),
        status,
    )


def _closed(respondent: Respondent):
    return _render("closed.html", respondent, 410)


def _step_url(token: str, respondent: Respondent, subject: SubjectState, step: str | None) -> str:
    if step is None:  # before the first page
        if respondent.side == SELLER:
            return url_for(".seller_list", token=token)
        return url_for(".welcome", token=token)
    return url_for(".section", token=token, subject_id=subject.subject_id, section_id=step)


# --- entry, welcome, seller list, done ---------------------------------------------------


@bp.get("/s/<token>")
def start(token: str):
    """Start or resume: the welcome page first, then wherever the respondent stopped."""
    respondent = _load(token, opened=True)
    if respondent.closed:
        return _closed(respondent)
    if respondent.completed:
        return _render("already_submitted.html", respondent, subject=None)
    started = any(s.status != NOT_STARTED for s in respondent.subjects)
    if not started:
        return _welcome(token, respondent)
    if respondent.side == SELLER:
        if grid.uses_grid(respondent) and not grid.prefers_one_at_a_time(respondent):
            return redirect(url_for(".grid_resume", token=token), 303)
        return redirect(url_for(".seller_list", token=token), 303)
    subject = respondent.subjects[0]
    return redirect(
        _step_url(token, respondent, subject, screens.resume_step(subject, respondent.bank)), 303
    )


@bp.get("/s/<token>/welcome")
def welcome(token: str):
    respondent = _load(token, opened=True)
    if respondent.closed:
        return _closed(respondent)
    return _welcome(token, respondent)


def _welcome(token: str, respondent: Respondent):
    in_grid = grid.uses_grid(respondent) and not grid.prefers_one_at_a_time(respondent)
    if in_grid:
        start_url = url_for(".grid_resume", token=token)
    elif respondent.side == SELLER:
        start_url = url_for(".seller_list", token=token)
    else:
        subject = respondent.subjects[0]
        start_url = _step_url(
            token, respondent, subject, screens.resume_step(subject, respondent.bank)
        )
    started = any(s.status != NOT_STARTED for s in respondent.subjects)
    return _render(
        "welcome.html",
        respondent,
        start_url=start_url,
        started=started,
        facts=screens.welcome_facts(respondent.bank),
        grid_minutes=grid.minutes(
            grid.seller_grid_seconds(len(respondent.subjects), respondent.bank)
        )
        if in_grid
        else None,
        one_at_a_time_url=url_for(".seller_list", token=token) if in_grid else None,
    )


@bp.get("/s/<token>/buyers")
def seller_list(token: str):
    """A seller's buyer contacts with their status, and the next one to answer for."""
    respondent = _load(token, opened=True)
    if respondent.closed:
        return _closed(respondent)
    if respondent.side != SELLER:
        return redirect(url_for(".start", token=token), 303)
    links = {
        s.subject_id: _step_url(token, respondent, s, screens.resume_step(s, respondent.bank))
        for s in respondent.subjects
    }
    submitted = request.args.get("submitted")
    just_done = next((s for s in respondent.subjects if s.subject_id == submitted), None)
    return _render(
        "seller_list.html",
        respondent,
        links=links,
        next_subject=respondent.next_open_subject(),
        done=sum(s.completed for s in respondent.subjects),
        just_done=just_done if just_done and just_done.completed else None,
    )


@bp.get("/s/<token>/done")
def done(token: str):
    """The thank-you page, once every subject is submitted."""
    respondent = _load(token)
    if not respondent.completed:
        return redirect(url_for(".start", token=token), 303)
    return _render("done.html", respondent)


# --- one page of the questionnaire, and review --------------------------------------------


@bp.get("/s/<token>/q/<subject_id>/<section_id>")
def section(token: str, subject_id: str, section_id: str):
    """One page of the questionnaire (a section id inside a page shows that page)."""
    respondent = _load(token)
    if respondent.closed:
        return _closed(respondent)
    subject = respondent.subject(subject_id)
    if subject.completed:
        return _render("already_submitted.html", respondent, subject=subject)
    page = _page_or_404(section_id, respondent)
    if page == screens.REVIEW:
        return _review(token, respondent, subject)
    bank_sections = _bank_sections(page, respondent)
    errors: dict[str, list[str]] = {}
    if request.args.get("check"):
        missing = missing_for_submit(subject.answers, questionnaire=respondent.bank)
        lang_words = words(respondent.language)
        errors = {
            item.id: [lang_words["error_required"]]
            for bank_section in bank_sections
            for item in bank_section.items
            if item.id in missing
        }
    values = {}
    for bank_section in bank_sections:
        values.update(values_from_answers(subject.answers, bank_section))
    return _section_page(token, respondent, subject, page, values, errors)


@bp.post("/s/<token>/q/<subject_id>/<section_id>")
def save_section(token: str, subject_id: str, section_id: str):
    """Save the page, then go back or forward; wrong answers show the page again."""
    respondent = _load(token, allow_closed=False)
    subject = respondent.subject(subject_id)
    if subject.completed:
        return _render("already_submitted.html", respondent, 409, subject=subject)
    page = _page_or_404(section_id, respondent)
    if page == screens.REVIEW:
        return _submit(token, respondent, subject)
    bank_sections = _bank_sections(page, respondent)
    back, forward = screens.neighbours(page, respondent.bank)
    target = back if request.form.get("action") == "back" else forward
    lang_words = words(respondent.language)
    answers: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for bank_section in bank_sections:
        given, wrong = answers_from_form(request.form, bank_section, lang_words)
        answers.update(given)
        errors.update(wrong)
    if not errors:
        try:
            save_answers(
                db=_container().db,
                respondent=respondent,
                subject_id=subject_id,
                answers=answers,
                resume_section=target or page,
            )
        except InvalidAnswers as exc:
            for bank_section in bank_sections:
                errors.update(page_errors(exc.details, bank_section, lang_words))
    if errors:
        values = {}
        for bank_section in bank_sections:
            values.update(values_from_form(request.form, bank_section))
        return _section_page(token, respondent, subject, page, values, errors, status=400)
    return redirect(_step_url(token, respondent, subject, target), 303)


def _page_or_404(section_id: str, respondent: Respondent) -> str:
    page = screens.page_id(section_id, respondent.bank)
    if page is None:
        raise UnknownSubject()
    return page


def _bank_sections(page: str, respondent: Respondent):
    bank = respondent.bank
    try:
        wanted = bank.page_sections(page)
    except KeyError:
        raise UnknownSubject() from None
    return [s for s in bank.sections if s.id in wanted]


def _section_page(
    token: str,
    respondent: Respondent,
    subject: SubjectState,
    page: str,
    values: dict[str, Any],
    errors: dict[str, list[str]],
    status: int = 200,
):
    shown_sections = screens.page_sections(
        screens.sections_for(respondent, subject), page, respondent.bank
    )
    _, forward = screens.neighbours(page, respondent.bank)
    rows, shown = {}, {}
    for worded in shown_sections:
        for item in worded["items"]:
            if item["kind"] == "moments":
                rows[item["id"]], shown[item["id"]] = moment_rows(
                    values.get(item["id"]), item["max_items"]
                )
    return _render(
        "section.html",
        respondent,
        status,
        token=token,
        subject=subject,
        page_title=screens.page_title(shown_sections, respondent.language),
        sections=shown_sections,
        values=values,
        errors=errors,
        rows=rows,
        shown=shown,
        moments_present=MOMENTS_PRESENT,
        progress=screens.progress(page, respondent.bank),
        next_is_review=forward == screens.REVIEW,
        action=url_for(
            ".save_section", token=token, subject_id=subject.subject_id, section_id=page
        ),
    )


def _review(
    token: str,
    respondent: Respondent,
    subject: SubjectState,
    missing: dict[str, list[str]] | None = None,
    status: int = 200,
):
    sections = screens.sections_for(respondent, subject)
    if missing is None:  # what is missing is shown only after an attempt to submit
        missing = {}
    messages = screens.missing_messages(
        missing, subject.answers, sections, respondent.language, respondent.bank
    )
    for message in messages:
        message["url"] = (
            url_for(
                ".section",
                token=token,
                subject_id=subject.subject_id,
                section_id=message["section"],
                check=1,
            )
            + "#"
            + field_id(message["field"] if message["field"] != "dimensions" else "top")
        )
    return _render(
        "review.html",
        respondent,
        status,
        token=token,
        subject=subject,
        sections=screens.review_sections(sections, subject.answers, words(respondent.language)),
        missing=messages,
        progress=screens.progress(screens.REVIEW, respondent.bank),
        back_url=_step_url(token, respondent, subject, screens.section_ids(respondent.bank)[-1]),
        action=url_for(
            ".save_section",
            token=token,
            subject_id=subject.subject_id,
            section_id=screens.REVIEW,
        ),
    )


def _submit(token: str, respondent: Respondent, subject: SubjectState):
    container = _container()
    try:
        submit_answers(
            db=container.db,
            bus=container.bus,
            respondent=respondent,
            subject_id=subject.subject_id,
            relay_after_s=container.settings.outbox_relay_after_s,
        )
    except NotReadyToSubmit as exc:
        return _review(token, respondent, subject, missing=exc.details, status=400)
    if respondent.side == SELLER and any(
        not s.completed for s in respondent.subjects if s.subject_id != subject.subject_id
    ):
        return redirect(url_for(".seller_list", token=token, submitted=subject.subject_id), 303)
    return redirect(url_for(".done", token=token), 303)


# --- errors: plain pages that say what happened and nothing more ---------------------------


@bp.errorhandler(LinkNotValid)
@bp.errorhandler(UnknownSubject)
def _not_valid(exc: Exception):
    return _render("link_not_valid.html", None, 404)


@bp.errorhandler(WaveClosed)
def _wave_closed(exc: WaveClosed):
    return _render("closed.html", exc.respondent, 410)


@bp.errorhandler(AlreadySubmitted)
def _already(exc: AlreadySubmitted):
    return _render("already_submitted.html", None, 409, subject=None)


def _again_url() -> str | None:
    token = (request.view_args or {}).get("token")
    return url_for(".start", token=token) if token else None


@bp.errorhandler(CSRFError)
def _expired(exc: CSRFError):
    return _render("expired.html", None, 400, body_key="expired_body", again_url=_again_url())


@bp.errorhandler(SaveConflict)
def _conflict(exc: SaveConflict):
    return _render("expired.html", None, 409, body_key="conflict_body", again_url=_again_url())


# --- template filters ------------------------------------------------------------------

_MONTHS_EN = (
    "January February March April May June July August September October November December"
).split()


@bp.app_template_filter("capitalize_first")
def _capitalize_first(text: str) -> str:
    """Upper-case the first letter only ("your account team asks" starts a sentence)."""
    return text[:1].upper() + text[1:]


@bp.app_template_filter("day")
def _day(value: Any, language: str = "en") -> str:
    """A date as people write it in the respondent's language."""
    if not hasattr(value, "day"):
        return str(value)
    if language == "de":
        return f"{value.day}.{value.month}.{value.year}"
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
