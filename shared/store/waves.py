"""The `waves` collection: read a wave, and its life draft -> launching -> open -> closing -> closed.

Each move is one conditional update written here once, so a second launch, a close racing
the scheduler or a redelivered `wave.closed` finds the wave already moved and changes
nothing. The survey admin launches and closes, the notify scheduler closes at `closes_at`,
the scoring worker marks a wave closed once its final results are stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.database import Database

from shared.store.database import projection
from shared.vocabulary import CLOSED, CLOSING, DRAFT, LAUNCHING, OPEN


def insert(*, db: Database, wave: Mapping[str, Any]) -> None:
    """Store a new wave document."""
    db.waves.insert_one(dict(wave))


def get(
    *, db: Database, org_id: str | None, wave_id: str, fields: Iterable[str] | None = None
) -> dict[str, Any] | None:
    """The wave, or None; with `org_id` only the organisation's (None: a consumer trusting its
    event's wave id). `fields` limits what is read."""
    query: dict[str, Any] = {"_id": wave_id}
    if org_id is not None:
        query["org_id"] = org_id
    return db.waves.find_one(query, projection(fields))


def in_status(
    *,
    db: Database,
    statuses: Iterable[str],
    org_id: str | None = None,
    program_id: str | None = None,
    except_id: str | None = None,
    fields: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The waves in one of `statuses` (of the organisation, of the program, other than
    `except_id`, when given)."""
    wanted = list(statuses)
    # one status by equality: the local stand-in answers `$in` by scanning the collection
    query: dict[str, Any] = {"status": wanted[0] if len(wanted) == 1 else {"$in": wanted}}
    if org_id is not None:
        query["org_id"] = org_id
    if program_id is not None:
        query["program_id"] = program_id
    if except_id is not None:
        query["_id"] = {"$ne": except_id}
    return list(db.waves.find(query, projection(fields)))


def due_to_close(*, db: Database, now: datetime) -> list[str]:
    """The ids of the open waves whose `closes_at` has come."""
    return [
        w["_id"] for w in db.waves.find({"status": OPEN, "closes_at": {"$lte": now}}, {"_id": 1})
    ]


def closing_by(*, db: Database, closed_by: str) -> list[dict[str, Any]]:
    """The waves still closing that `closed_by` (the API, the schedule) moved to closing."""
    return list(db.waves.find({"status": CLOSING, "closed_by": closed_by}))


def previous_closed(*, db: Database, wave: Mapping[str, Any]) -> str | None:
    """The id of the program's last wave closed before this one was launched."""
    query: dict[str, Any] = {
        "program_id": wave["program_id"],
        "org_id": wave["org_id"],
        "status": CLOSED,
        "_id": {"$ne": wave["_id"]},
    }
    if wave.get("launched_at"):
        query["closed_at"] = {"$lte": wave["launched_at"]}
    found = db.waves.find(query, {"_id": 1}).sort("closed_at", DESCENDING).limit(1)
    return next((w["_id"] for w in found), None)


# --- the lifecycle ------------------------------------------------------------------------


def claim_launch(
    *, db: Database, org_id: str, wave_id: str, now: datetime, lease: timedelta
) -> dict[str, Any] | None:
    """draft -> launching (or take over a launch that started more than `lease` ago and died);
    the wave after, or None when it is neither."""
    return db.waves.find_one_and_update(
        {
            "_id": wave_id,
            "org_id": org_id,
            "$or": [
                {"status": DRAFT},
                {"status": LAUNCHING, "launching_at": {"$lt": now - lease}},
            ],
        },
        {"$set": {"status": LAUNCHING, "launching_at": now}},
        return_document=ReturnDocument.AFTER,
    )


def mark_open(
    *,
    db: Database,
    org_id: str,
    wave_id: str,
    launching_at: datetime,
    changes: Mapping[str, Any],
) -> dict[str, Any] | None:
    """launching -> open, setting `changes`, only for the launch that claimed it at
    `launching_at`; the wave after, or None when another launch holds it."""
    return db.waves.find_one_and_update(
        {"_id": wave_id, "org_id": org_id, "status": LAUNCHING, "launching_at": launching_at},
        {"$set": {**changes, "status": OPEN}, "$unset": {"launching_at": ""}},
        return_document=ReturnDocument.AFTER,
    )


def release_launch(*, db: Database, wave_id: str, launching_at: datetime) -> None:
    """launching -> draft after a failed launch (the one that claimed it at `launching_at`),
    so that it can be retried."""
    db.waves.update_one(
        {"_id": wave_id, "status": LAUNCHING, "launching_at": launching_at},
        {"$set": {"status": DRAFT}, "$unset": {"launching_at": ""}},
    )


def claim_closing(
    *, db: Database, org_id: str | None, wave_id: str, closed_by: str, now: datetime
) -> dict[str, Any] | None:
    """open -> closing, noting who closed it; the wave after, or None when it was not open
    (closed meanwhile by another request or the scheduler)."""
    query: dict[str, Any] = {"_id": wave_id, "status": OPEN}
    if org_id is not None:
        query["org_id"] = org_id
    return db.waves.find_one_and_update(
        query,
        {"$set": {"status": CLOSING, "closing_at": now, "closed_by": closed_by}},
        return_document=ReturnDocument.AFTER,
    )


def mark_closed(*, db: Database, wave_id: str, now: datetime) -> None:
    """-> closed, once its final results are stored (a second time changes nothing)."""
    db.waves.update_one(
        {"_id": wave_id, "status": {"$ne": CLOSED}},
        {"$set": {"status": CLOSED, "closed_at": now, "scored_at": now}},
    )


# --- the console: list and edit ---------------------------------------------------------------


def of_program(
    *, db: Database, org_id: str, program_id: str, fields: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The program's waves, newest first."""
    found = db.waves.find({"org_id": org_id, "program_id": program_id}, projection(fields))
    return list(found.sort([("created_at", DESCENDING), ("_id", DESCENDING)]))


def update_in_status(
    *,
    db: Database,
    org_id: str,
    wave_id: str,
    status: str,
    changes: Mapping[str, Any],
    closes_before: datetime | None = None,
) -> dict[str, Any] | None:
    """Set `changes` on the wave if it is still in `status` (and, with `closes_before`, still
    closes before that time); the wave after, or None when it moved on meanwhile."""
    query: dict[str, Any] = {"_id": wave_id, "org_id": org_id, "status": status}
    if closes_before is not None:
        query["closes_at"] = {"$lt": closes_before}
    return db.waves.find_one_and_update(
        query, {"$set": dict(changes)}, return_document=ReturnDocument.AFTER
    )
