"""The console's wave routes: thin views over services/survey/console/waves.py.

A refused action (a 400 or 409 of the service functions) shows the same page again with the
message next to the form that sent it; a done action redirects back with what it did.
"""

from __future__ import annotations

from typing import Any

from flask import flash, get_flashed_messages, redirect, request, url_for
from flask_login import current_user, login_required

from services.survey.console import waves as wave_pages
from services.survey.console.blueprint import bp, container, render
from services.survey.errors import ApiError
from services.survey.organisations import get_organisation


def _int(name: str) -> int:
    value = request.args.get(name, "1")
    return int(value) if value.isdigit() else 1


def _done() -> list[str]:
    return list(get_flashed_messages())


def _wave_page(wave_id: str, status: int = 200, errors: dict[str, str] | None = None):
    context = wave_pages.wave_context(
        db=container().db,
        person=current_user,
        wave_id=wave_id,
        silent=request.args.get("silent") == "1",
        page=_int("page"),
        accounts_page=_int("accounts_page"),
        sellers_page=_int("sellers_page"),
    )
    return render("console/wave.html", status, errors=errors or {}, done=_done(), **context)


def _refused(wave_id: str, form: str, exc: ApiError):
    if exc.status not in (400, 409):
        raise exc
    return _wave_page(wave_id, exc.status, {form: exc.message})


# --- the program's waves, a new wave --------------------------------------------------------


@bp.route("/programs/<program_id>/waves", methods=["GET", "POST"])
@login_required
def program_waves(program_id: str):
    """The program's waves and the new-wave form."""
    db = container().db
    if request.method == "GET":
        context = wave_pages.waves_context(db=db, person=current_user, program_id=program_id)
        return render("console/waves.html", errors={}, done=_done(), **context)
    wave, errors = wave_pages.create_wave(
        db=db, person=current_user, program_id=program_id, form=request.form
    )
    if wave is not None:
        flash(f"Wave “{wave['name']}” created as a draft.")
        return redirect(url_for("console.wave", wave_id=wave["_id"]))
    context = wave_pages.waves_context(
        db=db, person=current_user, program_id=program_id, values=request.form
    )
    return render("console/waves.html", 400, errors=errors, done=[], **context)


# --- preview, launch ------------------------------------------------------------------------


@bp.get("/waves/<wave_id>/preview")
@login_required
def wave_preview(wave_id: str):
    """The questionnaire as a buyer or seller reads it, in one language; nothing is saved."""
    db = container().db
    organisation = get_organisation(db=db, org_id=current_user.org_id)
    context = wave_pages.preview_context(
        db=db,
        person=current_user,
        wave_id=wave_id,
        side=request.args.get("side", "buyer"),
        language=request.args.get("language", "en"),
        sender=organisation.get("shown_name") or "",
    )
    return render("console/wave_preview.html", **context)


@bp.route("/waves/<wave_id>/launch", methods=["GET", "POST"])
@login_required
def wave_launch(wave_id: str):
    """A confirmation with the counts; posting it launches the wave."""
    c = container()
    if request.method == "POST":
        try:
            report = wave_pages.launch(
                db=c.db, bus=c.bus, person=current_user, wave_id=wave_id, delivery="email"
            )
        except ApiError as exc:
            if exc.status not in (400, 409):
                raise
            context = wave_pages.launch_context(db=c.db, person=current_user, wave_id=wave_id)
            return render("console/wave_launch.html", exc.status, error=exc.message, **context)
        flash(
            f"Launched: {report.invited_buyers} buyers and {report.invited_sellers} sellers "
            "invited."
        )
        return redirect(url_for("console.wave", wave_id=wave_id))
    context = wave_pages.launch_context(db=c.db, person=current_user, wave_id=wave_id)
    return render("console/wave_launch.html", error=None, **context)


# --- the open wave --------------------------------------------------------------------------


@bp.get("/waves/<wave_id>")
@login_required
def wave(wave_id: str):
    """The wave: rates (refreshed by htmx), who has not answered, the actions."""
    return _wave_page(wave_id)


@bp.get("/waves/<wave_id>/rates")
@login_required
def wave_rates(wave_id: str):
    """The rates part of the wave page alone (htmx polls it every few seconds)."""
    context = wave_pages.rates_context(
        db=container().db,
        person=current_user,
        wave_id=wave_id,
        accounts_page=_int("accounts_page"),
        sellers_page=_int("sellers_page"),
    )
    return render("console/_wave_rates.html", **context)


@bp.post("/waves/<wave_id>/remind")
@login_required
def wave_remind(wave_id: str):
    """Remind now: everyone not completed, or the people ticked."""
    c = container()
    try:
        report = wave_pages.remind(
            db=c.db,
            bus=c.bus,
            person=current_user,
            wave_id=wave_id,
            everyone=request.form.get("to") == "not_completed",
            emails=request.form.getlist("email"),
        )
    except ApiError as exc:
        return _refused(wave_id, "remind", exc)
    skipped = ", ".join(f"{n} {why.replace('_', ' ')}" for why, n in report.skipped.items())
    flash(f"Reminders queued: {report.queued}." + (f" Not reminded: {skipped}." if skipped else ""))
    return redirect(url_for("console.wave", wave_id=wave_id))


