"""The `invitations` collection: one per (wave, side, person), unique by `invitation_key`.

`build` makes the document a launch writes (and the test fixtures, through the launch);
`write_many` upserts them, so a retried launch completes the same set. An invitation's
status only moves forward: invited -> opened -> in_progress -> completed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.database import Database

from shared.ids import new_id
from shared.store.database import find_in, projection
from shared.vocabulary import COMPLETED, INVITED, OPENED

WRITE_BATCH = 500  # invitation upserts per round trip
_ACTIVE = {"revoked": {"$ne": True}}


def invitation_key(wave_id: str, side: str, email: str) -> str:
    """The unique key of an invitation: one per wave, side and person."""
    return f"{wave_id}|{side}|{email}"


def build(
    *,
    wave: Mapping[str, Any],
    side: str,
    email: str,
    name: str,
    language: str,
    subjects: list[dict[str, Any]],
    opted_out: bool,
    now: datetime,
) -> dict[str, Any]:
    """A new invitation of `wave` for one person, about `subjects` (a buyer: themself; a
    seller: the buyer contacts they are assigned to)."""
    return {
        "_id": new_id(),
        "invitation_key": invitation_key(wave["_id"], side, email),
        "org_id": wave["org_id"],
        "program_id": wave["program_id"],
        "wave_id": wave["_id"],
        "side": side,
        "person_email": email,
        "person_name": name,
        "language": language,
        "subjects": subjects,
        "status": INVITED,
        "opened_at": None,
        "completed_at": None,
        "revoked": False,
        "opted_out": opted_out,
        "created_at": now,
    }


def _chunks[T](items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_many(*, db: Database, invitations: Sequence[Mapping[str, Any]]) -> list[str]:
    """Upsert the invitations in bulk; the stored ids in the same order (existing ones kept)."""
    ids: list[str] = []
    for chunk in _chunks(invitations, WRITE_BATCH):
        result = db.invitations.bulk_write(
            [
                UpdateOne(
                    {"invitation_key": doc["invitation_key"]}, {"$setOnInsert": doc}, upsert=True
                )
                for doc in chunk
            ],
            ordered=False,
        )
        if result.upserted_count == len(chunk):
            ids.extend(doc["_id"] for doc in chunk)
            continue
        # Some were there already (a retried launch): read back their ids.
        keys = [doc["invitation_key"] for doc in chunk]
        stored = {
            found["invitation_key"]: found["_id"]
            for found in find_in(db.invitations, {}, "invitation_key", keys, ["invitation_key"])
        }
        ids.extend(stored[key] for key in keys)
    return ids


# --- reading ------------------------------------------------------------------------------


def get(
    *, db: Database, invitation_id: str, fields: Iterable[str] | None = None
) -> dict[str, Any] | None:
    """The invitation with this id, or None."""
    return db.invitations.find_one({"_id": invitation_id}, projection(fields))


def of_person(
    *,
    db: Database,
    org_id: str,
    wave_id: str,
    side: str,
    email: str,
    fields: Iterable[str] | None = None,
) -> dict[str, Any] | None:
    """The organisation's invitation of one person on one side of the wave, or None."""
    query = {"invitation_key": invitation_key(wave_id, side, email), "org_id": org_id}
    return db.invitations.find_one(query, projection(fields))


def get_many(
    *, db: Database, org_id: str, wave_id: str, invitation_ids: Iterable[str]
) -> list[dict[str, Any]]:
    """The wave's invitations with these ids (a `$in` read per IN_CHUNK ids; in no particular
    order)."""
    query = {"org_id": org_id, "wave_id": wave_id}
    return list(find_in(db.invitations, query, "_id", invitation_ids))


def not_revoked(
    *,
    db: Database,
    wave_id: str,
    org_id: str | None = None,
    fields: Iterable[str] | None = None,
    by_person: bool = False,
) -> Iterator[dict[str, Any]]:
    """The wave's invitations that were not revoked (by side and email with `by_person`),
    streamed."""
    query: dict[str, Any] = {"wave_id": wave_id}
    if org_id is not None:
        query["org_id"] = org_id
    found = db.invitations.find({**query, **_ACTIVE}, projection(fields))
    if by_person:
        found = found.sort([("side", ASCENDING), ("person_email", ASCENDING)])
    return found


def awaiting_answer(*, db: Database, wave_id: str) -> list[dict[str, Any]]:
    """The wave's invitations still waiting for answers: not completed, revoked or opted out."""
    return list(
        db.invitations.find(
            {
                "wave_id": wave_id,
                "status": {"$ne": COMPLETED},
                "revoked": {"$ne": True},
                "opted_out": {"$ne": True},
            }
        )
    )


def of_side(
    *,
    db: Database,
    wave_id: str,
    side: str,
    status: str | None = None,
    fields: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The wave's invitations of one side (in one status, when given)."""
    query: dict[str, Any] = {"wave_id": wave_id, "side": side}
    if status is not None:
        query["status"] = status
    return list(db.invitations.find(query, projection(fields)))


def count(*, db: Database, wave_id: str, side: str, status: str | None = None) -> int:
    """How many invitations of the wave's side there are (in one status, when given)."""
    query: dict[str, Any] = {"wave_id": wave_id, "side": side}
    if status is not None:
        query["status"] = status
    return db.invitations.count_documents(query)


def count_by_state(*, db: Database, org_id: str, wave_id: str) -> list[tuple[dict[str, Any], int]]:
    """The wave's invitations that were not revoked, counted by (side, status, opted_out):
    ({"side", "status", "opted_out"}, how many) pairs, absent fields left out."""
    grouped = db.invitations.aggregate(
        [
            {"$match": {"wave_id": wave_id, "org_id": org_id, **_ACTIVE}},
            {
                "$group": {
                    "_id": {"side": "$side", "status": "$status", "opted_out": "$opted_out"},
                    "n": {"$sum": 1},
                }
            },
        ]
    )
    return [(group["_id"], int(group["n"])) for group in grouped]


# --- status and opt-out --------------------------------------------------------------------


def mark_opened(*, db: Database, invitation_id: str, now: datetime) -> None:
    """invited -> opened (an invitation further on stays as it is)."""
    db.invitations.update_one(
        {"_id": invitation_id, "status": INVITED},
        {"$set": {"status": OPENED, "opened_at": now}},
    )


def advance(
    *, db: Database, invitation_id: str, earlier: Iterable[str], changes: Mapping[str, Any]
) -> None:
    """Set `changes` (a later status among them) if the invitation is in one of `earlier`."""
    db.invitations.update_one(
        {"_id": invitation_id, "status": {"$in": list(earlier)}}, {"$set": dict(changes)}
    )


def mark_completed(*, db: Database, invitation_id: str, now: datetime) -> None:
    """-> completed, once."""
    db.invitations.update_one(
        {"_id": invitation_id, "status": {"$ne": COMPLETED}},
        {"$set": {"status": COMPLETED, "completed_at": now}},
    )


def mark_opted_out(*, db: Database, invitation_id: str, now: datetime) -> None:
    """The person of this invitation opted out."""
    db.invitations.update_one(
        {"_id": invitation_id}, {"$set": {"opted_out": True, "opted_out_at": now}}
    )


def mark_opted_out_in_waves(
    *, db: Database, email: str, wave_ids: Iterable[str], now: datetime
) -> None:
    """`email` opted out: mark their invitations in these waves (those not marked yet)."""
    db.invitations.update_many(
        {"wave_id": {"$in": list(wave_ids)}, "person_email": email, "opted_out": {"$ne": True}},
        {"$set": {"opted_out": True, "opted_out_at": now}},
    )
