"""Demo data for `make dev`: a program with one closed, scored wave and one open wave.

Closing the wave opens its close-the-loop cases (one per trigger); the demo works two of them,
one in progress and one closed with a note, so the cases list shows the loop working.

Everything goes through the same service functions as the API (roster import, wave
launch, respondent submit, the closing recompute), on a synthetic wave.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from deploy.local.synthetic import generate_roster_and_answers
from services.bootstrap import Container
from services.scoring.worker import close_wave
from services.survey.admin.cases import change_case, list_cases
from services.survey.admin.programs import create_program
from services.survey.admin.roster import import_roster_rows
from services.survey.admin.waves import create_wave, launch_wave
from services.survey.organisations import ensure_organisation
from services.survey.respond.service import load_respondent, submit_answers
from shared.store import Database, waves
from shared.tokens import sign_invitation
from shared.vocabulary import BUYER, SELLER

log = logging.getLogger(__name__)
DEMO_PROGRAM = "Demo: key accounts"


def ensure_demo(
    *, container: Container, accounts: int = 12, contacts_per_account: int = 4
) -> str | None:
    """Create the demo program once (in organisation `default`); returns the closed wave's id."""
    db, bus, settings = container.db, container.bus, container.settings
    org_id = ensure_organisation(db=db, name="default")
    if db.programs.find_one({"org_id": org_id, "name": DEMO_PROGRAM}):
        return None
    data = generate_roster_and_answers(accounts, contacts_per_account, seed=7)
    program = create_program(
        db=db,
        org_id=org_id,
        name=DEMO_PROGRAM,
        settings={"manager_email": "program.manager@vendor.example.com"},
    )
    import_roster_rows(db=db, org_id=org_id, program_id=program["_id"], rows=data["roster"])

    closes_at = datetime.now(UTC) + timedelta(days=14)
    closed = create_wave(
        db=db,
        org_id=org_id,
        program_id=program["_id"],
        name="Spring review (demo)",
        closes_at=closes_at,
    )
    launch_wave(db=db, bus=bus, org_id=org_id, wave_id=closed["_id"], delivery="none")
    invitations = {
        (i["side"], i["person_email"]): i for i in db.invitations.find({"wave_id": closed["_id"]})
    }
    contact_ids = {c["email"]: c["_id"] for c in db.contacts.find({"program_id": program["_id"]})}
    for side, responses in (
        (BUYER, data["buyer_responses"]),
        (SELLER, data["seller_responses"]),
    ):
        for response in responses:
            email = response["contact_email"] if side == BUYER else response["seller_email"]
            invitation = invitations[(side, email)]
            respondent = load_respondent(
                db=db, settings=settings, token=sign_invitation(invitation["_id"], settings)
            )
            answers = {k: v for k, v in response["answers"].items() if v is not None}
            submit_answers(
                db=db,
                bus=None,
                respondent=respondent,
                subject_id=contact_ids[response["contact_email"]],
                answers=answers,
            )
    waves.claim_closing(
        db=db, org_id=org_id, wave_id=closed["_id"], closed_by="demo", now=datetime.now(UTC)
    )
    close_wave(db=db, bus=bus, wave_id=closed["_id"])
    _work_two_cases(db, org_id, closed["_id"])

    live = create_wave(
        db=db,
        org_id=org_id,
        program_id=program["_id"],
        name="Autumn review (demo, open)",
        closes_at=closes_at,
    )
    launch_wave(db=db, bus=bus, org_id=org_id, wave_id=live["_id"], delivery="none")
    log.info("demo data created", extra={"wave_id": closed["_id"]})
    print(
        f"  demo            closed wave {closed['_id']} (results at /api/v1/waves/{closed['_id']}/results),"
        f" open wave {live['_id']} (links at /api/v1/waves/{live['_id']}/links),"
        f" cases at /api/v1/waves/{closed['_id']}/cases",
        flush=True,
    )
    return closed["_id"]


def _work_two_cases(db: Database, org_id: str, wave_id: str) -> None:
    """The first case in progress, the second closed with a note (as its owner would)."""
    found = list_cases(db=db, org_id=org_id, wave_id=wave_id)["items"]
    if found:
        change_case(db=db, org_id=org_id, case_id=found[0]["id"], status="in_progress", by="demo")
    if len(found) > 1:
        change_case(
            db=db,
            org_id=org_id,
            case_id=found[1]["id"],
            status="closed",
            note="Met the buyer, agreed a joint plan for the next quarter.",
            by="demo",
        )
