"""A launched wave written straight into MongoDB, exactly as docs/data-model.md describes it.

The respondent tests build their world with this instead of the admin API, so they depend
only on the data model: organisation, program, accounts, contacts, sellers, assignments,
an open wave and its invitations (one per buyer contact, one per seller).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from flask import Flask
from flask.testing import FlaskClient
from pymongo.database import Database

from services.bootstrap import build
from services.survey.app import create_app
from shared.bus import Bus, InProcessBus
from shared.ids import new_id
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
    """What `make_wave` wrote, for tests to look up."""

    org_id: str
    program_id: str
    wave_id: str
    buyers: list[Person] = field(default_factory=list)
    sellers: list[Person] = field(default_factory=list)


def make_wave(
    db: Database,
    settings: Settings,
    *,
    buyers: int = 2,
    sellers: int = 1,
    accounts: int = 1,
    language: str = "en",
    seller_language: str | None = None,
    status: str = "open",
    closes_in: timedelta = timedelta(days=14),
    company_name: str = "Northwind Supplies",
    every_seller_for_every_buyer: bool = True,
) -> SurveyWorld:
    """Write a launched wave with `buyers` contacts over `accounts` accounts and `sellers` sellers.

    With `every_seller_for_every_buyer` each seller answers for every buyer; otherwise buyer i
    gets seller i % sellers. Seller i is buyer i's primary seller.
    """
    now = datetime.now(UTC)
    program_id, wave_id = new_id(), new_id()
    organisation = db.organisations.find_one({"name": company_name})
    if organisation is None:
        organisation = {"_id": ObjectId(), "name": company_name, "created_at": now}
        db.organisations.insert_one(organisation)
    org_id = str(organisation["_id"])
    db.programs.insert_one(
        {
            "_id": program_id,
            "org_id": org_id,
            "name": "Key accounts",
            "settings": {
                "cut_points": [40, 60, 80],
                "gap_threshold": 10,
                "role_weights": {"decision_maker": 3, "influencer": 2, "user": 1, "other": 1},
                "reminder_days": [3, 7],
                "languages": ["en", "de"],
            },
            "created_at": now,
        }
    )
    account_docs = [
        {
            "_id": new_id(),
            "org_id": org_id,
            "program_id": program_id,
            "external_id": f"A{i + 1:04d}",
            "name": f"Account {i + 1}",
            "annual_revenue": 100_000.0 * (i + 1),
        }
        for i in range(accounts)
    ]
    seller_docs = [
        {
            "_id": new_id(),
            "org_id": org_id,
            "program_id": program_id,
            "email": f"seller{i + 1}@northwind.example",
            "name": f"Seller {i + 1}",
            "language": seller_language or language,
        }
        for i in range(sellers)
    ]
    contact_docs, assignment_docs = [], []
    for i in range(buyers):
        account = account_docs[i % accounts]
        email = f"buyer{i + 1}@client{i % accounts + 1}.example"
        assigned = (
            seller_docs
            if every_seller_for_every_buyer
            else [seller_docs[i % sellers]]
            if sellers
            else []
        )
        primary = seller_docs[i % sellers] if sellers else None
        if primary is not None and primary in assigned:
            assigned = [primary] + [s for s in assigned if s is not primary]
        contact_docs.append(
            {
                "_id": new_id(),
                "org_id": org_id,
                "program_id": program_id,
                "account_id": account["_id"],
                "account_external_id": account["external_id"],
                "email": email,
                "name": f"Buyer {i + 1}",
                "role": "decision_maker" if i % 3 == 0 else "influencer",
                "language": language,
                "primary_seller_email": primary["email"] if primary else None,
            }
        )
        for position, seller in enumerate(assigned):
            assignment_docs.append(
                {
                    "org_id": org_id,
                    "program_id": program_id,
                    "contact_email": email,
                    "seller_email": seller["email"],
                    "position": position,
                }
            )
    db.waves.insert_one(
        {
            "_id": wave_id,
            "org_id": org_id,
            "program_id": program_id,
            "name": "Spring review",
            "status": status,
            "opens_at": now - timedelta(days=1),
            "closes_at": now + closes_in,
            "reminder_days": [3, 7],
            "launched_at": now - timedelta(days=1),
            "closing_at": None,
            "closed_at": None,
            "scored_at": None,
            "delivery": "none",
        }
    )
    for docs, collection in (
        (account_docs, "accounts"),
        (seller_docs, "sellers"),
        (contact_docs, "contacts"),
        (assignment_docs, "assignments"),
    ):
        if docs:
            db[collection].insert_many(docs)

    world = SurveyWorld(org_id=org_id, program_id=program_id, wave_id=wave_id)
    accounts_by_id = {a["_id"]: a for a in account_docs}
    invitations = []

    def invitation(side: str, person: dict, subjects: list[dict], lang: str) -> dict:
        doc = {
            "_id": new_id(),
            "org_id": org_id,
            "program_id": program_id,
            "wave_id": wave_id,
            "side": side,
            "person_email": person["email"],
            "person_name": person["name"],
            "language": lang,
            "subjects": subjects,
            "status": "invited",
            "opened_at": None,
            "completed_at": None,
            "revoked": False,
            "opted_out": False,
        }
        invitations.append(doc)
        return doc

    for contact in contact_docs:
        label = f"{contact['name']}, {accounts_by_id[contact['account_id']]['name']}"
        doc = invitation(
            "buyer",
            contact,
            [{"subject_id": contact["_id"], "contact_id": contact["_id"], "label": label}],
            contact["language"],
        )
        world.buyers.append(
            Person(
                invitation_id=doc["_id"],
                token=sign_invitation(doc["_id"], settings),
                email=contact["email"],
                name=contact["name"],
                side="buyer",
                subject_ids=(contact["_id"],),
                contact_id=contact["_id"],
                account_id=contact["account_id"],
            )
        )
    contacts_by_email = {c["email"]: c for c in contact_docs}
    for seller in seller_docs:
        subjects = []
        for a in assignment_docs:
            if a["seller_email"] != seller["email"]:
                continue
            contact = contacts_by_email[a["contact_email"]]
            account = accounts_by_id[contact["account_id"]]
            subjects.append(
                {
                    "subject_id": contact["_id"],
                    "contact_id": contact["_id"],
                    "label": f"{contact['name']}, {account['name']}",
                }
            )
        doc = invitation("seller", seller, subjects, seller["language"])
        world.sellers.append(
            Person(
                invitation_id=doc["_id"],
                token=sign_invitation(doc["_id"], settings),
                email=seller["email"],
                name=seller["name"],
                side="seller",
                subject_ids=tuple(s["subject_id"] for s in subjects),
            )
        )
    if invitations:
        db.invitations.insert_many(invitations)
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


def set_wave(db: Database, wave_id: str, **fields: object) -> None:
    """Change a wave (close it, move closes_at) as the admin API or the scheduler would."""
    db.waves.update_one({"_id": wave_id}, {"$set": fields})


def revoke(db: Database, invitation_id: str) -> None:
    """Revoke an invitation."""
    db.invitations.update_one({"_id": invitation_id}, {"$set": {"revoked": True}})


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
