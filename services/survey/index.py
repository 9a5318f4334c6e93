"""What `/` and `/api/v1/` answer: a person goes to the console, an API client learns where
the documents are.

`/` sends a browser to the console (`/app/`, or its sign-in page) and answers a client that
asks for JSON with the API index; the sign-in page links the API index, the OpenAPI document
and (in `make dev`) the captured mail.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, redirect, request, url_for
from flask_login import current_user

bp = Blueprint("index", __name__)

API_VERSION = "1.1"
OPENAPI_PATH = "/api/v1/openapi.json"

# The sections of API.md (version 1.1), each with the paths where it starts.
API_SECTIONS: tuple[dict[str, Any], ...] = (
    {
        "title": "Admin API",
        "auth": "Authorization: Bearer <api key>",
        "paths": [
            "/api/v1/programs",
            "/api/v1/programs/{program_id}/roster",
            "/api/v1/waves/{wave_id}",
        ],
    },
    {
        "title": "Results",
        "auth": "Authorization: Bearer <api key>",
        "paths": [
            "/api/v1/waves/{wave_id}/results",
            "/api/v1/waves/{wave_id}/accounts/{external_id}",
            "/api/v1/waves/{wave_id}/export.csv",
        ],
    },
    {
        "title": "Respondent JSON API",
        "auth": "the token of the personal link",
        "paths": ["/api/v1/respond/{token}"],
    },
    {
        "title": "Respondent pages",
        "auth": "the token of the personal link",
        "paths": ["/s/{token}"],
    },
    {"title": "Operations", "auth": "none", "paths": ["/healthz", "/readyz", "/metrics"]},
)


def _mailbox_url() -> str | None:
    # /dev/mail exists only when `make dev` runs the capture server
    if "dev_mail_list" not in current_app.view_functions:
        return None
    return url_for("dev_mail_list")


def mailbox_url() -> str | None:
    """Where `make dev` shows the captured mail, or None outside `make dev`."""
    return _mailbox_url()


@bp.get("/")
def home():
    """A person: the console when signed in, else its sign-in page. A JSON client: the API index."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if best == "application/json":
        return api_index()
    target = "console.programs" if current_user.is_authenticated else "console.sign_in"
    return redirect(url_for(target)), 302, {"Cache-Control": "no-store"}


@bp.get("/api/v1/")
def api_index():
    """The API's entry: its version, the OpenAPI document and the sections of API.md."""
    body: dict[str, Any] = {
        "name": "Rapport API",
        "version": API_VERSION,
        "openapi": OPENAPI_PATH,
        "contract": f"API.md version {API_VERSION}",
        "errors": '{"error": {"code", "message", "details"}}',
        "sections": list(API_SECTIONS),
    }
    mail = _mailbox_url()
    if mail:
        body["dev_mail"] = mail
    return jsonify(body)


def register(app: Flask) -> None:
    """Serve `/` and `/api/v1/`."""
    app.register_blueprint(bp)
