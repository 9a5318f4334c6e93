"""The `opt_outs` collection: who asked for no more survey email, per organisation (lowercase)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pymongo.database import Database

from shared.store.database import find_in


def record(*, db: Database, org_id: str, email: str, now: datetime) -> None:
    """Remember that `email` opted out of the organisation's survey email (once)."""
    db.opt_outs.update_one(
        {"org_id": org_id, "email": email},
        {"$setOnInsert": {"org_id": org_id, "email": email, "at": now}},
        upsert=True,
    )


def emails(*, db: Database, org_id: str, among: Iterable[str] | None = None) -> set[str]:
    """The organisation's opted-out addresses (only those `among` these, when given)."""
    query: dict = {"org_id": org_id}
    if among is not None:
        return {row["email"] for row in find_in(db.opt_outs, query, "email", among, ["email"])}
    return {row["email"] for row in db.opt_outs.find(query, {"email": 1})}
