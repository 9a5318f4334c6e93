"""A launched wave, and its results scored by the scoring worker, for the notify tests.

Built the way the product builds them: an organisation, a program, roster rows imported,
a wave created and launched (services.survey), answers submitted through the respondent
service, and the wave closed and scored by the scoring worker (services.scoring.worker).

Roster: two accounts, Acme (A-1: Ann, Bob) and Globex (G-7: Cleo); two sellers, Sam
(Ann, Bob, Cleo) and Tess (Cleo). Buyers and sellers can be given other languages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from services.bootstrap import Container, build
from services.notify.config import NotifyConfig
from services.notify.worker import Notifier
from services.scoring.worker import close_wave as score_closed_wave
from services.scoring.worker import recompute_provisional
from services.survey.admin.programs import create_program
from services.survey.admin.waves import close_wave, create_wave, launch_wave
from services.survey.organisations import ensure_organisation
from services.survey.respond.service import load_respondent, save_answers, submit_answers
from shared import clock
from shared.bus import InProcessBus
from shared.settings import Settings
from shared.store.results import read_results
from shared.tokens import sign_invitation
from tests.support.survey_fixtures import import_rows, program_languages

DIMENSIONS = ("trust", "competence", "recognition", "proactivity", "responsiveness", "commitment")
FAST = NotifyConfig(
    retry_base_s=0.05,
    retry_max_s=0.2,
    max_attempts=50,
    lease_s=5.0,
    retry_poll_s=0.05,
    scheduler_poll_s=0.05,
)

ACCOUNTS = [
    {"external_id": "A-1", "name": "Acme Corp", "annual_revenue": 2_000_000},
    {"external_id": "G-7", "name": "Globex", "annual_revenue": 500_000},
]
BUYERS = [
    {"email": "ann@acme.example", "name": "Ann Archer", "account": "A-1", "role": "decision_maker"},
    {"email": "bob@acme.example", "name": "Bob Baker", "account": "A-1", "role": "user"},
    {"email": "cleo@globex.example", "name": "Cleo Cole", "account": "G-7", "role": "influencer"},
]
SELLERS = [
    {"email": "sam@northwind.example", "name": "Sam Seller", "contacts": ["ann", "bob", "cleo"]},
    {"email": "tess@northwind.example", "name": "Tess Trader", "contacts": ["cleo"]},
]
# links are signed and read with the default settings' key, as make_notifier's are
_SETTINGS = Settings()


@dataclass
class NotifyWorld:
    """What `make_world` launched."""

    org_id: str
    program_id: str
    wave_id: str
    wave: dict
    buyers: list[dict] = field(default_factory=list)  # buyer invitations
    sellers: list[dict] = field(default_factory=list)  # seller invitations

    @property
    def invitations(self) -> list[dict]:
        return self.buyers + self.sellers

    def invitation(self, email: str) -> dict:
        return next(i for i in self.invitations if i["person_email"] == email)


def _roster_rows(buyers: list[dict], buyer_language: str) -> list[dict[str, Any]]:
    """One row per buyer and seller; each buyer's first seller (Sam) is their primary one."""
    accounts = {a["external_id"]: a for a in ACCOUNTS}
    return [
        {
            "account_id": b["account"],
            "account_name": accounts[b["account"]]["name"],
            "annual_revenue": accounts[b["account"]]["annual_revenue"],
            "contact_email": b["email"],
            "contact_name": b["name"],
            "contact_role": b["role"],
            "seller_email": s["email"],
            "seller_name": s["name"],
            "language": b.get("language", buyer_language),
        }
        for b in buyers
        for s in SELLERS
        if b["email"].split("@")[0] in s["contacts"]
    ]


def make_world(
    db: Database,
    *,
    buyer_language: str = "en",
    seller_language: str = "en",
    launched_at: datetime | None = None,
    closes_at: datetime | None = None,
    reminder_days: list[int] | None = None,
    manager_email: str | None = "pm@northwind.example",
    org_name: str = "Northwind Supplies",
    buyers: list[dict] | None = None,
) -> NotifyWorld:
    """An organisation, program and roster, and a wave launched with email delivery.

    `launched_at` and `closes_at` (default: 14 days after the launch) place the wave in time
    for the scheduler's injected clock.
    """
    org_id = ensure_organisation(db=db, name=org_name)
    settings: dict[str, Any] = {"languages": program_languages(seller_language)}
    if manager_email:
        settings["manager_email"] = manager_email
    program = create_program(db=db, org_id=org_id, name="Key accounts 2025", settings=settings)
    import_rows(db, org_id, program["_id"], _roster_rows(buyers or BUYERS, buyer_language))
    now = clock.stored_now()
    opens_at = launched_at or now
    closes_at = closes_at or opens_at + timedelta(days=14)
    wave = create_wave(
        db=db,
        org_id=org_id,
        program_id=program["_id"],
        name="Spring 2025",
        opens_at=opens_at,
        closes_at=max(closes_at, now + timedelta(days=1)),
        reminder_days=reminder_days,
    )
    # the launch's invitations.created events land in a queue nobody reads: tests hand them on
    bus = InProcessBus(_SETTINGS, declare={"launch": ("#",)})
    launch_wave(db=db, bus=bus, org_id=org_id, wave_id=wave["_id"], delivery="email")
    placed = {}
    if launched_at is not None:
        placed["launched_at"] = launched_at  # a launch happens now; the scheduler's clock is not
    if closes_at != wave["closes_at"]:
        placed["closes_at"] = closes_at  # create_wave refuses a closing date already past
    if placed:
        db.waves.update_one({"_id": wave["_id"]}, {"$set": placed})
    invitations = {i["person_email"]: i for i in db.invitations.find({"wave_id": wave["_id"]})}
    return NotifyWorld(
        org_id=org_id,
        program_id=program["_id"],
        wave_id=wave["_id"],
        wave=db.waves.find_one({"_id": wave["_id"]}),
        buyers=[invitations[b["email"]] for b in buyers or BUYERS],
        sellers=[invitations[s["email"]] for s in SELLERS],
    )


