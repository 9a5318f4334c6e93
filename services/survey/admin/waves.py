"""Waves: create, launch (one invitation per buyer contact and per seller), watch and close.

Status: draft -> launching -> open -> closing -> closed. Launch moves draft to launching
with one atomic update, so a second launch is a 409 and never a second set of
invitations; invitations are upserts keyed by `invitation_key` (unique), so a launch that
is retried after a crash completes the same set. Events go through the `outbox` first.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.survey.admin.programs import get_program
from services.survey.errors import Conflict, NotFound, ValidationFailed
from shared import clock
from shared.bus import Bus
from shared.events import INVITATIONS_CREATED, WAVE_CLOSED, Event
from shared.ids import new_id
from shared.outbox import pending_count, publish_staged, stage_events
from shared.settings import Settings
from shared.store import Database, opt_outs, waves
from shared.store import invitations as invitation_store
from shared.store import roster as roster_store
from shared.tokens import sign_invitation, survey_url
from shared.vocabulary import (
    BUYER,
    CLOSED,
    CLOSING,
    COMPLETED,
    DRAFT,
    IN_PROGRESS,
    INVITATION_STATUSES,
    INVITED,
    LAUNCHING,
    OPEN,
    OPENED,
    SELLER,
)

log = logging.getLogger(__name__)

DELIVERIES = ("email", "none")
SIDES = {BUYER: "buyers", SELLER: "sellers"}
STARTED = (OPENED, IN_PROGRESS, COMPLETED)

# A launch that has not finished after this long died with its process: it may be retried.
LAUNCH_LEASE = timedelta(minutes=10)
EVENT_BATCH = 500  # invitation ids per `invitations.created` event (DESIGN: at most 500)
CLOSED_BY_API = "api"

_INVITATION_EVENTS = uuid.UUID("6f1b8f52-8d3e-4c55-a2b4-2f3f6c1d9e01")
_CLOSING_EVENTS = uuid.UUID("a7e3c9d0-54b1-4f0e-8f77-3c2d1b0a9e42")


# --- create and read ---------------------------------------------------------------------


def create_wave(
    *,
    db: Database,
    org_id: str,
    program_id: str,
    name: str,
    closes_at: datetime,
    opens_at: datetime | None = None,
    reminder_days: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Create a draft wave of the program; reminder days default to the program's."""
    program = get_program(db=db, org_id=org_id, program_id=program_id)
    now = clock.stored_now()
    if closes_at <= now:
        raise ValidationFailed(
            "closes_at must be in the future", details={"closes_at": ["must be in the future"]}
        )
    if reminder_days is None:
        reminder_days = (program.get("settings") or {}).get("reminder_days") or []
    wave = {
        "_id": new_id(),
        "org_id": org_id,
        "program_id": program_id,
        "name": name.strip(),
        "status": DRAFT,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "reminder_days": list(reminder_days),
        "delivery": None,
        "created_at": now,
        "launched_at": None,
        "closing_at": None,
        "closed_at": None,
        "scored_at": None,
        "invited_buyers": None,
        "invited_sellers": None,
    }
    waves.insert(db=db, wave=wave)
    return {**wave, "counts": _empty_counts()}


def get_wave(*, db: Database, org_id: str, wave_id: str) -> dict[str, Any]:
    """The organisation's wave; another organisation's is as unknown as a missing one."""
    wave = waves.get(db=db, org_id=org_id, wave_id=wave_id)
    if wave is None:
        raise NotFound("wave not found")
    return wave


def _empty_counts() -> dict[str, dict[str, int]]:
    return {
        plural: {**dict.fromkeys(INVITATION_STATUSES, 0), "opted_out": 0}
        for plural in SIDES.values()
    }


def wave_counts(*, db: Database, org_id: str, wave_id: str) -> dict[str, dict[str, int]]:
    """Per side: invited, opened (opened at least), in progress, completed, and opted out.

    Someone who opted out without completing counts as opted_out and nowhere else (nobody
    waits for their answer); a completed response counts as invited and completed whatever
    its author did afterwards, so completed <= opened <= invited always holds.
    """
    counts = _empty_counts()
    for state, n in invitation_store.count_by_state(db=db, org_id=org_id, wave_id=wave_id):
        side = SIDES.get(state.get("side"))
        if side is None:
            continue
        status = state.get("status")
        if state.get("opted_out") is True and status != COMPLETED:
            counts[side]["opted_out"] += n
            continue
        counts[side][INVITED] += n
        if status in STARTED:
            counts[side][OPENED] += n
        if status in (IN_PROGRESS, COMPLETED):
            counts[side][status] += n
    return counts


