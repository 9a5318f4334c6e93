"""A launched wave built the way the product builds one, for the respondent and scoring tests.

An organisation (services.survey.organisations), a program with the default settings and
roster rows imported into it (services.survey.admin.programs and .roster), then a wave
created and launched (services.survey.admin.waves): the invitations are exactly what a
launch writes, one per buyer contact and one per seller with their buyer contacts.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from pymongo.database import Database

from services.bootstrap import build
from services.scoring.worker import close_wave as score_closed_wave
from services.survey.admin.late_invitations import revoke_link
from services.survey.admin.programs import create_program, default_languages
from services.survey.admin.roster import import_roster_rows
from services.survey.admin.waves import close_wave, create_wave, launch_wave
from services.survey.app import create_app
from services.survey.organisations import ensure_organisation
from shared import clock
from shared.bus import Bus, InProcessBus
from shared.settings import Settings
from shared.tokens import sign_invitation


@dataclass(frozen=True)
class Person:
    """One invited respondent: their invitation and the link token."""

    invitation_id: str
    token: str
    email: str
    name: str
    side: str
    subject_ids: tuple[str, ...]
    contact_id: str | None = None  # buyers only
    account_id: str | None = None  # buyers only


@dataclass
class SurveyWorld:
    """What `make_wave` launched, for tests to look up."""

    org_id: str
    program_id: str
    wave_id: str
    buyers: list[Person] = field(default_factory=list)
    sellers: list[Person] = field(default_factory=list)


def program_languages(first: str) -> list[str]:
    """The questionnaire's languages with `first` (its primary tag: "de-AT" gives "de") first.

    A program's first language is what its sellers are invited in.
    """
    primary = first.split("-")[0].lower()
    offered = default_languages()
    if primary not in offered:
        raise ValueError(f"the questionnaire has no {first!r}: use one of {offered}")
    return [primary, *(x for x in offered if x != primary)]


def roster_rows(
    *,
    buyers: int,
    sellers: int,
    accounts: int,
    language: str,
    every_seller_for_every_buyer: bool,
    buyer_names: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Roster rows (one per contact and seller) as a CRM export would give them.

    Buyer i is on account i % accounts; seller i % sellers is their primary seller (their
    first row). With `every_seller_for_every_buyer` every seller answers for every buyer,
    otherwise only the primary one.
    """
    if sellers < 1:
        raise ValueError("every roster row names a seller: a wave has at least one")
    rows = []
    for i in range(buyers):
        account = i % accounts
        primary = i % sellers
        assigned = [primary]
        if every_seller_for_every_buyer:
            assigned += [s for s in range(sellers) if s != primary]
        for s in assigned:
            rows.append(
                {
                    "account_id": f"A{account + 1:04d}",
                    "account_name": f"Account {account + 1}",
                    "annual_revenue": 100_000 * (account + 1),
                    "contact_email": f"buyer{i + 1}@client{account + 1}.example",
                    "contact_name": buyer_names[i] if i < len(buyer_names) else f"Buyer {i + 1}",
                    "contact_role": "decision_maker" if i % 3 == 0 else "influencer",
                    "seller_email": f"seller{s + 1}@northwind.example",
                    "seller_name": f"Seller {s + 1}",
                    "language": language,
                }
            )
    return rows


def import_rows(db: Database, org_id: str, program_id: str, rows: list[dict[str, Any]]) -> None:
    """Import roster rows as the admin API does; a row the product refuses fails the fixture."""
    report = import_roster_rows(db=db, org_id=org_id, program_id=program_id, rows=rows)
    assert report.rows_rejected == 0, report.errors


def make_wave(
    db: Database,
    settings: Settings,
    *,
    buyers: int = 2,
    sellers: int = 1,
    accounts: int = 1,
    language: str = "en",
    seller_language: str | None = None,
    company_name: str = "Northwind Supplies",
    every_seller_for_every_buyer: bool = True,
    buyer_names: Sequence[str] = (),
    manager_email: str | None = None,
    questionnaire: str | None = None,
) -> SurveyWorld:
    """Launch a wave of `buyers` contacts over `accounts` accounts and `sellers` sellers.

    Buyers are invited in `language`, sellers in `seller_language` (default: `language`);
    `buyer_names` replaces the first buyers' names. Links are signed with `settings`.
    """
    org_id = ensure_organisation(db=db, name=company_name)
    program_settings: dict[str, Any] = {"languages": program_languages(seller_language or language)}
    if manager_email:
        program_settings["manager_email"] = manager_email
    if questionnaire:
        program_settings["questionnaire"] = questionnaire
    program = create_program(db=db, org_id=org_id, name="Key accounts", settings=program_settings)
    rows = roster_rows(
        buyers=buyers,
        sellers=sellers,
        accounts=accounts,
        language=language,
        every_seller_for_every_buyer=every_seller_for_every_buyer,
        buyer_names=buyer_names,
    )
    import_rows(db, org_id, program["_id"], rows)
    return launch_next_wave(db, settings, org_id, program["_id"], rows, name="Spring review")


