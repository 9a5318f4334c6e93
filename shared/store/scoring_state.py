"""The `scoring_state` collection: the scoring worker's marks on a wave, `_id` the wave's id.

`stale` (provisional results miss a completion), `dirty_at` (the latest completion marked,
only growing), `results_as_of` (the read the stored results came from), `refresh_until`
(a refresh's lease) and `final`. A small document of its own: the results document of a
big wave is megabytes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database


def get(*, db: Database, wave_id: str) -> dict[str, Any] | None:
    """The wave's marks, or None when it has none yet."""
    return db.scoring_state.find_one({"_id": wave_id})


def mark_stale(*, db: Database, wave_id: str, org_id: str | None, now: datetime) -> dict[str, Any]:
    """Mark the wave's provisional results stale as of `now` (`dirty_at` only grows); the
    marks after."""
    return db.scoring_state.find_one_and_update(
        {"_id": wave_id},
        {
            "$set": {"stale": True},
            "$max": {"dirty_at": now},
            "$setOnInsert": {"org_id": org_id},
        },
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )


def record_results(*, db: Database, wave_id: str, as_of: datetime, took_s: float) -> None:
    """Note that the stored results come from a read at `as_of`, unless later ones do."""
    db.scoring_state.update_one(
        {"_id": wave_id, "$or": [{"results_as_of": {"$lt": as_of}}, {"results_as_of": None}]},
        {"$set": {"results_as_of": as_of, "recompute_s": took_s}},
    )


def clear_stale(*, db: Database, wave_id: str, read_at: datetime | None = None) -> None:
    """Clear the stale mark; with `read_at`, only when no completion was marked since."""
    query: dict[str, Any] = {"_id": wave_id}
    if read_at is not None:
        query["dirty_at"] = {"$lt": read_at}
    db.scoring_state.update_one(query, {"$set": {"stale": False}})


def stale_waves(*, db: Database) -> list[str]:
    """The ids of the waves marked stale and not final."""
    return [
        s["_id"] for s in db.scoring_state.find({"stale": True, "final": {"$ne": True}}, {"_id": 1})
    ]


def claim_refresh(*, db: Database, wave_id: str, now: datetime, lease: timedelta) -> bool:
    """Take the lease on refreshing a stale wave; False when another process holds it, or it
    is no longer stale."""
    claimed = db.scoring_state.update_one(
        {
            "_id": wave_id,
            "stale": True,
            "$or": [{"refresh_until": {"$lt": now}}, {"refresh_until": None}],
        },
        {"$set": {"refresh_until": now + lease}},
    )
    return bool(claimed.modified_count)


def release_refresh(*, db: Database, wave_id: str) -> None:
    """Give the refresh lease back."""
    db.scoring_state.update_one({"_id": wave_id}, {"$unset": {"refresh_until": ""}})


def mark_final(*, db: Database, wave_id: str, org_id: str) -> None:
    """The wave's results are final: nothing provisional is computed for it again."""
    db.scoring_state.update_one(
        {"_id": wave_id},
        {"$set": {"final": True, "stale": False}, "$setOnInsert": {"org_id": org_id}},
        upsert=True,
    )
