"""Organisations and their API keys. Keys are random, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from bson import ObjectId
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

KEY_PREFIX = "rk_"


def hash_key(api_key: str) -> str:
    """The stored form of an API key (keys carry 256 bits, so a plain hash suffices)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def ensure_organisation(*, db: Database, name: str) -> str:
    """The id of the organisation called `name`, created when missing."""
    existing = db.organisations.find_one({"name": name})
    if existing:
        return str(existing["_id"])
    try:
        result = db.organisations.insert_one({"name": name, "created_at": datetime.now(UTC)})
        return str(result.inserted_id)
    except DuplicateKeyError:
        return str(db.organisations.find_one({"name": name})["_id"])


def create_api_key(
    *, db: Database, org_id: str, api_key: str | None = None, label: str = ""
) -> str:
    """Store a new key for the organisation and return it in clear, once."""
    api_key = api_key or KEY_PREFIX + secrets.token_urlsafe(32)
    db.api_keys.update_one(
        {"key_hash": hash_key(api_key)},
        {"$setOnInsert": {"org_id": org_id, "label": label, "created_at": datetime.now(UTC)}},
        upsert=True,
    )
    return api_key


def organisation_for_key(*, db: Database, api_key: str) -> str | None:
    """The org_id an API key belongs to, or None."""
    if not api_key:
        return None
    found = db.api_keys.find_one({"key_hash": hash_key(api_key), "revoked_at": None})
    return found["org_id"] if found else None


def bootstrap(*, db: Database, api_key: str) -> str:
    """Make sure organisation `default` exists with this API key (RAPPORT_BOOTSTRAP_API_KEY)."""
    org_id = ensure_organisation(db=db, name="default")
    create_api_key(db=db, org_id=org_id, api_key=api_key, label="bootstrap")
    return org_id


def is_object_id(value: str) -> bool:
    return ObjectId.is_valid(value) and len(value) == 24
