"""The `organisations` and `api_keys` collections.

An organisation's `_id` is an ObjectId; the services carry it as its string (`org_id`).
An API key is stored as its hash only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.store.database import projection


def get(*, db: Database, org_id: str) -> dict[str, Any] | None:
    """The organisation of an `org_id` (the str of its ObjectId), or None."""
    try:
        return db.organisations.find_one({"_id": ObjectId(org_id)})
    except (InvalidId, TypeError):
        return db.organisations.find_one({"_id": org_id})


def find_by_name(
    *, db: Database, name: str, fields: Iterable[str] | None = None
) -> dict[str, Any] | None:
    """The organisation with this (internal, unique) name, or None."""
    return db.organisations.find_one({"name": name}, projection(fields))


def ensure_named(*, db: Database, name: str, now: datetime) -> str:
    """The id of the organisation called `name`, created when missing (once, whoever races)."""
    existing = find_by_name(db=db, name=name)
    if existing:
        return str(existing["_id"])
    try:
        result = db.organisations.insert_one({"name": name, "created_at": now})
        return str(result.inserted_id)
    except DuplicateKeyError:
        return str(db.organisations.find_one({"name": name})["_id"])


def update(
    *, db: Database, org_id: str, changes: Mapping[str, Any], cleared: Iterable[str] = ()
) -> dict[str, Any] | None:
    """Set `changes` and remove the `cleared` fields; the organisation after, or None."""
    update_: dict[str, Any] = {"$set": dict(changes)}
    unset = dict.fromkeys(cleared, "")
    if unset:
        update_["$unset"] = unset
    return db.organisations.find_one_and_update(
        {"_id": ObjectId(org_id)}, update_, return_document=ReturnDocument.AFTER
    )


# --- API keys ------------------------------------------------------------------------------


def add_api_key(*, db: Database, key_hash: str, org_id: str, label: str, now: datetime) -> None:
    """Store a key's hash for the organisation (a key stored already is left as it is)."""
    db.api_keys.update_one(
        {"key_hash": key_hash},
        {"$setOnInsert": {"org_id": org_id, "label": label, "created_at": now}},
        upsert=True,
    )


def org_of_api_key(*, db: Database, key_hash: str) -> str | None:
    """The org_id whose key has this hash and is not revoked, or None."""
    found = db.api_keys.find_one({"key_hash": key_hash, "revoked_at": None})
    return found["org_id"] if found else None


# --- logos ------------------------------------------------------------------------------------


def put_logo(
    *, db: Database, org_id: str, content_type: str, data: bytes, version: str, now: datetime
) -> None:
    """Store the organisation's logo (one per organisation), then name its version on the
    organisation, so a page never links a version that is not stored."""
    db.logos.update_one(
        {"_id": org_id},
        {"$set": {"content_type": content_type, "data": data, "version": version, "at": now}},
        upsert=True,
    )
    db.organisations.update_one(
        {"_id": ObjectId(org_id)}, {"$set": {"logo_version": version, "updated_at": now}}
    )


def get_logo(*, db: Database, org_id: str) -> dict[str, Any] | None:
    """The organisation's stored logo {content_type, data, version}, or None."""
    return db.logos.find_one({"_id": org_id})