def wave_status(*, db: Database, org_id: str, wave_id: str) -> dict[str, Any]:
    """The wave with its response counts."""
    wave = get_wave(db=db, org_id=org_id, wave_id=wave_id)
    return {**wave, "counts": wave_counts(db=db, org_id=org_id, wave_id=wave_id)}


# --- launch ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaunchReport:
    """What a launch did."""

    wave_id: str
    status: str
    invited_buyers: int
    invited_sellers: int
    events_published: int
    events_pending: int
    opted_out: int = 0  # people on the roster who had opted out: not counted as invited


@dataclass(frozen=True)
class LaunchRoster:
    """What the invitations are built from: the program's roster and the organisation's opt-outs."""

    accounts: Mapping[str, str]  # account _id -> name
    contacts: Sequence[Mapping[str, Any]]
    sellers: Mapping[str, Mapping[str, Any]]  # email -> seller
    assignments: Sequence[Mapping[str, Any]]
    opted_out: frozenset[str]
    default_language: str


def load_launch_roster(*, db: Database, org_id: str, program: Mapping[str, Any]) -> LaunchRoster:
    """Read the program's roster in five queries."""
    scope = {"org_id": org_id, "program_id": program["_id"]}
    languages = (program.get("settings") or {}).get("languages") or ["en"]
    return LaunchRoster(
        accounts={
            a["_id"]: a.get("name") or a.get("external_id", "")
            for a in roster_store.list_accounts(db=db, **scope, fields=("name", "external_id"))
        },
        contacts=roster_store.list_contacts(
            db=db, **scope, fields=("email", "name", "language", "account_id")
        ),
        sellers={
            s["email"]: s
            for s in roster_store.list_sellers(db=db, **scope, fields=("email", "name", "language"))
        },
        assignments=roster_store.list_assignments(
            db=db, **scope, fields=("contact_email", "seller_email", "position")
        ),
        opted_out=frozenset(opt_outs.emails(db=db, org_id=org_id)),
        default_language=languages[0],
    )


def build_invitations(
    *, wave: Mapping[str, Any], roster: LaunchRoster, now: datetime
) -> list[dict[str, Any]]:
    """One invitation per buyer contact, then one per seller with their buyer contacts as subjects.

    Buyers come first, each side ordered by email, so a retried launch builds the same list.
    """

    def invitation(side: str, email: str, name: str, language: str, subjects: list[dict]) -> dict:
        opted_out = email in roster.opted_out
        return invitation_store.build(
            wave=wave,
            side=side,
            email=email,
            name=name,
            language=language,
            subjects=subjects,
            opted_out=opted_out,
            now=now,
        )

    subject_of: dict[str, dict[str, Any]] = {}
    buyers = []
    for contact in sorted(roster.contacts, key=lambda c: c["email"]):
        account_name = roster.accounts.get(contact.get("account_id"), "")
        name = contact.get("name") or contact["email"]
        subject = {
            "subject_id": contact["_id"],
            "contact_id": contact["_id"],
            "account_id": contact.get("account_id"),
            "label": f"{name}, {account_name}" if account_name else name,
        }
        subject_of[contact["email"]] = subject
        language = contact.get("language") or roster.default_language
        buyers.append(invitation(BUYER, contact["email"], name, language, [dict(subject)]))

    subjects_of_seller: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for assignment in roster.assignments:
        subject = subject_of.get(assignment["contact_email"])
        if subject is not None:
            subjects_of_seller[assignment["seller_email"]].append(dict(subject))
    sellers = []
    for email in sorted(subjects_of_seller):
        seller = roster.sellers.get(email) or {}
        subjects = sorted(subjects_of_seller[email], key=lambda s: s["label"].casefold())
        language = seller.get("language") or roster.default_language
        sellers.append(invitation(SELLER, email, seller.get("name") or email, language, subjects))
    return buyers + sellers


