"""A launched and answered wave of a synthetic program, through the product's own functions
(roster import, wave launch, the respondent service's submit): for benchmarks and tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from deploy.local.synthetic import generate_roster_and_answers
from services.survey.admin.programs import create_program
from services.survey.admin.roster import import_roster_rows
from services.survey.admin.waves import create_wave, launch_wave
from services.survey.organisations import ensure_organisation
from services.survey.respond.service import load_respondent, submit_answers
from shared import clock
from shared.bus import Bus
from shared.settings import Settings
from shared.store import composite_id
from shared.store import invitations as invitation_store
from shared.store import responses as response_store
from shared.tokens import sign_invitation
from shared.vocabulary import BUYER, COMPLETED, SELLER


def _store_completed(
    db: Database, wave: dict, invitations: dict, contacts: dict, data: dict
) -> int:
    """The completed responses of the synthetic answers, as submits leave them, in bulk."""
    now = clock.now()
    documents = []
    for side, found in ((BUYER, data["buyer_responses"]), (SELLER, data["seller_responses"])):
        for response in found:
            contact = contacts[response["contact_email"]]
            email = response["contact_email"] if side == BUYER else response["seller_email"]
            invitation_id = invitations[(side, email)]
            doc = {
                "_id": composite_id(invitation_id, contact["_id"]),
                "org_id": wave["org_id"],
                "program_id": wave["program_id"],
                "wave_id": wave["_id"],
                "invitation_id": invitation_id,
                "subject_id": contact["_id"],
                "side": side,
                "contact_id": contact["_id"],
                "account_id": contact["account_id"],
                "answers": {k: v for k, v in response["answers"].items() if v is not None},
                "rev": 1,
                "resume_section": None,
                "status": COMPLETED,
                "created_at": now,
                "updated_at": now,
                "completed_at": now,
                "outbox": [],
            }
            if side == SELLER:
                doc["seller_email"] = email
            documents.append(doc)
    response_store.insert_many_new(db=db, responses=documents)
    for invitation_id in dict.fromkeys(d["invitation_id"] for d in documents):
        invitation_store.mark_completed(db=db, invitation_id=invitation_id, now=now)
    return len(documents)


@dataclass
class SeededWave:
    org_id: str
    program_id: str
    wave_id: str
    roster_rows: int
    answered: int
    seconds: dict[str, float] = field(default_factory=dict)  # import, launch, answers


def seed_answered_wave(
    *,
    db: Database,
    bus: Bus,
    settings: Settings,
    accounts: int,
    contacts_per_account: int = 5,
    seed: int = 11,
    organisation: str = "bench",
    bulk: bool = False,
) -> SeededWave:
    """A program of `accounts` accounts, its wave launched (delivery none) and answered by
    every buyer and seller the synthetic data has answer (times of each step in `seconds`).

    Each answer goes through the respondent service's `submit_answers` (a few round trips
    each: minutes for a 2,000-account wave), or with `bulk` the completed responses are
    stored in batches (`responses.insert_many_new`: the documents a submit leaves, their
    event already sent) and their invitations marked completed."""
    org_id = ensure_organisation(db=db, name=organisation)
    program = create_program(db=db, org_id=org_id, name="Synthetic program")
    data = generate_roster_and_answers(accounts, contacts_per_account, seed=seed)
    seconds = {}
    started = time.perf_counter()
    import_roster_rows(db=db, org_id=org_id, program_id=program["_id"], rows=data["roster"])
    seconds["import"] = time.perf_counter() - started
    wave = create_wave(
        db=db,
        org_id=org_id,
        program_id=program["_id"],
        name="Synthetic wave",
        closes_at=datetime.now(UTC) + timedelta(days=14),
    )
    started = time.perf_counter()
    launch_wave(db=db, bus=bus, org_id=org_id, wave_id=wave["_id"], delivery="none")
    seconds["launch"] = time.perf_counter() - started
    started = time.perf_counter()
    invitations = {
        (i["side"], i["person_email"]): i["_id"]
        for i in db.invitations.find({"wave_id": wave["_id"]})
    }
    contacts = {c["email"]: c for c in db.contacts.find({"program_id": program["_id"]})}
    answered = 0
    if bulk:
        answered = _store_completed(db, wave, invitations, contacts, data)
    for side, found in ((BUYER, data["buyer_responses"]), (SELLER, data["seller_responses"])):
        for response in () if bulk else found:
            email = response["contact_email"] if side == BUYER else response["seller_email"]
            token = sign_invitation(invitations[(side, email)], settings)
            submit_answers(
                db=db,
                bus=None,
                respondent=load_respondent(db=db, settings=settings, token=token),
                subject_id=contacts[response["contact_email"]]["_id"],
                answers={k: v for k, v in response["answers"].items() if v is not None},
            )
            answered += 1
    seconds["answers"] = time.perf_counter() - started
    return SeededWave(
        org_id=org_id,
        program_id=program["_id"],
        wave_id=wave["_id"],
        roster_rows=len(data["roster"]),
        answered=answered,
        seconds=seconds,
    )