def launch_next_wave(
    db: Database,
    settings: Settings,
    org_id: str,
    program_id: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    name: str,
) -> SurveyWorld:
    """Create and launch a wave of the program (whose roster holds `rows`) named `name`."""
    wave = create_wave(
        db=db,
        org_id=org_id,
        program_id=program_id,
        name=name,
        closes_at=clock.stored_now() + timedelta(days=14),
    )
    # delivery "none": no invitation events, so the bus is never used
    launch_wave(
        db=db, bus=InProcessBus(settings), org_id=org_id, wave_id=wave["_id"], delivery="none"
    )

    world = SurveyWorld(org_id=org_id, program_id=program_id, wave_id=wave["_id"])
    invitations = {
        (inv["side"], inv["person_email"]): inv
        for inv in db.invitations.find({"wave_id": wave["_id"]})
    }

    def person(invitation: Mapping[str, Any]) -> Person:
        subjects = invitation["subjects"]
        buyer = invitation["side"] == "buyer"
        return Person(
            invitation_id=invitation["_id"],
            token=sign_invitation(invitation["_id"], settings),
            email=invitation["person_email"],
            name=invitation["person_name"],
            side=invitation["side"],
            subject_ids=tuple(s["subject_id"] for s in subjects),
            contact_id=subjects[0]["contact_id"] if buyer else None,
            account_id=subjects[0]["account_id"] if buyer else None,
        )

    # in roster order (buyer 1, 2, ...; seller 1, 2, ...), not in the launch's email order
    for side, email in dict.fromkeys(
        [("buyer", r["contact_email"]) for r in rows]
        + [("seller", r["seller_email"]) for r in rows]
    ):
        people = world.buyers if side == "buyer" else world.sellers
        people.append(person(invitations[(side, email)]))
    return world


def complete_answers(*, recommend: int = 9, value: int = 6) -> dict:
    """Answers that satisfy the submit rule: every dimension item, recommend and satisfaction."""
    answers: dict = {
        f"{dimension}.{n}": value
        for dimension in (
            "trust",
            "competence",
            "recognition",
            "proactivity",
            "responsiveness",
            "commitment",
        )
        for n in (1, 2, 3)
    }
    answers.update({"recommend": recommend, "satisfaction": value})
    return answers


def close(db: Database, settings: Settings, world: SurveyWorld, *, scored: bool = True) -> None:
    """Close the wave through the admin API's function (closing), then, with `scored`, as the
    scoring worker does on `wave.closed` (closed, final results)."""
    bus = InProcessBus(settings, declare={"everything": ("#",)})
    close_wave(db=db, bus=bus, org_id=world.org_id, wave_id=world.wave_id)
    if scored:
        score_closed_wave(db=db, bus=bus, wave_id=world.wave_id)


def pass_the_closing_date(db: Database, world: SurveyWorld) -> None:
    """The wave's closes_at a minute ago, before any scheduler pass has closed it."""
    # time passing is the only product path here: create_wave refuses a past closes_at
    db.waves.update_one(
        {"_id": world.wave_id}, {"$set": {"closes_at": clock.stored_now() - timedelta(minutes=1)}}
    )


def revoke(db: Database, invitation_id: str) -> None:
    """Revoke an invitation's link, as POST /waves/{id}/links/{email}/revoke does."""
    invitation = db.invitations.find_one({"_id": invitation_id})
    revoke_link(
        db=db,
        org_id=invitation["org_id"],
        wave_id=invitation["wave_id"],
        email=invitation["person_email"],
    )


def survey_app(
    db: Database,
    settings: Settings,
    *,
    bus: Bus | None = None,
    **config: object,
) -> Flask:
    """The survey app on this database; an in-process bus with a catch-all queue by default.

    No relay runs: a test that needs one starts it with services.bootstrap.start_relays.
    """
    settings = dataclasses.replace(settings, mongo_db=db.name)
    if bus is None:
        bus = InProcessBus(settings, declare={"everything": ("#",)})
    return create_app(build(settings, db=db, bus=bus), test_config={"TESTING": True, **config})


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of a rendered form."""
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def post_form(client: FlaskClient, url: str, data: dict[str, object]):
    """GET a page, then POST its form with the page's CSRF token and `data`."""
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return client.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True)), **data})
