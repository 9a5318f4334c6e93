"""A launched wave and its scored results, written straight into MongoDB as docs/data-model.md
and API.md describe them, for the notify tests (which must not depend on the survey or
scoring code being finished).

Roster: two accounts, Acme (A-1: Ann, Bob) and Globex (G-7: Cleo); two sellers, Sam
(Ann, Bob, Cleo) and Tess (Cleo). Buyers and sellers can be given other languages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.database import Database

from services.bootstrap import Container, build
from services.notify.config import NotifyConfig
from services.notify.worker import Notifier
from shared.ids import new_id
from shared.settings import Settings
from shared.store import composite_id

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
    {"external_id": "A-1", "name": "Acme Corp", "annual_revenue": 2_000_000.0},
    {"external_id": "G-7", "name": "Globex", "annual_revenue": 500_000.0},
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


@dataclass
class NotifyWorld:
    """What `make_world` wrote."""

    org_id: str
    program_id: str
    wave_id: str
    wave: dict
    buyers: list[dict] = field(default_factory=list)  # buyer invitations
    sellers: list[dict] = field(default_factory=list)  # seller invitations
    contacts: dict[str, dict] = field(default_factory=dict)  # by email

    @property
    def invitations(self) -> list[dict]:
        return self.buyers + self.sellers

    def invitation(self, email: str) -> dict:
        return next(i for i in self.invitations if i["person_email"] == email)


def make_world(
    db: Database,
    *,
    buyer_language: str = "en",
    seller_language: str = "en",
    status: str = "open",
    launched_at: datetime | None = None,
    closes_at: datetime | None = None,
    reminder_days: list[int] | None = None,
    manager_email: str | None = "pm@northwind.example",
    org_name: str = "Northwind Supplies",
    buyers: list[dict] | None = None,
) -> NotifyWorld:
    """An organisation, program, roster, a launched wave and its invitations."""
    now = datetime.now(UTC)
    launched_at = launched_at or now - timedelta(hours=1)
    org = db.organisations.find_one({"name": org_name})
    if org is None:
        org = {"_id": ObjectId(), "name": org_name}
        db.organisations.insert_one(org)
    org_id, program_id, wave_id = str(org["_id"]), new_id(), new_id()
    settings: dict[str, Any] = {
        "cut_points": [40, 60, 80],
        "gap_threshold": 10,
        "role_weights": {"decision_maker": 3, "influencer": 2, "user": 1, "other": 1},
        "reminder_days": [3, 7],
        "languages": ["en", "de"],
    }
    if manager_email:
        settings["manager_email"] = manager_email
    db.programs.insert_one(
        {
            "_id": program_id,
            "org_id": org_id,
            "name": "Key accounts 2025",
            "settings": settings,
            "created_at": now,
        }
    )
    accounts = {
        a["external_id"]: {
            "_id": new_id(),
            "org_id": org_id,
            "program_id": program_id,
            "owner_email": "owner@northwind.example",
            **a,
        }
        for a in ACCOUNTS
    }
    db.accounts.insert_many(list(accounts.values()))
    sellers = [
        {
            "_id": new_id(),
            "org_id": org_id,
            "program_id": program_id,
            "email": s["email"],
            "name": s["name"],
            "language": seller_language,
        }
        for s in SELLERS
    ]
    db.sellers.insert_many(sellers)
    contacts = {}
    for b in buyers or BUYERS:
        primary = next(s for s in SELLERS if b["email"].split("@")[0] in s["contacts"])
        contacts[b["email"]] = {
            "_id": new_id(),
            "org_id": org_id,
            "program_id": program_id,
            "account_id": accounts[b["account"]]["_id"],
            "account_external_id": b["account"],
            "email": b["email"],
            "name": b["name"],
            "role": b["role"],
            "language": b.get("language", buyer_language),
            "primary_seller_email": primary["email"],
        }
    db.contacts.insert_many(list(contacts.values()))
    assignments = [
        {
            "org_id": org_id,
            "program_id": program_id,
            "contact_email": c["email"],
            "seller_email": s["email"],
            "position": 0 if c["primary_seller_email"] == s["email"] else 1,
        }
        for s in SELLERS
        for c in contacts.values()
        if c["email"].split("@")[0] in s["contacts"]
    ]
    db.assignments.insert_many(assignments)
    wave = {
        "_id": wave_id,
        "org_id": org_id,
        "program_id": program_id,
        "name": "Spring 2025",
        "status": status,
        "opens_at": launched_at,
        "closes_at": closes_at or launched_at + timedelta(days=14),
        "reminder_days": [3, 7] if reminder_days is None else reminder_days,
        "launched_at": launched_at,
        "closing_at": None,
        "closed_at": None,
        "scored_at": None,
        "delivery": "email",
    }
    db.waves.insert_one(wave)
    world = NotifyWorld(org_id=org_id, program_id=program_id, wave_id=wave_id, wave=wave)
    world.contacts = contacts
    account_names = {ext: a["name"] for ext, a in accounts.items()}

    def invitation(side: str, email: str, name: str, language: str, subjects: list[dict]) -> dict:
        return {
            "_id": new_id(),
            "org_id": org_id,
            "program_id": program_id,
            "wave_id": wave_id,
            "side": side,
            "person_email": email,
            "person_name": name,
            "language": language,
            "subjects": subjects,
            "status": "invited",
            "opened_at": None,
            "completed_at": None,
            "revoked": False,
            "opted_out": False,
        }

    for c in contacts.values():
        label = f"{c['name']}, {account_names[c['account_external_id']]}"
        world.buyers.append(
            invitation(
                "buyer",
                c["email"],
                c["name"],
                c["language"],
                [{"subject_id": c["_id"], "contact_id": c["_id"], "label": label}],
            )
        )
    for s in sellers:
        subjects = [
            {
                "subject_id": c["_id"],
                "contact_id": c["_id"],
                "label": f"{c['name']}, {account_names[c['account_external_id']]}",
            }
            for a in assignments
            if a["seller_email"] == s["email"]
            for c in [contacts[a["contact_email"]]]
        ]
        world.sellers.append(invitation("seller", s["email"], s["name"], s["language"], subjects))
    db.invitations.insert_many(world.invitations)
    return world


# --- results, shaped exactly like API.md ------------------------------------------------


def _class(gap: float | None) -> str | None:
    if gap is None:
        return None
    return "blind_spot" if gap >= 10 else "undervalued" if gap <= -10 else "aligned"


def _level(ri: float | None) -> str:
    if ri is None:
        return "insufficient"
    return (
        "antagonistic"
        if ri < 40
        else "transactional"
        if ri < 60
        else "predisposed"
        if ri < 80
        else "trusted_advisor"
    )


# Buyer and seller dimension scores per contact (trust ... commitment); Bob did not answer.
CONTACT_SCORES: dict[str, tuple[list[float], list[float]] | None] = {
    "ann@acme.example": (
        [44.4, 55.6, 38.9, 61.1, 72.2, 50.0],
        [66.7, 61.1, 55.6, 58.3, 77.8, 63.9],
    ),
    "bob@acme.example": None,
    "cleo@globex.example": (
        [83.3, 77.8, 88.9, 72.2, 80.6, 91.7],
        [61.1, 66.7, 72.2, 63.9, 69.4, 75.0],
    ),
}


def contact_json(contact: dict, *, answered: bool = True) -> dict[str, Any]:
    scores = CONTACT_SCORES.get(contact["email"]) if answered else None
    if scores is None:
        dims = {
            d: {"buyer": None, "seller": None, "gap": None, "gap_class": None} for d in DIMENSIONS
        }
        ri = gap = None
    else:
        buyer, seller = scores
        dims = {}
        for d, b, s in zip(DIMENSIONS, buyer, seller, strict=True):
            g = round(s - b, 1)
            dims[d] = {"buyer": b, "seller": s, "gap": g, "gap_class": _class(g)}
        ri = round(sum(buyer) / len(buyer), 4)
        gap = round(sum(seller) / len(seller) - ri, 4)
    return {
        "email": contact["email"],
        "name": contact["name"],
        "role": contact["role"],
        "relationship_index": ri,
        "level": _level(ri),
        "segment": None if ri is None else "stalker" if ri < 60 else "ambassador",
        "nps_category": None if ri is None else "detractor" if ri < 60 else "promoter",
        "satisfaction_trap": None if ri is None else False,
        "gap": gap,
        "gap_class": _class(gap),
        "dimensions": dims,
    }


def results_document(world: NotifyWorld, unanswered: tuple[str, ...] = ()) -> dict[str, Any]:
    """`{wave_id, final, results, accounts}` as the scoring worker writes it; the contacts
    in `unanswered` (emails) did not answer, on top of Bob."""
    by_account: dict[str, list[dict]] = {}
    for c in world.contacts.values():
        by_account.setdefault(c["account_external_id"], []).append(
            contact_json(c, answered=c["email"] not in unanswered)
        )
    accounts_json: dict[str, dict] = {}
    summaries = []
    for a in ACCOUNTS:
        ext = a["external_id"]
        contacts = by_account[ext]
        answered = [c for c in contacts if c["relationship_index"] is not None]
        ri = sum(c["relationship_index"] for c in answered) / len(answered) if answered else None
        gap = sum(c["gap"] for c in answered) / len(answered) if answered else None
        level = _level(ri)
        nps = None if ri is None else 100.0 if ri >= 60 else -100.0
        coaching = [
            {
                "seller_email": "sam@northwind.example",
                "seller_name": "Sam Seller",
                "dimensions": [
                    {
                        "dimension": "recognition",
                        "priority": 4.1,
                        "gap": 16.7,
                        "gap_class": "blind_spot",
                        "behaviours": ["Ask the buyer which of their priorities you missed."],
                    },
                    {
                        "dimension": "trust",
                        "priority": 3.2,
                        "gap": 22.3,
                        "gap_class": "blind_spot",
                        "behaviours": ["Confirm every promise in writing with a date."],
                    },
                    {
                        "dimension": "commitment",
                        "priority": 2.0,
                        "gap": 13.9,
                        "gap_class": "blind_spot",
                        "behaviours": ["Agree a joint plan for next year."],
                    },
                ],
                "actions": (
                    [
                        {
                            "type": "expand",
                            "contact_email": "cleo@globex.example",
                            "account_external_id": "G-7",
                            "text": "Ask for the next piece of business.",
                            "behaviours": ["Ask for an introduction to another team."],
                        }
                    ]
                    if ext == "G-7"
                    else []
                ),
            }
        ]
        if not answered:  # nothing to compare: no plan in this account
            coaching = []
        if ext == "G-7" and answered:
            coaching.append(
                {
                    "seller_email": "tess@northwind.example",
                    "seller_name": "Tess Trader",
                    "dimensions": [
                        {
                            "dimension": "proactivity",
                            "priority": 1.5,
                            "gap": -8.3,
                            "gap_class": "aligned",
                            "behaviours": ["Bring one new idea to every meeting."],
                        }
                    ],
                    "actions": [],
                }
            )
        summary = {
            "external_id": ext,
            "name": a["name"],
            "annual_revenue": a["annual_revenue"],
            "relationship_index": ri,
            "level": level,
            "nps": nps,
            "nps_unweighted": nps,
            "gap": gap,
            "segment": None if ri is None else "stalker" if ri < 60 else "ambassador",
            "n_buyers": len(answered),
            "priority": None if ri is None else a["annual_revenue"] * (100 - ri) / 100,
        }
        summaries.append(summary)
        accounts_json[ext] = {
            **{k: summary[k] for k in ("external_id", "name", "relationship_index", "level")},
            "nps": nps,
            "gap": gap,
            "segment": summary["segment"],
            "contacts": contacts,
            "moments": [],
            "coaching": coaching,
        }
    summaries.sort(key=lambda s: -(s["priority"] or 0))
    results = {
        "wave_id": world.wave_id,
        "status": "closed",
        "final": True,
        "n_buyers": 2,
        "n_sellers": 3,
        "relationship_index": {"value": 63.05, "ci95": [51.0, 75.1], "n": 2},
        "nps": {"value": 0.0, "ci95": [-100.0, 100.0], "n": 2},
        "nps_revenue_weighted": {"value": -60.0, "n_accounts": 2},
        "levels": {
            "antagonistic": 0,
            "transactional": 1,
            "predisposed": 0,
            "trusted_advisor": 1,
            "insufficient": 1,
        },
        "segments": {"ambassador": 1, "rational": 0, "ambivalent": 0, "stalker": 1, "opponent": 0},
        "dimensions": {
            d: {
                "buyer": 60.0,
                "seller": 65.0,
                "gap": 5.0,
                "alpha": None,
                "classes": {"blind_spot": 0.5, "aligned": 0.25, "undervalued": 0.25},
            }
            for d in DIMENSIONS
        },
        "touchpoints": {"sales": {"performance": 70.0, "impact": None, "quadrant": None, "n": 2}},
        "revenue_at_risk": 2_000_000.0,
        "accounts": summaries,
    }
    return {
        "wave_id": world.wave_id,
        "final": True,
        "results": results,
        "accounts": accounts_json,
        "computed_at": datetime.now(UTC),
    }


def write_results(
    db: Database, world: NotifyWorld, unanswered: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Store results as the scoring worker does: the wave's document, one `scores` row per account."""
    doc = results_document(world, unanswered)
    doc["_id"] = db.results.insert_one(
        {k: v for k, v in doc.items() if k != "accounts"}
    ).inserted_id
    for external_id, account in doc["accounts"].items():
        db.scores.insert_one(
            {
                "_id": composite_id(world.wave_id, "account", external_id),
                "wave_id": world.wave_id,
                "kind": "account",
                "key": external_id,
                "account": account,
            }
        )
    return doc


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
