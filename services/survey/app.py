"""The survey service: respondent pages, respondent JSON API, admin API, operations."""

from __future__ import annotations

from flask import Flask

from services.bootstrap import Container, build
from services.survey.errors import register_error_handlers
from services.survey.openapi import init_api
from services.survey.operations import bp as operations_bp
from services.survey.operations import instrument

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

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def _register_features(app: Flask) -> None:
    """Blueprints of the feature modules, registered when present."""
    from importlib import import_module

    for module_name in (
        "services.survey.admin",
        "services.survey.respond",
        "services.survey.pages",
        "services.survey.results",
        "services.survey.devmail",
    ):
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.register(app)
