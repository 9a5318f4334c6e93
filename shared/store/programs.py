"""The `programs` collection: an organisation's relationship surveys and their settings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.database import Database

from shared.store.database import projection


def insert(*, db: Database, program: Mapping[str, Any]) -> None:
    """Store a new program document."""
    db.programs.insert_one(dict(program))


def get(
    *,
    db: Database,
    org_id: str | None,
    program_id: str | None,
    fields: Iterable[str] | None = None,
) -> dict[str, Any] | None:
    """The program, or None; with `org_id` only the organisation's (None: whoever's it is,
    for a consumer reading the program of a wave it has already read)."""
    query: dict[str, Any] = {"_id": program_id}
    if org_id is not None:
        query["org_id"] = org_id
    return db.programs.find_one(query, projection(fields))


def update(
    *, db: Database, org_id: str, program_id: str, changes: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Set `changes` on the organisation's program; the program after, or None when missing."""
    return db.programs.find_one_and_update(
        {"_id": program_id, "org_id": org_id},
        {"$set": dict(changes)},
        return_document=ReturnDocument.AFTER,
    )


def list_for(*, db: Database, org_id: str) -> list[dict[str, Any]]:
    """The organisation's programs, newest first."""
    return list(db.programs.find({"org_id": org_id}).sort("created_at", DESCENDING))
