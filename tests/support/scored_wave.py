"""A closed, scored synthetic wave (deploy/local/synthetic.py) built through the product's own
functions: roster import, launch, respondent submit, closing and the scoring worker's close.
Two waves of the same roster give the second one trends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from deploy.local.synthetic import generate_roster_and_answers
from services.scoring.worker import close_wave as score_closed_wave
from services.survey.admin.programs import create_program
from services.survey.admin.roster import import_roster_rows
from services.survey.admin.waves import close_wave, create_wave, launch_wave
from services.survey.organisations import ensure_organisation
from services.survey.respond.service import load_respondent, submit_answers
from shared.bus import InProcessBus
from shared.settings import Settings
from shared.tokens import sign_invitation
from shared.vocabulary import BUYER, SELLER


@dataclass(frozen=True)
class ScoredProgram:
    org_id: str
    program_id: str
    wave_ids: tuple[str, ...]  # oldest first; the last is the one with trends

    @property
    def wave_id(self) -> str:
        return self.wave_ids[-1]


def scored_program(
    db: Database,
    settings: Settings,
    *,
    org: str = "acme",
    accounts: int = 12,
    contacts_per_account: int = 4,
    waves: int = 2,
    seed: int = 7,
) -> ScoredProgram:
    """A program of organisation `org` with `waves` closed, scored synthetic waves."""
    org_id = ensure_organisation(db=db, name=org)
    first = generate_roster_and_answers(accounts, contacts_per_account, seed=seed)
    program = create_program(db=db, org_id=org_id, name="Key accounts", settings={})
    import_roster_rows(db=db, org_id=org_id, program_id=program["_id"], rows=first["roster"])
    bus = InProcessBus(settings, declare={"everything": ("#",)})
    wave_ids = []
    for number in range(waves):
        data = (
            first
            if number == 0
            else generate_roster_and_answers(accounts, contacts_per_account, seed=seed, wave=number)
        )
        wave = create_wave(
            db=db,
            org_id=org_id,
            program_id=program["_id"],
            name=f"Wave {number + 1}",
            closes_at=datetime.now(UTC) + timedelta(days=14),
        )
        launch_wave(db=db, bus=bus, org_id=org_id, wave_id=wave["_id"], delivery="none")
        _answer(db, settings, wave["_id"], program["_id"], data)
        close_wave(db=db, bus=bus, org_id=org_id, wave_id=wave["_id"])
        score_closed_wave(db=db, bus=bus, wave_id=wave["_id"])
        wave_ids.append(wave["_id"])
    return ScoredProgram(org_id, program["_id"], tuple(wave_ids))


def _answer(db: Database, settings: Settings, wave_id: str, program_id: str, data: dict) -> None:
    invitations = {
        (i["side"], i["person_email"]): i for i in db.invitations.find({"wave_id": wave_id})
    }
    contact_ids = {c["email"]: c["_id"] for c in db.contacts.find({"program_id": program_id})}
    for side, responses in ((BUYER, data["buyer_responses"]), (SELLER, data["seller_responses"])):
        for response in responses:
            email = response["contact_email"] if side == BUYER else response["seller_email"]
            respondent = load_respondent(
                db=db,
                settings=settings,
                token=sign_invitation(invitations[(side, email)]["_id"], settings),
            )
            submit_answers(
                db=db,
                bus=None,
                respondent=respondent,
                subject_id=contact_ids[response["contact_email"]],
                answers={k: v for k, v in response["answers"].items() if v is not None},
            )
