"""The survey service: respondent pages, respondent JSON API, admin API, operations."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from services.bootstrap import Container, build
from services.survey.console.people import check_password_rules, ensure_admin
from services.survey.errors import ApiError, ValidationFailed, register_error_handlers
from services.survey.openapi import init_api
from services.survey.operations import bp as operations_bp
from services.survey.operations import instrument
from services.survey.organisations import bootstrap
from services.survey.request_body import BoundedRequest
from shared.settings import SettingsError
from shared.store import PyMongoError, ping

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def create_app(container: Container | None = None, test_config: dict | None = None) -> Flask:
    """Build the Flask application; nothing connects until first use."""
    app = Flask(__name__)
    app.request_class = BoundedRequest  # the body limit holds for chunked bodies too
    container = container or build()
    settings = container.settings
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["rapport"] = container

    init_api(app)
    register_error_handlers(app)
    instrument(app)
    app.register_blueprint(operations_bp)
    _register_features(app)

    if settings.bootstrap_api_key or settings.bootstrap_admin:
        _bootstrap_on_first_request(app, container)

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def warm_up(app: Flask) -> None:
    """Do the first request's one-off work before any request: connect to MongoDB (which
    creates the indexes), read the item bank, compile the templates. Called by gunicorn after
    a worker starts; a database that is not up yet only postpones the connection."""
    from shared.questionnaire import load_bank

    load_bank()
    for name in app.jinja_env.list_templates(extensions=("html", "txt")):
        app.jinja_env.get_template(name)
    try:
        ping(app.extensions["rapport"].db)  # the first use also creates the indexes
    except PyMongoError:
        log.warning("warm-up: MongoDB not reachable yet")


def bootstrap_admin_credentials(value: str) -> tuple[str, str]:
    """The email and password of RAPPORT_BOOTSTRAP_ADMIN (`email:password`); SettingsError
    naming the variable when it is not of that form."""
    email, colon, password = value.partition(":")
    if not colon or "@" not in email or not password:
        raise SettingsError("RAPPORT_BOOTSTRAP_ADMIN must be email:password")
    try:
        check_password_rules(password)
    except ValidationFailed as exc:
        raise SettingsError(f"RAPPORT_BOOTSTRAP_ADMIN: {exc.message}") from None
    return email.strip(), password


def _bootstrap_on_first_request(app: Flask, container: Container) -> None:
    """RAPPORT_BOOTSTRAP_API_KEY and RAPPORT_BOOTSTRAP_ADMIN: organisation `default` with that
    key and that admin exists once MongoDB answers."""
    settings = container.settings
    admin = (
        bootstrap_admin_credentials(settings.bootstrap_admin) if settings.bootstrap_admin else None
    )
    done = threading.Event()

    @app.before_request
    def _bootstrap():
        if done.is_set():
            return
        try:
            if settings.bootstrap_api_key:
                bootstrap(db=container.db, api_key=settings.bootstrap_api_key)
            if admin is not None:
                ensure_admin(db=container.db, org_name="default", email=admin[0], password=admin[1])
            done.set()
        except PyMongoError:
            log.warning("bootstrap API key or admin not stored yet: MongoDB unreachable")
        except ApiError as exc:  # e.g. that email is a user of another organisation
            log.error("RAPPORT_BOOTSTRAP_ADMIN not applied", extra={"reason": exc.message})
            done.set()


def _register_features(app: Flask) -> None:
    """The feature blueprints: admin API, respondent API and pages, results, opt-out, the
    console, index, logo."""
    from services.survey import (
        admin,
        console,
        index,
        logo,
        optout,
        reports,
        respond,
        results,
        sellers,
    )

    for feature in (admin, respond, results, sellers, reports, optout, console, index, logo):
        feature.register(app)
