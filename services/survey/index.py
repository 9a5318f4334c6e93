"""What `/` and `/api/v1/` answer: where the documents are, until the console (`/app/`) exists.

`make dev` prints both URLs; a person who opens them learns where the API contract, the
OpenAPI document and (in `make dev`) the captured mail are.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template_string, url_for

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

_HOME = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow"><title>Rapport</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;
line-height:1.5}li{margin:.3rem 0}</style></head>
<body><main><h1>Rapport</h1>
<p>This is Rapport's survey service. The web console is not here yet: until it is,
programs, rosters, waves and results are run through the admin API or the
<code>rapport</code> command.</p>
<ul>
<li><a href="{{ api }}">API index</a>: the API's sections and where each starts</li>
<li><a href="{{ openapi }}">OpenAPI document</a>: every operation, its input and its answers</li>
{% if mail %}<li><a href="{{ mail }}">Captured mail</a>: what <code>make dev</code> has sent</li>{% endif %}
<li><a href="/healthz">Health</a> and <a href="/readyz">readiness</a></li>
</ul>
<p>People asked for their view reach their survey through the personal link in their email.</p>
</main></body></html>"""


def _mailbox_url() -> str | None:
    # /dev/mail exists only when `make dev` runs the capture server
    if "dev_mail_list" not in current_app.view_functions:
        return None
    return url_for("dev_mail_list")


@bp.get("/")
def home():
    """A short page linking to the API index, the OpenAPI document and, in dev, the mail."""
    html = render_template_string(
        _HOME, api=url_for("index.api_index"), openapi=OPENAPI_PATH, mail=_mailbox_url()
    )
    return html, 200, {"Cache-Control": "no-store"}


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
