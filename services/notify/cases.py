"""Close-the-loop emails (DESIGN.md "Close the loop: cases"), never one per trigger:

- after `wave.scored`: one email per owner per wave listing their new cases, grouped by
  account, each with one sentence of what happened and a signed link to the case;
- the day before a case is due, one reminder to its owner;
- overdue cases to the program manager, once a day at most.

Each email has an idempotency key (`cases:<wave>:<owner>`, `case-reminder:<case>`,
`cases-overdue:<program>:<day>`), so a redelivered event or a second scheduler pass sends
nothing twice. Every email is in the recipient's language (a seller's roster language).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.alerts import VALUE_KINDS, describe
from services.notify.delivery import Delivery, Outgoing, Tally
from services.notify.invitations import sent_for
from services.notify.rendering import Renderer, Words, email_language, wording
from shared.organisation import load_branding
from shared.settings import Settings
from shared.store import Database, emails, programs, roster, waves
from shared.store import cases as case_store
from shared.tokens import case_url

log = logging.getLogger(__name__)

REMIND_BEFORE = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_cases_key(wave_id: str, owner: str) -> str:
    return f"cases:{wave_id}:{owner.lower()}"


def reminder_key(case_id: str) -> str:
    return f"case-reminder:{case_id}"


def overdue_key(program_id: str, now: datetime) -> str:
    return f"cases-overdue:{program_id}:{now.date().isoformat()}"


def case_sentence(case: Mapping[str, Any], words: Words) -> tuple[str, dict[str, Any]]:
    """The wording key and values of the one sentence saying what happened: the case's wave
    by name, and the previous wave by name where the change is measured against it."""
    kind = str(case.get("kind") or "")
    key = f"case_{kind}" if f"case_{kind}" in wording()["words"] else "case_other"
    numbers = case.get("numbers") or {}
    value_kind = VALUE_KINDS.get(kind, "number")
    return key, {
        "wave": case.get("wave_name") or "",
        "previous_wave": case.get("previous_wave_name") or "",
        "who": case.get("contact_name") or case.get("contact_email") or "",
        "kind": kind.replace("_", " "),
        "previous": describe(numbers.get("previous"), value_kind, words),
        "current": describe(numbers.get("current"), value_kind, words),
    }


def case_groups(
    found: Iterable[Mapping[str, Any]], words: Words, settings: Settings, *, with_owner: bool
) -> list[dict[str, Any]]:
    """The cases grouped by account (in the order given), each as its sentence and link."""
    groups: dict[str, dict[str, Any]] = {}
    for case in found:
        key, values = case_sentence(case, words)
        group = groups.setdefault(
            case.get("account_external_id") or "",
            {
                "account_name": case.get("account_name") or case.get("account_external_id"),
                "items": [],
            },
        )
        owner_line = (
            {"owner": case.get("owner_email") or "", "due": words.date(case.get("due_at"))}
            if with_owner
            else None
        )
        group["items"].append(
            {
                "key": key,
                "values": values,
                "url": case_url(case["_id"], settings),
                "owner_line": owner_line,
            }
        )
    return list(groups.values())


def _person(db: Database, program_id: str | None, email: str) -> tuple[str | None, str]:
    """(name, email language) of a seller of the program; unknown people get the default."""
    seller = roster.find_seller(db=db, program_id=program_id, email=email) or {}
    return seller.get("name"), email_language(seller.get("language"))


def _send(
    *,
    db: Database,
    delivery: Delivery,
    renderer: Renderer,
    settings: Settings,
    key: str,
    kind: str,
    to_email: str,
    program_id: str | None,
    org_id: str,
    found: list[Mapping[str, Any]],
    subject: tuple[str, dict[str, Any]],
    intro: list[tuple[str, dict[str, Any]]],
    meta: dict[str, Any],
    with_owner: bool = False,
    closing: str | None = None,
) -> Tally:
    """Render and send one case email (skipped when its key is taken)."""
    tally = Tally()
    if emails.taken_keys(db=db, keys=[key]):
        tally.duplicate += 1
        return tally
    name, language = _person(db, program_id, to_email)
    to = delivery.recipient(key=key, kind=kind, email=to_email, name=name, tally=tally, meta=meta)
    if to is None:
        return tally
    words = Words(language, html=False)
    branding = load_branding(db, org_id)
    subject_key, subject_values = subject
    rendered = renderer.render(
        "cases",
        language=language,
        subject=(subject_key, subject_values),
        title=words(subject_key, **subject_values),
        owner_name=name or "",
        org_name=branding.display_name,
        intro=[(k, _dated(v, words)) for k, v in intro],
        groups=case_groups(found, words, settings, with_owner=with_owner),
        closing=closing,
    )
    email = Outgoing(
        key=key,
        kind=kind,
        to=to,
        rendered=rendered,
        language=language,
        meta=meta,
        **sent_for(branding),
    )
    return tally.count(delivery.send_all([email]))


def _dated(values: Mapping[str, Any], words: Words) -> dict[str, Any]:
    """Values with dates in words."""
    return {k: words.date(v) if isinstance(v, datetime) else v for k, v in values.items()}


def send_new_cases(
    *,
    db: Database,
    delivery: Delivery,
    renderer: Renderer,
    settings: Settings,
    event_id: str,
    payload: dict[str, Any],
) -> Tally:
    """After `wave.scored`: each owner's one email listing their new cases of the wave."""
    org_id, wave_id = payload["org_id"], payload["wave_id"]
    tally = Tally()
    wave = waves.get(db=db, org_id=org_id, wave_id=wave_id, fields=("name", "program_id"))
    if wave is None:
        return tally
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for case in case_store.of_wave(db=db, org_id=org_id, wave_id=wave_id):
        if case.get("owner_email"):
            by_owner.setdefault(case["owner_email"], []).append(case)
        else:
            tally.skip("no_owner")
    for owner, found in by_owner.items():
        intro: list[tuple[str, dict[str, Any]]] = [
            ("cases_intro", {"wave": wave.get("name", ""), "due": found[0].get("due_at")})
        ]
        previous = found[0].get("previous_wave_name")
        if previous:  # "previous wave" only when there was one
            intro.append(("cases_compared", {"previous_wave": previous}))
        tally.merge(
            _send(
                db=db,
                delivery=delivery,
                renderer=renderer,
                settings=settings,
                key=new_cases_key(wave_id, owner),
                kind="cases",
                to_email=owner,
                program_id=wave.get("program_id"),
                org_id=org_id,
                found=found,
                subject=("cases_subject", {"wave": wave.get("name", ""), "count": len(found)}),
                intro=intro,
                meta={"event_id": event_id, "org_id": org_id, "wave_id": wave_id},
                closing="cases_next",
            )
        )
    log.info("case emails handled", extra={"wave_id": wave_id, **tally.__dict__})
    return tally


