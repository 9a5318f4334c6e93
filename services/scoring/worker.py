"""The scoring worker: MongoDB and the bus around the pure engine.

On `response.completed` it scores that response and recomputes the wave's provisional
results (contacts, pairs, accounts); on `wave.closed` it recomputes the wave in one
vectorised pass against the previous closed wave, writes final results and coaching
plans, marks the wave closed, then publishes `wave.scored` and one `relationship.alert`
per alert. Every write is an upsert keyed by a unique index and every event it
publishes has an id derived from the wave, so a redelivery or a restart after a kill
leaves the same stored results and sends nothing new.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pymongo import UpdateOne
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.bootstrap import Container
from services.scoring import engine
from services.scoring.coaching import load_coaching_library
from shared.bus import Bus, ConsumerSpec
from shared.events import RELATIONSHIP_ALERT, RESPONSE_COMPLETED, WAVE_CLOSED, WAVE_SCORED, Event
from shared.store import composite_id

log = logging.getLogger(__name__)

CONSUMER = "scoring"
_BATCH = 1000


class WaveNotFound(LookupError):
    """An event names a wave that does not exist (it is logged and dropped, never retried)."""


@dataclass(frozen=True)
class LoadedWave:
    """A wave read from MongoDB, ready for the engine."""

    wave: Mapping[str, Any]
    program: Mapping[str, Any]
    input: engine.WaveInput
    settings: engine.ScoringSettings
    buyer_response_ids: list[str]
    seller_response_ids: list[str]
    owners: dict[str, str]  # account external id -> account owner email


def _roster_rows(
    db: Database, program_id: str
) -> tuple[list[dict], dict[str, dict], dict[str, str]]:
    """API-shaped roster rows of a program, its contacts by id, and account owners."""
    accounts = {a["_id"]: a for a in db.accounts.find({"program_id": program_id})}
    sellers = {s["email"]: s for s in db.sellers.find({"program_id": program_id})}
    contacts = {c["_id"]: c for c in db.contacts.find({"program_id": program_id})}
    by_email = {c["email"]: c for c in contacts.values()}
    assignments = sorted(
        db.assignments.find({"program_id": program_id}),
        key=lambda a: (a["contact_email"], a.get("position", 0)),
    )
    rows, owners = [], {}
    for assignment in assignments:
        contact = by_email.get(assignment["contact_email"])
        account = accounts.get(contact["account_id"]) if contact else None
        if contact is None or account is None:
            continue
        seller = sellers.get(assignment["seller_email"], {})
        rows.append(
            {
                "account_id": account["external_id"],
                "account_name": account.get("name") or account["external_id"],
                "annual_revenue": account.get("annual_revenue"),
                "contact_email": contact["email"],
                "contact_name": contact.get("name", ""),
                "contact_role": contact.get("role", "other"),
                "seller_email": assignment["seller_email"],
                "seller_name": seller.get("name", ""),
            }
        )
        owner = account.get("owner_email") or contact.get("primary_seller_email")
        owners.setdefault(account["external_id"], owner or assignment["seller_email"])
    return rows, contacts, owners


def load_wave(db: Database, wave_id: str) -> LoadedWave:
    """Everything the engine needs for one wave: roster, completed responses, settings."""
    wave = db.waves.find_one({"_id": wave_id})
    if wave is None:
        raise WaveNotFound(wave_id)
    program = db.programs.find_one({"_id": wave["program_id"], "org_id": wave["org_id"]}) or {}
    rows, contacts, owners = _roster_rows(db, wave["program_id"])
    on_roster = {r["contact_email"] for r in rows}
    assigned = {(r["seller_email"], r["contact_email"]) for r in rows}
    buyers, sellers, buyer_ids, seller_ids = [], [], [], []
    seen_buyers: set[str] = set()
    projection = {"answers": 1, "side": 1, "contact_id": 1, "seller_email": 1}
    for response in db.responses.find({"wave_id": wave_id, "status": "completed"}, projection):
        contact = contacts.get(response.get("contact_id"))
        if contact is None or contact["email"] not in on_roster:
            continue  # the contact left the roster after answering
        record = {"contact_email": contact["email"], "answers": response.get("answers") or {}}
        if response["side"] == "buyer":
            if contact["email"] in seen_buyers:
                continue
            seen_buyers.add(contact["email"])
            buyers.append(record)
            buyer_ids.append(response["_id"])
        elif (response.get("seller_email"), contact["email"]) in assigned:
            sellers.append({**record, "seller_email": response["seller_email"]})
            seller_ids.append(response["_id"])
    wave_input = engine.build_wave_input(
        roster=rows, buyer_responses=buyers, seller_responses=sellers
    )
    settings = engine.ScoringSettings.from_program(program.get("settings") or {})
    return LoadedWave(wave, program, wave_input, settings, buyer_ids, seller_ids, owners)


def previous_closed_wave(db: Database, wave: Mapping[str, Any]) -> str | None:
    """The id of the program's last wave closed before this one was launched."""
    query: dict[str, Any] = {
        "program_id": wave["program_id"],
        "org_id": wave["org_id"],
        "status": "closed",
        "_id": {"$ne": wave["_id"]},
    }
    if wave.get("launched_at"):
        query["closed_at"] = {"$lte": wave["launched_at"]}
    found = db.waves.find(query, {"_id": 1}).sort("closed_at", -1).limit(1)
    return next((w["_id"] for w in found), None)


