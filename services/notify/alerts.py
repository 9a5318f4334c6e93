"""`relationship.alert`: tell the account owner what changed since the last wave."""

from __future__ import annotations

import logging
from typing import Any

from services.notify.delivery import Delivery, Outgoing, Tally
from services.notify.invitations import sent_for
from services.notify.rendering import Renderer, Words, email_language, wording
from shared.organisation import load_branding
from shared.settings import Settings
from shared.store import Database, roster, waves
from shared.vocabulary import LEVELS, NPS_CATEGORIES

log = logging.getLogger(__name__)

# What the previous/current values of each alert kind are.
VALUE_KINDS = {
    "level_drop": "level",
    "antagonistic": "level",
    "became_detractor": "nps_category",
    "ri_drop": "number",
}


def describe(value: Any, kind: str, words: Words) -> str:
    """A previous or current value in words: a level, an NPS category or a number (a level or
    category sent as a code is its position in LEVELS or NPS_CATEGORIES, as the engine codes it)."""
    if value is None:
        return words.number(None)
    if kind in ("level", "nps_category"):
        names = LEVELS if kind == "level" else NPS_CATEGORIES
        if isinstance(value, int | float) and not isinstance(value, bool):
            code = int(value)
            value = names[code] if 0 <= code < len(names) and code == value else value
        if isinstance(value, str):
            return words.name(kind, value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return words.number(value)
    return str(value)


def send_alert(
    *,
    db: Database,
    delivery: Delivery,
    renderer: Renderer,
    settings: Settings,
    event_id: str,
    payload: dict[str, Any],
) -> Tally:
    """One email to the account owner per alert event."""
    tally = Tally()
    org_id, wave_id = payload["org_id"], payload.get("wave_id")
    external_id = payload.get("account_external_id")
    wave = waves.get(db=db, org_id=org_id, wave_id=wave_id) or {}
    program_id = wave.get("program_id")
    account = (
        roster.find_account(db=db, program_id=program_id, external_id=external_id) or {}
        if program_id
        else {}
    )
    owner = payload.get("owner_email") or account.get("owner_email")
    if not owner:
        log.info("alert without an account owner; not emailed", extra={"wave_id": wave_id})
        tally.skip("no_owner")
        return tally
    owner_person = roster.find_seller(db=db, program_id=program_id, email=owner) or {}
    language = email_language(owner_person.get("language"))
    words = Words(language, html=False)
    kind = str(payload.get("kind") or "")
    detail = payload.get("detail") or {}
    contact_email = payload.get("contact_email")
    contact = (
        roster.find_contact(db=db, program_id=program_id, email=contact_email) or {}
        if contact_email and program_id
        else {}
    )
    account_name = account.get("name") or external_id or ""
    key = f"{event_id}:{owner}:alert"
    meta = {"event_id": event_id, "org_id": org_id, "wave_id": wave_id, "alert_kind": kind}
    to = delivery.recipient(
        key=key, kind="alert", email=owner, name=owner_person.get("name"), tally=tally, meta=meta
    )
    if to is None:
        return tally
    branding = load_branding(db, org_id)
    rendered = renderer.render(
        "relationship_alert",
        language=language,
        subject=("alert_subject", {"account": account_name}),
        owner_name=owner_person.get("name") or "",
        account_name=account_name,
        wave_name=wave.get("name", ""),
        org_name=branding.display_name,
        kind=kind.replace("_", " "),
        who=contact.get("name") or contact_email or "",
        **_what_changed(kind, detail, words),
    )
    email = Outgoing(
        key=key,
        kind="alert",
        to=to,
        rendered=rendered,
        language=language,
        meta=meta,
        **sent_for(branding),
    )
    return tally.count(delivery.send_all([email]))


def _what_changed(kind: str, detail: dict[str, Any], words: Words) -> dict[str, Any]:
    """The alert's sentence (`change_key`), its previous and current values in words, and its
    other details as (name, value) lines."""
    value_kind = VALUE_KINDS.get(kind, "number")
    change_key = f"alert_{kind}" if f"alert_{kind}" in wording()["words"] else "alert_other"
    return {
        "change_key": change_key,
        # a missing previous value picks the sentence written without it
        "previous": None
        if detail.get("previous") is None
        else describe(detail.get("previous"), value_kind, words),
        "current": describe(detail.get("current"), value_kind, words),
        "details": [
            (str(k).replace("_", " "), describe(v, "", words))
            for k, v in detail.items()
            if k not in ("previous", "current") and not isinstance(v, dict | list)
        ],
    }
