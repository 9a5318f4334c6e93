"""The `cases` collection: close-the-loop cases, one per trigger of a closed wave.

A case's `_id` is derived from its natural key (wave, account, contact, kind), which is also
stored as `case_key` under a unique index: opening is an upsert that only inserts
(`$setOnInsert`), so a redelivered `wave.closed` or a worker restarted after a kill opens
nothing twice. A change is one conditional update on the case's `version` that also pushes
its history entry, so two changes made at once never lose one another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.database import Database

from shared.store.database import projection

OPEN, IN_PROGRESS, CLOSED = "open", "in_progress", "closed"
STATUSES = (OPEN, IN_PROGRESS, CLOSED)
DEFAULT_DUE_HOURS = 48  # a case is due this long after the results are final (program setting)


def case_key(
    *, wave_id: str, account_external_id: str, contact_email: str | None, kind: str
) -> str:
    """The case's natural key: one case per wave, account, contact and kind."""
    return "|".join((wave_id, account_external_id, (contact_email or "").lower(), kind))


def case_id(key: str) -> str:
    """The case id of a natural key: short, stable and free of emails (it goes in links)."""
    return "case_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def open_many(*, db: Database, cases: Iterable[Mapping[str, Any]]) -> int:
    """Insert the cases not there yet (each carries `_id` and `case_key`); a case already
    open under its key is left as it is. Returns how many were new."""
    writes = [
        UpdateOne({"_id": case["_id"]}, {"$setOnInsert": dict(case)}, upsert=True) for case in cases
    ]
    if not writes:
        return 0
    return db.cases.bulk_write(writes, ordered=False).upserted_count


def get(
    *, db: Database, org_id: str | None, case_id: str, fields: Iterable[str] | None = None
) -> dict[str, Any] | None:
    """The case, or None; with `org_id` only the organisation's."""
    query: dict[str, Any] = {"_id": case_id}
    if org_id is not None:
        query["org_id"] = org_id
    return db.cases.find_one(query, projection(fields))


def of_wave(
    *,
    db: Database,
    org_id: str | None,
    wave_id: str,
    filters: Mapping[str, Any] | None = None,
    fields: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The wave's cases matching `filters` (field: value equalities, or MongoDB conditions),
    by account, contact and kind."""
    query: dict[str, Any] = {"wave_id": wave_id, **(filters or {})}
    if org_id is not None:
        query["org_id"] = org_id
    found = db.cases.find(query, projection(fields))
    return sorted(
        found,
        key=lambda c: (
            str(c.get("account_name") or c.get("account_external_id") or ""),
            str(c.get("contact_email") or ""),
            str(c.get("kind") or ""),
        ),
    )


def update(
    *,
    db: Database,
    org_id: str,
    case_id: str,
    version: int,
    changes: Mapping[str, Any],
    history: Iterable[Mapping[str, Any]],
) -> dict[str, Any] | None:
    """Apply `changes` and append the `history` entries if the case is still at `version`;
    the case after, or None when it changed meanwhile."""
    entries = [dict(h) for h in history]
    return db.cases.find_one_and_update(
        {"_id": case_id, "org_id": org_id, "version": version},
        {"$set": dict(changes), "$push": {"history": {"$each": entries}}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER,
    )


def not_closed_due_between(
    *, db: Database, start: datetime, end: datetime, fields: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Cases not closed whose due date is in [start, end), soonest first."""
    found = []
    for status in (OPEN, IN_PROGRESS):  # equality per status: the stand-in scans on `$in`
        found += db.cases.find(
            {"status": status, "due_at": {"$gte": start, "$lt": end}}, projection(fields)
        ).sort("due_at", ASCENDING)
    return sorted(found, key=lambda c: c["due_at"])