def _response_rows(
    loaded: LoadedWave, result: engine.WaveResult, skip: set[str] = frozenset()
) -> list[dict[str, Any]]:
    """One `scores` document per completed response not in `skip` (the export reads these)."""
    wave, wave_id = result.wave, loaded.wave["_id"]
    rows = []
    sides = (
        ("buyer", result.buyers, loaded.buyer_response_ids, wave.buyer_contact, None),
        ("seller", result.sellers, loaded.seller_response_ids, wave.seller_contact, wave.seller_id),
    )
    for side, scores, ids, contact_of, seller_of in sides:
        for row, response_id in enumerate(ids):
            if response_id in skip:
                continue
            contact = int(contact_of[row])
            doc = {
                "wave_id": wave_id,
                "org_id": loaded.wave["org_id"],
                "kind": "response",
                "key": response_id,
                "side": side,
                "contact_email": str(wave.contact_email[contact]),
                "account_external_id": str(wave.account_external_id[wave.contact_account[contact]]),
                "seller_email": None
                if seller_of is None
                else str(wave.seller_email[seller_of[row]]),
                **engine.response_scores_to_json(scores, row),
            }
            rows.append(doc)
    return rows


def _bulk(db: Database, writes: list[UpdateOne]) -> None:
    for start in range(0, len(writes), _BATCH):
        db.scores.bulk_write(writes[start : start + _BATCH], ordered=False)


@functools.cache
def _coaching_library() -> dict[str, Any]:
    return load_coaching_library()


def write_results(
    db: Database,
    loaded: LoadedWave,
    result: engine.WaveResult,
    *,
    final: bool,
    as_of: datetime | None = None,
) -> bool:
    """Store the wave's results, accounts, coaching plans and response scores.

    Final results rewrite everything. Provisional ones write the wave's results, the
    responses not scored yet and their accounts (coaching plans wait for the close), so a
    completion costs writes in proportion to what changed, not to the wave's size.
    Provisional results never overwrite final ones; returns False when they would have.
    """
    wave_id, org_id = loaded.wave["_id"], loaded.wave["org_id"]
    if not final and db.results.find_one({"wave_id": wave_id, "final": True}, {"_id": 1}):
        return False
    library = _coaching_library()
    status = "closed" if final else loaded.wave.get("status")
    results_json = engine.wave_result_to_json(result, wave_id=wave_id, status=status, final=final)
    # Alerts are stored per account: a large wave's alerts alone pass MongoDB's 16 MB limit.
    alerts_by_account: dict[str, list[dict[str, Any]]] = {}
    for alert in results_json.pop("alerts", None) or ():
        alerts_by_account.setdefault(alert["account_external_id"], []).append(alert)
    scored: set[str] = set()
    if not final:
        scored = {
            d["key"] for d in db.scores.find({"wave_id": wave_id, "kind": "response"}, {"key": 1})
        }
    rows = _response_rows(loaded, result, skip=scored)
    touched = {row["account_external_id"] for row in rows}
    writes = [
        UpdateOne(
            {"_id": composite_id(wave_id, "response", row["key"])}, {"$set": row}, upsert=True
        )
        for row in rows
    ]
    for external_id in result.wave.account_external_id.tolist():
        if not final and external_id not in touched:
            continue
        account_json = engine.account_to_json(result, external_id, coaching_library=library)
        writes.append(
            UpdateOne(
                {"_id": composite_id(wave_id, "account", external_id)},
                {
                    "$set": {
                        "wave_id": wave_id,
                        "org_id": org_id,
                        "kind": "account",
                        "key": external_id,
                        "account": account_json,
                    }
                },
                upsert=True,
            )
        )
    for external_id, alerts in alerts_by_account.items() if final else ():
        writes.append(
            UpdateOne(
                {"_id": composite_id(wave_id, "alerts", external_id)},
                {
                    "$set": {
                        "wave_id": wave_id,
                        "org_id": org_id,
                        "kind": "alerts",
                        "key": external_id,
                        "alerts": alerts,
                    }
                },
                upsert=True,
            )
        )
    for s, email in enumerate(result.wave.seller_email.tolist() if final else ()):
        plan = engine.seller_plan_to_json(result, s, coaching_library=library)
        writes.append(
            UpdateOne(
                {"_id": composite_id(wave_id, "coaching", email)},
                {
                    "$set": {
                        "wave_id": wave_id,
                        "org_id": org_id,
                        "kind": "coaching",
                        "key": email,
                        "plan": plan,
                    }
                },
                upsert=True,
            )
        )
    _bulk(db, writes)
    document = {
        "wave_id": wave_id,
        "org_id": org_id,
        "final": final,
        "results": results_json,
        "computed_at": datetime.now(UTC),
        "as_of": as_of or datetime.now(UTC),
    }
    filter_: dict[str, Any] = {"wave_id": wave_id}
    if not final:
        # Never over final results, nor over a recompute that read the wave later than this one.
        filter_.update(
            final={"$ne": True}, **{"$or": [{"as_of": {"$lt": document["as_of"]}}, {"as_of": None}]}
        )
    try:
        db.results.update_one(filter_, {"$set": document}, upsert=True)
    except DuplicateKeyError:
        return False  # final or newer results landed meanwhile
    return True