def send_case_reminders(
    *, db: Database, delivery: Delivery, renderer: Renderer, settings: Settings, now: datetime
) -> int:
    """One reminder per case not closed and due within a day, to its owner, once."""
    sent = 0
    due = case_store.not_closed_due_between(db=db, start=now, end=now + REMIND_BEFORE)
    taken = emails.taken_keys(db=db, keys=[reminder_key(c["_id"]) for c in due])
    for case in due:
        if reminder_key(case["_id"]) in taken or not case.get("owner_email"):
            continue
        tally = _send(
            db=db,
            delivery=delivery,
            renderer=renderer,
            settings=settings,
            key=reminder_key(case["_id"]),
            kind="case_reminder",
            to_email=case["owner_email"],
            program_id=case.get("program_id"),
            org_id=case["org_id"],
            found=[case],
            subject=("case_reminder_subject", {"account": case.get("account_name") or ""}),
            intro=[("case_reminder_intro", {"due": case.get("due_at")})],
            meta={"org_id": case["org_id"], "wave_id": case["wave_id"], "case_id": case["_id"]},
        )
        sent += tally.sent + tally.pending
    return sent


def send_overdue_cases(
    *, db: Database, delivery: Delivery, renderer: Renderer, settings: Settings, now: datetime
) -> int:
    """Each program's overdue cases to its manager (settings.manager_email), once a day."""
    by_program: dict[str, list[dict[str, Any]]] = {}
    for case in case_store.not_closed_due_between(db=db, start=_EPOCH, end=now):
        by_program.setdefault(case["program_id"], []).append(case)
    taken = emails.taken_keys(db=db, keys=[overdue_key(p, now) for p in by_program])
    sent = 0
    for program_id, found in by_program.items():
        if overdue_key(program_id, now) in taken:
            continue
        org_id = found[0]["org_id"]
        program = programs.get(db=db, org_id=org_id, program_id=program_id) or {}
        manager = (program.get("settings") or {}).get("manager_email")
        if not manager:
            continue
        tally = _send(
            db=db,
            delivery=delivery,
            renderer=renderer,
            settings=settings,
            key=overdue_key(program_id, now),
            kind="cases_overdue",
            to_email=manager,
            program_id=program_id,
            org_id=org_id,
            found=found,
            subject=(
                "cases_overdue_subject",
                {"program": program.get("name", ""), "count": len(found)},
            ),
            intro=[("cases_overdue_intro", {})],
            meta={"org_id": org_id, "program_id": program_id},
            with_owner=True,
        )
        sent += tally.sent + tally.pending
    return sent