@bp.post("/waves/<wave_id>/late-invitations")
@login_required
def wave_invite_late(wave_id: str):
    """Invite the contacts added to the roster since launch."""
    c = container()
    try:
        report = wave_pages.invite_late(db=c.db, bus=c.bus, person=current_user, wave_id=wave_id)
    except ApiError as exc:
        return _refused(wave_id, "late", exc)
    flash(
        f"Invited since launch: {report.invited_buyers} buyers, {report.invited_sellers} "
        f"sellers; {report.sellers_given_subjects} sellers given new contacts."
    )
    return redirect(url_for("console.wave", wave_id=wave_id))


@bp.post("/waves/<wave_id>/closing-date")
@login_required
def wave_closing_date(wave_id: str):
    """Move the closing date (an open wave's only later)."""
    errors = wave_pages.move_closing_date(
        db=container().db,
        person=current_user,
        wave_id=wave_id,
        closes_at=request.form.get("closes_at", ""),
    )
    if errors:
        return _wave_page(wave_id, 400, {"closes_at": "; ".join(errors["closes_at"])})
    flash("Closing date moved.")
    return redirect(url_for("console.wave", wave_id=wave_id))


@bp.route("/waves/<wave_id>/close", methods=["GET", "POST"])
@login_required
def wave_close(wave_id: str):
    """A confirmation; posting it closes the wave."""
    c = container()
    error = None
    status = 200
    if request.method == "POST":
        try:
            wave_pages.close(db=c.db, bus=c.bus, person=current_user, wave_id=wave_id)
        except ApiError as exc:
            if exc.status != 409:
                raise
            error, status = exc.message, 409
        else:
            flash("The wave is closing: no more answers are taken; the results follow.")
            return redirect(url_for("console.wave", wave_id=wave_id))
    context = wave_pages.rates_context(db=c.db, person=current_user, wave_id=wave_id)
    return render("console/wave_close.html", status, error=error, **context)


# --- a person's link ------------------------------------------------------------------------


def _link_page(wave_id: str, email: str, status: int = 200, **extra: Any):
    c = container()
    context = wave_pages.link_context(
        db=c.db, settings=c.settings, person=current_user, wave_id=wave_id, email=email
    )
    return render("console/wave_link.html", status, done=_done(), **extra, **context)


@bp.get("/waves/<wave_id>/link")
@login_required
def wave_link(wave_id: str):
    """A person's current link, to copy; revoke or re-issue it."""
    return _link_page(wave_id, request.args.get("email", ""))


@bp.post("/waves/<wave_id>/link/revoke")
@login_required
def wave_link_revoke(wave_id: str):
    """Revoke a person's link."""
    email = request.form.get("email", "")
    wave_pages.revoke(db=container().db, person=current_user, wave_id=wave_id, email=email)
    flash("Link revoked: it answers “link not valid” from now on.")
    return redirect(url_for("console.wave_link", wave_id=wave_id, email=email.strip().lower()))


@bp.post("/waves/<wave_id>/link/reissue")
@login_required
def wave_link_reissue(wave_id: str):
    """A new link for a person; the earlier ones stop working."""
    c = container()
    email = request.form.get("email", "")
    try:
        wave_pages.reissue(
            db=c.db, settings=c.settings, person=current_user, wave_id=wave_id, email=email
        )
    except ApiError as exc:
        if exc.status != 409:
            raise
        return _link_page(wave_id, email, 409, error=exc.message)
    flash("New link issued: every earlier link of this person stops working.")
    return redirect(url_for("console.wave_link", wave_id=wave_id, email=email.strip().lower()))


# --- the email log --------------------------------------------------------------------------


@bp.get("/waves/<wave_id>/emails")
@login_required
def wave_emails(wave_id: str):
    """What went to whom: status, failure reason; resend one."""
    context = wave_pages.emails_context(
        db=container().db,
        person=current_user,
        wave_id=wave_id,
        status=request.args.get("status") or None,
    )
    return render("console/wave_emails.html", done=_done(), error=None, **context)


@bp.post("/waves/<wave_id>/emails/<email_id>/resend")
@login_required
def wave_email_resend(wave_id: str, email_id: str):
    """Resend one email (a failed or sent one, once)."""
    db = container().db
    try:
        item = wave_pages.resend(db=db, person=current_user, wave_id=wave_id, email_id=email_id)
    except ApiError as exc:
        if exc.status != 409:
            raise
        context = wave_pages.emails_context(db=db, person=current_user, wave_id=wave_id)
        return render("console/wave_emails.html", 409, done=[], error=exc.message, **context)
    flash(f"The email to {item['to']} is queued again.")
    return redirect(url_for("console.wave_emails", wave_id=wave_id))
