"""Opting out of survey email: `GET/POST /optout/{token}`, the target of every List-Unsubscribe.

The token is the invitation's signed token over ``optout:<invitation id>``: it cannot open
the survey, and a survey token cannot opt anyone out. GET only shows a confirmation
button (link scanners must not unsubscribe people); POST, including RFC 8058 one-click
posts from mail providers, records the opt-out for the organisation and marks the invitation.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Flask, current_app, render_template_string

from shared.organisation import load_branding
from shared.store import Database, invitations, opt_outs, waves
from shared.tokens import invitation_id_from_optout_token
from shared.vocabulary import CLOSING, LAUNCHING, OPEN
from shared.wording import missing_names, variant_key

bp = Blueprint("optout", __name__)

_WORDS = {
    "en": {
        "title": "Unsubscribe",
        "question": "Stop receiving emails about this survey at {email}?",
        "button": "Unsubscribe",
        "done": "Done: {email} will receive no more survey emails from {org}.",
        "done_no_org": "Done: {email} will receive no more emails about this survey.",
        "invalid": "This link is not valid.",
    },
    "de": {
        "title": "Abmelden",
        "question": "Keine E-Mails mehr zu dieser Umfrage an {email} erhalten?",
        "button": "Abmelden",
        "done": "Erledigt: {email} erhält keine Umfrage-E-Mails mehr von {org}.",
        "done_no_org": "Erledigt: {email} erhält keine E-Mails mehr zu dieser Umfrage.",
        "invalid": "Dieser Link ist nicht gültig.",
    },
}

_PAGE = """<!doctype html><html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;
line-height:1.5}button{font-size:1rem;padding:.6rem 1.2rem}</style></head>
<body><main><h1>{{ title }}</h1><p>{{ message }}</p>
{% if form %}<form method="post"><button type="submit">{{ button }}</button></form>{% endif %}
</main></body></html>"""


# Waves whose invitations still count: a closed wave's figures are history and stay as they were.
_RUNNING = (LAUNCHING, OPEN, CLOSING)


def record_opt_out(*, db: Database, invitation: dict, now: datetime | None = None) -> None:
    """Remember the person's opt-out for their organisation and mark the invitation, and
    their invitations in the organisation's other running waves (counts, reminders)."""
    now = now or datetime.now(UTC)
    org_id = invitation["org_id"]
    email = str(invitation["person_email"]).strip().lower()
    opt_outs.record(db=db, org_id=org_id, email=email, now=now)
    invitations.mark_opted_out(db=db, invitation_id=invitation["_id"], now=now)
    running = [
        w["_id"]
        for w in waves.in_status(db=db, statuses=_RUNNING, org_id=org_id, fields=("_id",))
        if w["_id"] != invitation.get("wave_id")
    ]
    if running:
        invitations.mark_opted_out_in_waves(db=db, email=email, wave_ids=running, now=now)


def _language(invitation: dict | None) -> str:
    language = str((invitation or {}).get("language") or "en").split("-")[0].lower()
    return language if language in _WORDS else "en"


def _page(language: str, key: str, *, form: bool = False, status: int = 200, **values):
    words = _WORDS[language]
    missing = missing_names(words[key], values)
    html = render_template_string(
        _PAGE,
        lang=language,
        title=words["title"],
        message=words[variant_key(key, missing) if missing else key].format(**values),
        button=words["button"],
        form=form,
    )
    return html, status, {"Cache-Control": "no-store"}


def _invitation(token: str) -> tuple[Database, dict | None]:
    container = current_app.extensions["rapport"]
    invitation_id = invitation_id_from_optout_token(token, container.settings)
    db = container.db
    if invitation_id is None:
        return db, None
    return db, invitations.get(db=db, invitation_id=invitation_id)


@bp.get("/optout/<token>")
def confirm(token: str):
    db, invitation = _invitation(token)
    if invitation is None:
        return _page("en", "invalid", status=404)
    return _page(_language(invitation), "question", form=True, email=invitation["person_email"])


@bp.post("/optout/<token>")
def opt_out(token: str):
    db, invitation = _invitation(token)
    if invitation is None:
        return _page("en", "invalid", status=404)
    record_opt_out(db=db, invitation=invitation)
    return _page(
        _language(invitation),
        "done",
        email=invitation["person_email"],
        org=load_branding(db, invitation["org_id"]).display_name,
    )


def register(app: Flask) -> None:
    """Serve the opt-out pages; one-click posts carry no CSRF token, so they are exempt."""
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)
