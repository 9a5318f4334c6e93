"""The `emails` collection, notify's durable queue, and `reminder_rounds`, the reminder days done.

An email is inserted as pending under its unique `idempotency_key` before it is sent, so
a redelivered event or a second process finds the key taken. The process sending it
holds a lease (`lease_until`, `lease_owner`); an email whose lease ran out is due again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.store.database import find_in

PENDING = "pending"
DUPLICATE_KEY = 11000


def insert_new(*, db: Database, emails: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert the emails; returns those inserted (an email whose key is taken is left out)."""
    if not emails:
        return []
    try:
        db.emails.insert_many(emails, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        taken = {e["index"] for e in errors}
        return [doc for n, doc in enumerate(emails) if n not in taken]
    return emails


def insert_one_new(*, db: Database, email: Mapping[str, Any]) -> bool:
    """Insert one email; False when its key is taken."""
    try:
        db.emails.insert_one(dict(email))
    except DuplicateKeyError:
        return False
    return True


def taken_keys(*, db: Database, keys: Iterable[str]) -> set[str]:
    """Which of these idempotency keys have an email already."""
    found = find_in(db.emails, {}, "idempotency_key", keys, ["idempotency_key"])
    return {row["idempotency_key"] for row in found}


def due(*, db: Database, now: datetime, limit: int) -> list[str]:
    """The ids of at most `limit` pending emails due by `now` whose lease ran out, most
    overdue first."""
    found = db.emails.find(
        {"status": PENDING, "next_attempt_at": {"$lte": now}, "lease_until": {"$lte": now}},
        {"_id": 1},
        sort=[("next_attempt_at", ASCENDING)],
        limit=limit,
    )
    return [row["_id"] for row in found]


def claim(
    *, db: Database, email_id: str, now: datetime, lease_until: datetime, owner: str
) -> dict[str, Any] | None:
    """Take the lease on a pending email whose lease ran out by `now`; the email after, or
    None when another process holds it or it is done."""
    return db.emails.find_one_and_update(
        {"_id": email_id, "status": PENDING, "lease_until": {"$lte": now}},
        {"$set": {"lease_until": lease_until, "lease_owner": owner}},
        return_document=ReturnDocument.AFTER,
    )


def finish(*, db: Database, email_id: str, changes: Mapping[str, Any]) -> None:
    """Record what became of an email (sent, failed, cancelled)."""
    db.emails.update_one({"_id": email_id}, {"$set": dict(changes)})


def reschedule(*, db: Database, email_id: str, owner: str, changes: Mapping[str, Any]) -> None:
    """Set `changes` (the next attempt) on a pending email this owner holds."""
    db.emails.update_one(
        {"_id": email_id, "status": PENDING, "lease_owner": owner}, {"$set": dict(changes)}
    )


# --- reminder rounds -----------------------------------------------------------------------


def reminder_round_done(*, db: Database, wave_id: str, day: int) -> bool:
    """Whether every reminder of this wave's reminder day is recorded already."""
    return db.reminder_rounds.find_one({"wave_id": wave_id, "day": day}) is not None


def record_reminder_round(*, db: Database, wave_id: str, day: int, now: datetime) -> None:
    """Note that every reminder of this wave's reminder day is recorded (once)."""
    db.reminder_rounds.update_one(
        {"wave_id": wave_id, "day": day},
        {"$setOnInsert": {"wave_id": wave_id, "day": day, "done_at": now}},
        upsert=True,
    )


# --- the console's email log -----------------------------------------------------------------

LOG_FIELDS = (
    "to",
    "kind",
    "status",
    "subject",
    "side",
    "invitation_id",
    "attempts",
    "last_error",
    "created_at",
    "sent_at",
    "failed_at",
    "cancelled_at",
    "resent_at",
)


def of_wave(
    *,
    db: Database,
    org_id: str,
    wave_id: str,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 500,
    skip: int = 0,
) -> list[dict[str, Any]]:
    """The wave's emails, newest first (without their MIME text)."""
    query: dict[str, Any] = {"org_id": org_id, "wave_id": wave_id}
    if kind is not None:
        query["kind"] = kind
    if status is not None:
        query["status"] = status
    found = db.emails.find(query, {f: 1 for f in LOG_FIELDS})
    return list(found.sort([("created_at", -1), ("_id", 1)]).skip(skip).limit(limit))


def get_of_org(*, db: Database, org_id: str, email_id: str) -> dict[str, Any] | None:
    """One of the organisation's emails (without its MIME text), or None."""
    return db.emails.find_one({"_id": email_id, "org_id": org_id}, {"mime": 0})


def reminded_since(
    *, db: Database, wave_id: str, invitation_ids: Iterable[str], since: datetime
) -> set[str]:
    """Which of these invitations had a reminder email recorded since `since`."""
    query = {"wave_id": wave_id, "kind": "reminder", "created_at": {"$gte": since}}
    found = find_in(db.emails, query, "invitation_id", invitation_ids, ["invitation_id"])
    return {row["invitation_id"] for row in found}


def requeue_once(
    *, db: Database, org_id: str, email_id: str, from_statuses: Iterable[str], now: datetime
) -> dict[str, Any] | None:
    """Put a finished email back in the queue, once in its life: pending, due now, lease free.
    The email after, or None when it is not in one of `from_statuses` or was resent before."""
    return db.emails.find_one_and_update(
        {
            "_id": email_id,
            "org_id": org_id,
            "status": {"$in": list(from_statuses)},
            "resent_at": None,
            "mime": {"$type": "string"},  # composed: an address refused outright never was
        },
        {
            "$set": {
                "status": PENDING,
                "resent_at": now,
                "next_attempt_at": now,
                "lease_until": now,
                "attempts": 0,
            }
        },
        projection={"mime": 0},
        return_document=ReturnDocument.AFTER,
    )
