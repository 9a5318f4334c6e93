"""The console (`/app/`): people sign in and run their organisation's programs from a browser.

Server-rendered Jinja with htmx (vendored under static/vendor/), the same service functions
as the admin API. `people.py` holds users, roles and the access checks; `signing_in.py` the
sign-in links and rate limits; `blueprint.py` the blueprint (CSRF, errors, rendering), `auth_views.py` the sign-in pages,
`pages.py` the programs and organisation pages, `program_forms.py` a program's create and
settings forms, `roster_pages.py` its accounts, import and download.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, redirect, request, session, url_for
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from services.survey.console.people import Person, current_person
from shared import clock

SIGNED_IN_AT = "signed_in_at"  # the session's sign-in time (epoch seconds)


def _load_person(user_id: str) -> Person | None:
    """Flask-Login's loader: the session's person, unless the session is too old or was ended
    by a sign-out (sessions_valid_after) or the user is gone."""
    from flask import current_app

    container = current_app.extensions["rapport"]
    signed_in_at = session.get(SIGNED_IN_AT)
    if not isinstance(signed_in_at, int | float):
        return None
    now = clock.now().timestamp()
    if now - signed_in_at > container.settings.session_hours * 3600:
        return None
    person = current_person(db=container.db, user_id=user_id)
    if person is None:
        return None
    ended = person.sessions_valid_after
    if ended is not None and signed_in_at < ended.timestamp():
        return None
    return person


def _not_signed_in():
    """Not signed in (or the session ended): the sign-in page, back here after; an htmx request
    is told to load it as a whole page rather than swap it into a part of one."""
    target = url_for("console.sign_in", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request") == "true":
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def register(app: Flask) -> None:
    """Register the console blueprint, Flask-Login and CSRF on its forms."""
    from services.survey.console import (  # noqa: F401 (their routes)
        auth_views,
        case_pages,
        pages,
        program_forms,
        report_pages,
        results_pages,
        roster_pages,
        seller_pages,
        wave_views,
    )
    from services.survey.console.blueprint import bp

    settings = app.extensions["rapport"].settings
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if settings.public_url.startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=settings.session_hours)
    # CSRF is checked by the blueprints with forms (before_request), never by the JSON API
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)  # pages send no Referer
    if "csrf" not in app.extensions:
        CSRFProtect(app)

    login = LoginManager()
    login.login_view = "console.sign_in"
    login.login_message = None  # the sign-in page says what it is; no flashed message
    login.session_protection = "basic"
    login.user_loader(_load_person)
    login.unauthorized_handler(_not_signed_in)
    login.init_app(app)

    app.register_blueprint(bp)
