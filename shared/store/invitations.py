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
from shared.vocabulary import COMPLETED, IN_PROGRESS, INVITED, OPENED

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


# --- the console: people, reminders on demand, late subjects, revocation ---------------------


def of_people(
    *,
    db: Database,
    org_id: str,
    wave_id: str,
    emails: Iterable[str] | None = None,
    fields: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The wave's invitations (of these people, when `emails` is given), revoked ones included."""
    query: dict[str, Any] = {"org_id": org_id, "wave_id": wave_id}
    if emails is None:
        return list(db.invitations.find(query, projection(fields)))
    return list(find_in(db.invitations, query, "person_email", emails, fields))


def claim_reminders(
    *,
    db: Database,
    org_id: str,
    wave_id: str,
    invitation_ids: Iterable[str],
    round_id: str,
    now: datetime,
    since: datetime,
) -> list[str]:
    """Mark as reminded (by `round_id`, at `now`) those of these invitations that still wait for
    answers and were not reminded since `since`; the ids this round claimed.

    One conditional update per batch: of two racing rounds, each invitation goes to one."""
    ids = list(invitation_ids)
    if not ids:
        return []
    claimable = {
        "org_id": org_id,
        "wave_id": wave_id,
        "status": {"$ne": COMPLETED},
        "revoked": {"$ne": True},
        "opted_out": {"$ne": True},
        "$or": [{"last_reminded_at": None}, {"last_reminded_at": {"$lt": since}}],
    }
    for chunk in _chunks(ids, WRITE_BATCH):
        db.invitations.update_many(
            {**claimable, "_id": {"$in": list(chunk)}},
            {"$set": {"last_reminded_at": now, "reminder_round": round_id}},
        )
    claimed = db.invitations.find({"wave_id": wave_id, "reminder_round": round_id}, {"_id": 1})
    return sorted(row["_id"] for row in claimed)


def release_reminders(*, db: Database, wave_id: str, round_id: str) -> None:
    """Undo a reminder round whose event could not be recorded (they may be reminded again)."""
    db.invitations.update_many(
        {"wave_id": wave_id, "reminder_round": round_id},
        {"$set": {"last_reminded_at": None, "reminder_round": None}},
    )


def mark_reminded(*, db: Database, invitation_ids: Iterable[str], now: datetime) -> None:
    """Note that these invitations were sent a (scheduled) reminder at `now`."""
    for chunk in _chunks(list(invitation_ids), WRITE_BATCH):
        db.invitations.update_many(
            {"_id": {"$in": list(chunk)}}, {"$set": {"last_reminded_at": now}}
        )


def revoke(*, db: Database, org_id: str, wave_id: str, email: str, now: datetime) -> int:
    """Revoke the person's invitations in the wave (both sides); how many were still active."""
    done = db.invitations.update_many(
        {"org_id": org_id, "wave_id": wave_id, "person_email": email, **_ACTIVE},
        {"$set": {"revoked": True, "revoked_at": now}},
    )
    return int(done.modified_count)


def reissue(*, db: Database, org_id: str, wave_id: str, email: str, now: datetime) -> int:
    """Give the person's invitations in the wave a new link version (and lift a revocation):
    every earlier link stops working. How many invitations changed."""
    done = db.invitations.update_many(
        {"org_id": org_id, "wave_id": wave_id, "person_email": email},
        {"$set": {"revoked": False, "reissued_at": now}, "$inc": {"link_version": 1}},
    )
    return int(done.modified_count)


def add_subjects(
    *, db: Database, invitation_id: str, subjects: Sequence[Mapping[str, Any]], now: datetime
) -> bool:
    """Add new subjects to a seller's invitation, once: the update only applies while none of
    them is there. A completed invitation goes back to in_progress (the new subjects wait for
    answers; the answered ones stay completed). True when this call added them."""
    if not subjects:
        return False
    ids = [s["subject_id"] for s in subjects]
    base = {"_id": invitation_id, "subjects.subject_id": {"$nin": ids}}
    reopened = db.invitations.update_one(
        {**base, "status": COMPLETED},
        {
            "$push": {"subjects": {"$each": [dict(s) for s in subjects]}},
            "$set": {"status": IN_PROGRESS, "reopened_at": now, "completed_at": None},
        },
    )
    if reopened.modified_count:
        return True
    added = db.invitations.update_one(
        {**base, "status": {"$ne": COMPLETED}},
        {"$push": {"subjects": {"$each": [dict(s) for s in subjects]}}},
    )
    return bool(added.modified_count)


def progress_rows(*, db: Database, org_id: str, wave_id: str) -> list[dict[str, Any]]:
    """Every active invitation of the wave, flattened for the response rates:
    {_id, side, status, opted_out, email, name, contact_ids, account_ids, last_reminded_at}.

    A find with a projection, flattened here: on the stand-in server it takes a third of
    the time of the same `$project` as an aggregation (benchmarks/bench_console_wave.py)."""
    found = db.invitations.find(
        {"org_id": org_id, "wave_id": wave_id, **_ACTIVE},
        {
            "side": 1,
            "status": 1,
            "opted_out": 1,
            "person_email": 1,
            "person_name": 1,
            "subjects.contact_id": 1,
            "subjects.account_id": 1,
            "last_reminded_at": 1,
        },
    )
    rows = []
    for invitation in found:
        subjects = invitation.pop("subjects", None) or []
        invitation["email"] = invitation.pop("person_email", None)
        invitation["name"] = invitation.pop("person_name", None)
        invitation["contact_ids"] = [s["contact_id"] for s in subjects if "contact_id" in s]
        invitation["account_ids"] = [s["account_id"] for s in subjects if "account_id" in s]
        rows.append(invitation)
    return rows
