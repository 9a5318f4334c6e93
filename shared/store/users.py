"""The console's people: `users`, the used sign-in links and the sign-in attempt counters.

A user belongs to one organisation and has one role; the email is unique across Rapport, so
signing in names nobody's organisation. Passwords are stored as their argon2 hash only.
`sign_in_links` holds the id of every sign-in link used (until it would have expired anyway);
`sign_in_attempts` counts failed sign-ins per address and per account in fixed windows, in
MongoDB so that every gunicorn worker reads the same counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.store.database import projection


def insert(*, db: Database, user: Mapping[str, Any]) -> bool:
    """Store a new user; False when a user with this email exists already."""
    try:
        db.users.insert_one(dict(user))
    except DuplicateKeyError:
        return False
    return True


def get(
    *, db: Database, user_id: str, org_id: str | None = None, fields: Iterable[str] | None = None
) -> dict[str, Any] | None:
    """The user with this id (of this organisation when given), or None."""
    query: dict[str, Any] = {"_id": user_id}
    if org_id is not None:
        query["org_id"] = org_id
    return db.users.find_one(query, projection(fields))


def find_by_email(*, db: Database, email: str) -> dict[str, Any] | None:
    """The user with this (lower-case) email, or None."""
    return db.users.find_one({"email": email})


def list_for(*, db: Database, org_id: str) -> list[dict[str, Any]]:
    """The organisation's users by email, without their password hashes."""
    return list(
        db.users.find({"org_id": org_id}, {"password_hash": 0}, sort=[("email", ASCENDING)])
    )


def update(*, db: Database, user_id: str, changes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Set `changes` on a user; the user after, or None when there is none."""
    return db.users.find_one_and_update(
        {"_id": user_id}, {"$set": dict(changes)}, return_document=ReturnDocument.AFTER
    )


# --- sign-in links -------------------------------------------------------------------------


def use_link(
    *, db: Database, link_id: str, user_id: str, now: datetime, expires_at: datetime
) -> bool:
    """Record a sign-in link as used; False when it was used before (whoever raced)."""
    try:
        db.sign_in_links.insert_one(
            {"_id": link_id, "user_id": user_id, "used_at": now, "expires_at": expires_at}
        )
    except DuplicateKeyError:
        return False
    return True


# --- sign-in attempts ----------------------------------------------------------------------


def count_failure(*, db: Database, key: str, expires_at: datetime) -> int:
    """Count one failed sign-in under `key` (one window's counter); the count after."""
    found = db.sign_in_attempts.find_one_and_update(
        {"_id": key},
        {"$inc": {"failures": 1}, "$setOnInsert": {"expires_at": expires_at}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    return int(found["failures"])


def failures(*, db: Database, keys: Iterable[str]) -> dict[str, int]:
    """The failures counted under each of these keys (absent keys have none)."""
    wanted = list(keys)
    found = db.sign_in_attempts.find({"_id": {"$in": wanted}}, {"failures": 1})
    return {row["_id"]: int(row.get("failures", 0)) for row in found}


def forget_expired(*, db: Database, now: datetime) -> int:
    """Remove used links and attempt counters past their expiry; how many went."""
    gone = db.sign_in_links.delete_many({"expires_at": {"$lt": now}}).deleted_count
    return gone + db.sign_in_attempts.delete_many({"expires_at": {"$lt": now}}).deleted_count
