"""The respondent experience: survey pages, the respondent JSON API and completion events."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect


def register(app: Flask) -> None:
    """Register the JSON API (on the OpenAPI Api), the pages and CSRF."""
    from services.survey.respond import api, grid_pages, pages

    # Forms carry a CSRF token; it is checked by the pages' blueprint only (the JSON APIs
    # are authenticated by token or key). No time limit: a respondent may pause for hours.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    # Pages send no Referer (Referrer-Policy: no-referrer), so the HTTPS referrer check
    # cannot work; the token plus a SameSite cookie protect the forms.
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    container = app.extensions["rapport"]
    if container.settings.public_url.startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    csrf = app.extensions.get("csrf") or CSRFProtect(app)
    csrf.exempt(api.bp)

    app.extensions["rapport_api"].register_blueprint(api.bp)
    assert grid_pages.bp is pages.bp  # the grid's routes are on the pages' blueprint
    app.register_blueprint(pages.bp)
