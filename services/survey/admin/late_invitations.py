"""While a wave is open: invite who joined the roster since launch, and revoke a person's link.

Late invitations compare the roster with the wave's invitations. A contact without one gets
a buyer invitation; a seller without one gets a seller invitation; a seller already invited
gets the new buyer contacts assigned to them as new subjects. A seller who had completed
goes back to `in_progress` (the answers given stay completed; the new subjects wait), so
they count as not completed, get reminders and see the new subjects behind the same link;
submitting the last one completes them again. Calling it again changes nothing: the new
invitations are upserts by their unique key and a subject is added only where it is missing.

Revoking sets `revoked` on the person's invitations in the wave: their link answers "link
not valid" from then on (pages and JSON), they get no more email and leave the counts.
Re-issuing gives the person's invitations a new link version: the token signs
"<invitation id>~<version>", so every earlier link (the revoked one included) stays not
valid while the new one opens the same invitation, answers and all.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.survey.admin.programs import get_program
from services.survey.admin.waves import (
    DELIVERIES,
    EVENT_BATCH,
    _refuse_a_second_running_wave,
    build_invitations,
    get_wave,
    link_of,
    load_launch_roster,
    write_invitations,
)
from services.survey.errors import Conflict, NotFound, ValidationFailed
from shared import clock
from shared.bus import Bus
from shared.events import INVITATIONS_CREATED, Event
from shared.outbox import publish_staged, stage_events
from shared.settings import Settings
from shared.store import Database
from shared.store import invitations as invitation_store
from shared.vocabulary import BUYER, OPEN, SELLER

log = logging.getLogger(__name__)

_LATE_EVENTS = uuid.UUID("9e2d7c41-6a0b-4f3e-8d15-2b7a9c4e6f31")


@dataclass(frozen=True)
class LateInvitationReport:
    """What a late invitation did."""

    wave_id: str
    invited_buyers: int
    invited_sellers: int
    sellers_given_subjects: int  # sellers already invited who got new buyer contacts
    events_published: int = 0


def _late_events(wave: Mapping[str, Any], invitation_ids: Sequence[str], tag: str) -> list[Event]:
    events = []
    for start in range(0, len(invitation_ids), EVENT_BATCH):
        chunk = list(invitation_ids[start : start + EVENT_BATCH])
        key = f"{wave['_id']}:{tag}:{','.join(chunk)}"
        payload = {
            "org_id": wave["org_id"],
            "wave_id": wave["_id"],
            "invitation_ids": chunk,
            "kind": "invitation",
        }
        events.append(
            Event(INVITATIONS_CREATED, payload, event_id=uuid.uuid5(_LATE_EVENTS, key).hex)
        )
    return events


def _new_subjects(
    built: Sequence[Mapping[str, Any]], existing: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Seller invitation id -> the subjects the roster gives them that it lacks."""
    added: dict[str, list[dict[str, Any]]] = {}
    for invitation in built:
        stored = existing.get(invitation["invitation_key"])
        if invitation["side"] != SELLER or stored is None or stored.get("revoked"):
            continue
        have = {s.get("subject_id") for s in stored.get("subjects") or []}
        missing = [dict(s) for s in invitation["subjects"] if s["subject_id"] not in have]
        if missing:
            added[stored["_id"]] = missing
    return added


def invite_late(
    *, db: Database, bus: Bus, org_id: str, wave_id: str, delivery: str
) -> LateInvitationReport:
    """Invite the roster's contacts and sellers added since launch, and give sellers their
    new buyer contacts as subjects; only an open wave (409 otherwise). Idempotent."""
    if delivery not in DELIVERIES:
        raise ValidationFailed("delivery must be email or none", details={"delivery": ["unknown"]})
    wave = get_wave(db=db, org_id=org_id, wave_id=wave_id)
    if wave["status"] != OPEN:
        raise Conflict(f"the wave is {wave['status']}: only an open wave takes late invitations")
    now = clock.stored_now()
    program = get_program(db=db, org_id=org_id, program_id=wave["program_id"])
    roster = load_launch_roster(db=db, org_id=org_id, program=program)
    built = build_invitations(wave=wave, roster=roster, now=now)
    existing = {
        inv["invitation_key"]: inv
        for inv in invitation_store.of_people(
            db=db,
            org_id=org_id,
            wave_id=wave_id,
            fields=("invitation_key", "subjects.subject_id", "revoked", "status"),
        )
    }
    new = [inv for inv in built if inv["invitation_key"] not in existing]
    _refuse_a_second_running_wave(db, wave, new, now)
    subjects = _new_subjects(built, existing)
    # Events are recorded before the invitations: a crash in between loses no email
    # (a retry finds the invitations and the relay still publishes the recorded event).
    to_email = [inv["_id"] for inv in new if not inv["opted_out"]]
    events = []
    if delivery == "email":
        events = _late_events(wave, to_email, "new") + _late_events(wave, sorted(subjects), "more")
        stage_events(db=db, events=events)
    write_invitations(db=db, invitations=new)
    given = sum(
        invitation_store.add_subjects(db=db, invitation_id=inv_id, subjects=added, now=now)
        for inv_id, added in subjects.items()
    )
    published = publish_staged(db=db, bus=bus, event_ids=[e.event_id for e in events])
    report = LateInvitationReport(
        wave_id=wave_id,
        invited_buyers=sum(1 for i in new if i["side"] == BUYER and not i["opted_out"]),
        invited_sellers=sum(1 for i in new if i["side"] == SELLER and not i["opted_out"]),
        sellers_given_subjects=int(given),
        events_published=published,
    )
    log.info("late invitations", extra={**report.__dict__})
    return report


def revoke_link(*, db: Database, org_id: str, wave_id: str, email: str) -> None:
    """Revoke the person's link(s) in the wave; 404 when they are not invited to it.
    Revoking again changes nothing."""
    get_wave(db=db, org_id=org_id, wave_id=wave_id)
    address = email.strip().lower()
    found = invitation_store.of_people(
        db=db, org_id=org_id, wave_id=wave_id, emails=[address], fields=("revoked",)
    )
    if not found:
        raise NotFound(f"{address} is not invited to this wave")
    revoked = invitation_store.revoke(
        db=db, org_id=org_id, wave_id=wave_id, email=address, now=clock.stored_now()
    )
    log.info("link revoked", extra={"wave_id": wave_id, "invitations": revoked})


def reissue_link(
    *, db: Database, settings: Settings, org_id: str, wave_id: str, email: str
) -> list[dict[str, Any]]:
    """A new link for the person (revoked or not) in an open wave: their earlier links stop
    working. The new links (one per side they answer on); 404 when not invited, 409 unless
    the wave is open."""
    wave = get_wave(db=db, org_id=org_id, wave_id=wave_id)
    address = email.strip().lower()
    if not invitation_store.of_people(
        db=db, org_id=org_id, wave_id=wave_id, emails=[address], fields=("_id",)
    ):
        raise NotFound(f"{address} is not invited to this wave")
    if wave["status"] != OPEN:
        raise Conflict(f"the wave is {wave['status']}: links are re-issued while it is open")
    invitation_store.reissue(
        db=db, org_id=org_id, wave_id=wave_id, email=address, now=clock.stored_now()
    )
    found = invitation_store.of_people(
        db=db,
        org_id=org_id,
        wave_id=wave_id,
        emails=[address],
        fields=("person_email", "person_name", "side", "language", "link_version"),
    )
    log.info("link re-issued", extra={"wave_id": wave_id, "invitations": len(found)})
    return [link_of(inv, settings) for inv in sorted(found, key=lambda i: i["side"])]