# --- answers through the respondent service ----------------------------------------------


def _answers(scores: dict[str, int], *, recommend: int, satisfaction: int) -> dict[str, Any]:
    """Every item of each dimension answered with that dimension's score (1-7)."""
    answers: dict[str, Any] = {f"{d}.{n}": scores[d] for d in DIMENSIONS for n in (1, 2, 3)}
    return {**answers, "recommend": recommend, "satisfaction": satisfaction}


def _all(score: int, **other: int) -> dict[str, int]:
    return {d: other.get(d, score) for d in DIMENSIONS}


# (who answers, about whom): chosen so that Ann is transactional and Cleo a trusted advisor
# who rates Northwind higher than both sellers think (undervalued: an expand action), Sam's
# coaching plan starts with his blind spots Recognition then Trust, and Tess's with
# Proactivity, where she reads Cleo right (aligned). Bob does not answer.
ANSWERS: dict[tuple[str, str], dict[str, Any]] = {
    ("ann@acme.example", "ann@acme.example"): _answers(
        _all(4, trust=3, recognition=2, responsiveness=5), recommend=6, satisfaction=4
    ),
    ("cleo@globex.example", "cleo@globex.example"): _answers(
        _all(6, proactivity=5), recommend=9, satisfaction=6
    ),
    ("sam@northwind.example", "ann@acme.example"): _answers(
        _all(4, trust=6, recognition=5, responsiveness=5), recommend=8, satisfaction=5
    ),
    ("sam@northwind.example", "bob@acme.example"): _answers(_all(4), recommend=7, satisfaction=4),
    ("sam@northwind.example", "cleo@globex.example"): _answers(
        _all(5), recommend=8, satisfaction=5
    ),
    ("tess@northwind.example", "cleo@globex.example"): _answers(
        _all(4, proactivity=5), recommend=7, satisfaction=5
    ),
}


def _respondent(db: Database, invitation: dict):
    token = sign_invitation(invitation["_id"], _SETTINGS)
    return load_respondent(db=db, settings=_SETTINGS, token=token)


def _subject_emails(db: Database, invitation: dict) -> dict[str, str]:
    """The invitation's subjects by their contact's email."""
    ids = [s["contact_id"] for s in invitation["subjects"]]
    emails = {c["_id"]: c["email"] for c in db.contacts.find({"_id": {"$in": ids}}, {"email": 1})}
    return {emails[s["contact_id"]]: s["subject_id"] for s in invitation["subjects"]}


def answer(db: Database, world: NotifyWorld, email: str, *, submit: bool = True) -> None:
    """`email` answers about each of their subjects through the respondent service: ANSWERS
    where given, else a complete set; without `submit` only a first page is saved."""
    invitation = world.invitation(email)
    for about, subject_id in _subject_emails(db, invitation).items():
        answers = ANSWERS.get((email, about)) or _answers(_all(5), recommend=8, satisfaction=5)
        respondent = _respondent(db, invitation)
        if submit:
            submit_answers(
                db=db, bus=None, respondent=respondent, subject_id=subject_id, answers=answers
            )
        else:
            trust = {k: v for k, v in answers.items() if k.startswith("trust.")}
            save_answers(db=db, respondent=respondent, subject_id=subject_id, answers=trust)


# --- results, as the scoring worker stores them -------------------------------------------------


def write_results(
    db: Database,
    world: NotifyWorld,
    *,
    final: bool = True,
    without: Iterable[str] = (),
) -> dict[str, Any]:
    """Everyone who answers in ANSWERS (Bob does not) but those `without` submits; then the
    wave is closed (admin API) and scored (scoring worker), or, with `final` false, only the
    provisional results of the open wave are computed.

    Returns the stored results as notify reads them: `{wave_id, final, results, accounts}`.
    """
    answering = dict.fromkeys(who for who, _ in ANSWERS)
    for email in answering:
        if email not in without:
            answer(db, world, email)
    if final:
        bus = InProcessBus(_SETTINGS, declare={"everything": ("#",)})
        close_wave(db=db, bus=bus, org_id=world.org_id, wave_id=world.wave_id)
        score_closed_wave(db=db, bus=bus, wave_id=world.wave_id)
    else:
        recompute_provisional(db, world.wave_id, as_of=clock.now(), new_accounts=True)
    doc = read_results(db, {"wave_id": world.wave_id})
    accounts = db.scores.find(
        {"wave_id": world.wave_id, "kind": "account"}, {"key": 1, "account": 1}
    )
    return {**doc, "accounts": {a["key"]: a["account"] for a in accounts}}


# --- a notify process ---------------------------------------------------------------------


def notify_container(db: Database, smtp_url: str, *, bus=None, **settings: Any) -> Container:
    base = Settings(smtp_url=smtp_url, mail_rate_per_s=0, public_url="http://survey.test")
    values = {**base.__dict__, **settings}
    if bus is not None:
        values.setdefault("bus_namespace", bus.settings.bus_namespace)
    return build(Settings(**values), db=db, bus=bus)


def make_notifier(
    db: Database, smtp_url: str, *, bus=None, config: NotifyConfig = FAST, **settings: Any
) -> Notifier:
    """A notify process's service object with short retry delays."""
    return Notifier(notify_container(db, smtp_url, bus=bus, **settings), config=config)