def _chunks[T](items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_invitations(*, db: Database, invitations: Sequence[Mapping[str, Any]]) -> list[str]:
    """Upsert the invitations in bulk; the stored ids in the same order (existing ones kept)."""
    return invitation_store.write_many(db=db, invitations=invitations)


def invitation_events(*, wave: Mapping[str, Any], invitation_ids: Sequence[str]) -> list[Event]:
    """`invitations.created` events of at most EVENT_BATCH ids; the same batch has the same id."""
    events = []
    for chunk in _chunks(invitation_ids, EVENT_BATCH):
        event_id = uuid.uuid5(_INVITATION_EVENTS, f"{wave['_id']}:{','.join(chunk)}").hex
        payload = {
            "org_id": wave["org_id"],
            "wave_id": wave["_id"],
            "invitation_ids": list(chunk),
            "kind": "invitation",
        }
        events.append(Event(INVITATIONS_CREATED, payload, event_id=event_id))
    return events


def _claim_for_launch(db: Database, org_id: str, wave_id: str, now: datetime) -> dict[str, Any]:
    claimed = waves.claim_launch(db=db, org_id=org_id, wave_id=wave_id, now=now, lease=LAUNCH_LEASE)
    if claimed is not None:
        return claimed
    wave = get_wave(db=db, org_id=org_id, wave_id=wave_id)
    raise Conflict(f"the wave is {wave['status']}, not draft: a wave is launched once")


def _refuse_a_second_running_wave(
    db: Database, wave: Mapping[str, Any], invitations: Sequence[Mapping[str, Any]], now: datetime
) -> None:
    """409 naming the other wave when an open (or launching) wave of the same program already
    invites one of these people. Called after this wave's claim: of two racing launches, at
    least the second sees the first."""
    emails = {i["person_email"] for i in invitations}
    others = waves.in_status(
        db=db,
        statuses=(OPEN, LAUNCHING),
        org_id=wave["org_id"],
        program_id=wave["program_id"],
        except_id=wave["_id"],
        fields=("name", "status", "closes_at", "launching_at"),
    )
    for other in others:
        closes_at, launching_at = (
            clock.aware(other.get("closes_at")),
            clock.aware(other.get("launching_at")),
        )
        if other["status"] == OPEN and closes_at is not None and closes_at <= now:
            continue  # past its closing time it takes no answer; the scheduler closes it
        if other["status"] == LAUNCHING and (
            launching_at is None or launching_at < now - LAUNCH_LEASE
        ):
            continue  # a launch that died: it checks again when retried
        shared = None
        if other["status"] == OPEN:
            people = invitation_store.not_revoked(
                db=db, wave_id=other["_id"], fields=("person_email",)
            )
            shared = next((i["person_email"] for i in people if i["person_email"] in emails), None)
            if shared is None:
                continue
        who = f"already invites {shared}" if shared else "is inviting the same roster"
        raise Conflict(
            f'wave "{other.get("name", "")}" ({other["_id"]}) of this program is {other["status"]} '
            f"and {who}: two open waves may not invite the same person; close it first",
            details={"wave_id": [f"{other['_id']} is {other['status']}"]},
        )


def launch_wave(
    *, db: Database, bus: Bus, org_id: str, wave_id: str, delivery: str
) -> LaunchReport:
    """Invite everyone on the program's roster and open the wave; 409 unless it is a draft,
    or when another open wave of the program already invites one of the same people.

    With delivery "email", `invitations.created` events (at most 500 ids each) are written
    to the outbox and then published; a broker outage leaves them for `relay_outbox`.
    """
    if delivery not in DELIVERIES:
        raise ValidationFailed("delivery must be email or none", details={"delivery": ["unknown"]})
    now = clock.stored_now()
    wave = get_wave(db=db, org_id=org_id, wave_id=wave_id)
    closes_at = clock.aware(wave.get("closes_at"))
    if wave["status"] == DRAFT and closes_at is not None and closes_at <= now:
        raise Conflict("the wave's closes_at has passed: create a new wave")
    wave = _claim_for_launch(db, org_id, wave_id, now)
    try:
        program = get_program(db=db, org_id=org_id, program_id=wave["program_id"])
        roster = load_launch_roster(db=db, org_id=org_id, program=program)
        invitations = build_invitations(wave=wave, roster=roster, now=now)
        buyers = sum(1 for i in invitations if i["side"] == BUYER)
        if buyers == 0:
            raise Conflict("the program has no contacts to invite: import a roster first")
        _refuse_a_second_running_wave(db, wave, invitations, now)
        # as the wave's counts do: who opted out before launch is not counted as invited
        opted_out = sum(1 for i in invitations if i["opted_out"])
        invited_buyers = sum(1 for i in invitations if i["side"] == BUYER and not i["opted_out"])
        invited_sellers = len(invitations) - opted_out - invited_buyers
        ids = write_invitations(db=db, invitations=invitations)
        events = invitation_events(wave=wave, invitation_ids=ids) if delivery == "email" else []
        stage_events(db=db, events=events)
        opened = waves.mark_open(
            db=db,
            org_id=org_id,
            wave_id=wave_id,
            launching_at=now,
            changes={
                "delivery": delivery,
                "launched_at": now,
                "opens_at": clock.aware(wave.get("opens_at")) or now,
                "invited_buyers": invited_buyers,
                "invited_sellers": invited_sellers,
            },
        )
        if opened is None:
            raise Conflict("the wave was launched by another request")
    except BaseException:
        # Back to draft so the launch can be retried; invitations written so far are reused.
        waves.release_launch(db=db, wave_id=wave_id, launching_at=now)
        raise
    event_ids = [e.event_id for e in events]
    published = publish_staged(db=db, bus=bus, event_ids=event_ids)
    log.info(
        "wave launched",
        extra={
            "wave_id": wave_id,
            "invited_buyers": invited_buyers,
            "invited_sellers": invited_sellers,
            "opted_out": opted_out,
            "delivery": delivery,
            "events_published": published,
            "events": len(events),
        },
    )
    return LaunchReport(
        wave_id=wave_id,
        status=OPEN,
        invited_buyers=invited_buyers,
        invited_sellers=invited_sellers,
        events_published=published,
        events_pending=pending_count(db=db, event_ids=event_ids) if published < len(events) else 0,
        opted_out=opted_out,
    )


# --- links and closing -------------------------------------------------------------------


def wave_links(
    *, db: Database, settings: Settings, org_id: str, wave_id: str
) -> list[dict[str, Any]]:
    """Every invitee's personal survey link, re-created from the invitation id (never stored)."""
    get_wave(db=db, org_id=org_id, wave_id=wave_id)
    found = invitation_store.not_revoked(
        db=db,
        wave_id=wave_id,
        org_id=org_id,
        fields=("person_email", "person_name", "side", "language", "link_version"),
        by_person=True,
    )
    return [link_of(inv, settings) for inv in found]


def link_of(invitation: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """An invitee's personal link (the current one, after any re-issue)."""
    version = int(invitation.get("link_version") or 0)
    return {
        "email": invitation["person_email"],
        "name": invitation.get("person_name") or "",
        "side": invitation["side"],
        "language": invitation.get("language"),
        "url": survey_url(invitation["_id"], settings, version),
        # for the respondent JSON API
        "token": sign_invitation(invitation["_id"], settings, version),
    }


def closing_event(wave: Mapping[str, Any]) -> Event:
    """The `wave.closed` event of a wave closed through the API; one id per wave."""
    return Event(
        WAVE_CLOSED,
        {"org_id": wave["org_id"], "wave_id": wave["_id"], "program_id": wave["program_id"]},
        event_id=uuid.uuid5(_CLOSING_EVENTS, wave["_id"]).hex,
        occurred_at=clock.aware(wave.get("closing_at")) or clock.stored_now(),
    )


def close_wave(*, db: Database, bus: Bus, org_id: str, wave_id: str) -> dict[str, Any]:
    """Move an open wave to closing and publish `wave.closed`; the scoring worker closes it.

    Only an open wave can be closed: any other status, closing and closed included, is a
    409 (API.md 1.1). An event the broker did not take stays in the outbox for the relay.
    """
    wave = get_wave(db=db, org_id=org_id, wave_id=wave_id)
    claimed = None
    if wave["status"] == OPEN:
        claimed = waves.claim_closing(
            db=db,
            org_id=org_id,
            wave_id=wave_id,
            closed_by=CLOSED_BY_API,
            now=clock.stored_now(),
        )
    if claimed is not None:
        _publish_closing(db=db, bus=bus, wave=claimed)
        return claimed
    # Not open, or closed in between by another request or the scheduler.
    wave = get_wave(db=db, org_id=org_id, wave_id=wave_id)
    if wave["status"] == CLOSING and wave.get("closed_by") == CLOSED_BY_API:
        # A close whose process died before its event was staged: the event goes out now.
        _publish_closing(db=db, bus=bus, wave=wave)
    if wave["status"] in (CLOSING, CLOSED):
        raise Conflict(f"the wave is already {wave['status']}: a wave is closed once")
    raise Conflict(f"the wave is {wave['status']}: only an open wave can be closed")


def _publish_closing(*, db: Database, bus: Bus, wave: Mapping[str, Any]) -> None:
    event = closing_event(wave)
    stage_events(db=db, events=[event])  # an event already staged is left as it is
    published = publish_staged(db=db, bus=bus, event_ids=[event.event_id])
    log.info(
        "wave closing",
        extra={"wave_id": wave["_id"], "event_id": event.event_id, "published": bool(published)},
    )
