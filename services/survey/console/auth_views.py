"""Signing in and out: email and password, a sign-in link by email, sign-out."""

from __future__ import annotations

from flask import redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from services.survey.console import SIGNED_IN_AT
from services.survey.console.blueprint import bp, container, render
from services.survey.console.people import (
    SELLER,
    Person,
    authenticate,
    end_sessions,
    person_of,
)
from services.survey.console.signing_in import (
    LinkNotValid,
    TooManyAttempts,
    check_attempts,
    count_failed_attempt,
    queue_sign_in_email,
    use_sign_in_link,
)
from services.survey.index import mailbox_url
from shared import clock
from shared.store import users as user_store

WRONG = "The email or the password is not right."


def _address() -> str:
    return request.remote_addr or "unknown"


def _start_session(person: Person) -> None:
    # a new session for a new sign-in: nothing of the anonymous one (its CSRF token) carries over
    session.clear()
    session.permanent = True
    session[SIGNED_IN_AT] = clock.now().timestamp()
    login_user(person)


def _next_page() -> str:
    wanted = request.args.get("next", "")
    # only a console path of this site, never another host (no open redirect)
    if wanted.startswith("/app/") and not wanted.startswith("//") and "\\" not in wanted:
        return wanted
    return _landing()


def _landing() -> str:
    """Where a person lands after signing in: a seller on their own results, everyone else on
    the programs."""
    if current_user.is_authenticated and current_user.role == SELLER:
        return url_for("console.my_results")
    return url_for("console.programs")


def _sign_in_page(status: int = 200, **context):
    return render("console/sign_in.html", status, dev_mail=mailbox_url(), **context)


@bp.get("/")
@login_required
def home():
    """The console's first page: the organisation's programs (a seller: their own results)."""
    return redirect(_landing())


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Email and password; rate-limited per address and per account."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_landing())
        return _sign_in_page()
    email = request.form.get("email", "").strip()[:254]
    password = request.form.get("password", "")
    box = container()
    try:
        check_attempts(db=box.db, settings=box.settings, address=_address(), email=email)
    except TooManyAttempts as exc:
        return _sign_in_page(429, email=email, error=str(exc))
    person = authenticate(db=box.db, email=email, password=password)
    if person is None:
        count_failed_attempt(db=box.db, settings=box.settings, address=_address(), email=email)
        return _sign_in_page(400, email=email, error=WRONG)
    _start_session(person)
    user_store.forget_expired(
        db=box.db, now=clock.now()
    )  # old counters and used links, now and then
    return redirect(_next_page())


@bp.post("/sign-in/link")
def send_link():
    """Email a sign-in link; the answer is the same whether the email is a user's or not."""
    email = request.form.get("email", "").strip()[:254]
    box = container()
    try:
        check_attempts(db=box.db, settings=box.settings, address=_address(), email=email)
    except TooManyAttempts as exc:
        return _sign_in_page(429, link_email=email, link_error=str(exc))
    if not email or "@" not in email:
        return _sign_in_page(400, link_email=email, link_error="Enter your email address.")
    # each request counts like a failure: nobody can make Rapport send a flood of emails
    count_failed_attempt(db=box.db, settings=box.settings, address=_address(), email=email)
    user = user_store.find_by_email(db=box.db, email=email.lower())
    if user is not None:
        queue_sign_in_email(db=box.db, settings=box.settings, person=person_of(user))
    return _sign_in_page(link_sent=True)


@bp.get("/sign-in/link/<token>")
def use_link(token: str):
    """A sign-in link: signs in once; expired, used or tampered is a plain 404 page."""
    box = container()
    try:
        person = use_sign_in_link(db=box.db, settings=box.settings, token=token)
    except LinkNotValid:
        return render("console/link_not_valid.html", 404)
    _start_session(person)
    return redirect(_landing())


@bp.post("/sign-out")
def sign_out():
    """End this person's sessions (every browser) and go back to the sign-in page."""
    if current_user.is_authenticated:
        end_sessions(db=container().db, person=current_user, now=clock.now())
    logout_user()
    session.clear()
    return redirect(url_for("console.sign_in"))