def score_response(
    *, db: Database, response_id: str, wave_id: str, completed_by: datetime | None = None
) -> bool:
    """Score one completed response and refresh its wave's provisional results.

    Completions arrive in bursts; a recompute that read the wave after this response was
    completed (`completed_by`, the event's time) already includes it, so this one is skipped.
    """
    started = time.perf_counter()
    stored = db.results.find_one({"wave_id": wave_id}, {"final": 1, "as_of": 1})
    if stored and stored.get("final"):
        return False  # final results already include every completed response
    if stored and completed_by and stored.get("as_of") and stored["as_of"] >= completed_by:
        return False
    as_of = datetime.now(UTC)
    loaded = load_wave(db, wave_id)
    if loaded.wave.get("status") == "closed":
        return False
    result = engine.score_wave(loaded.input, loaded.settings)
    written = write_results(db, loaded, result, final=False, as_of=as_of)
    log.info(
        "response scored",
        extra={
            "wave_id": wave_id,
            "response_id": response_id,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return written


def close_wave(*, db: Database, bus: Bus, wave_id: str) -> engine.WaveResult:
    """The closing recompute: final results, coaching plans, `wave.scored` and the alerts."""
    started = time.perf_counter()
    loaded = load_wave(db, wave_id)
    previous_id = previous_closed_wave(db, loaded.wave)
    previous = load_wave(db, previous_id).input if previous_id else None
    result = engine.score_wave(loaded.input, loaded.settings, previous)
    write_results(db, loaded, result, final=True)
    now = datetime.now(UTC)
    db.waves.update_one(
        {"_id": wave_id, "status": {"$ne": "closed"}},
        {"$set": {"status": "closed", "closed_at": now, "scored_at": now}},
    )
    org_id, program_id = loaded.wave["org_id"], loaded.wave["program_id"]
    # Ids derived from the wave: a redelivered wave.closed republishes the same events,
    # which the notify service recognises and does not send twice.
    for n, alert in enumerate(result.alerts):
        payload = {
            "org_id": org_id,
            "wave_id": wave_id,
            "program_id": program_id,
            "account_external_id": alert.account_external_id,
            "owner_email": loaded.owners.get(alert.account_external_id),
            "kind": alert.reason,
            "contact_email": alert.contact_key,
            "detail": {"previous": _plain(alert.previous), "current": _plain(alert.current)},
        }
        bus.publish(Event(RELATIONSHIP_ALERT, payload, event_id=f"alert-{wave_id}-{n}"))
    bus.publish(
        Event(
            WAVE_SCORED,
            {"org_id": org_id, "wave_id": wave_id, "program_id": program_id},
            event_id=f"scored-{wave_id}",
        )
    )
    log.info(
        "wave scored",
        extra={
            "wave_id": wave_id,
            "alerts": len(result.alerts),
            "ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return value


def handle(event: Event, *, db: Database, bus: Bus) -> None:
    """Dispatch one event; an unknown wave is logged and dropped (retrying cannot help)."""
    try:
        if event.type == RESPONSE_COMPLETED:
            score_response(
                completed_by=event.occurred_at,
                db=db,
                response_id=event.payload["response_id"],
                wave_id=event.payload["wave_id"],
            )
        elif event.type == WAVE_CLOSED:
            close_wave(db=db, bus=bus, wave_id=event.payload["wave_id"])
    except WaveNotFound:
        log.warning("event for an unknown wave dropped", extra={"event_id": event.event_id})


def consumer_specs(container: Container) -> list[ConsumerSpec]:
    """The scoring consumer, bound to completions and closings."""
    return [
        ConsumerSpec(
            name=CONSUMER,
            bindings=(RESPONSE_COMPLETED, WAVE_CLOSED),
            handler=lambda event: handle(event, db=container.db, bus=container.bus),
            idempotency=container.idempotency(),
        )
    ]
