"""A seller's commitments: "I'll do this" on a behaviour of their coaching plan, so the next
results email can ask how it went. One document per wave, seller and behaviour."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.store.database import Database


def commitment_id(*, wave_id: str, seller_email: str, dimension: str, behaviour: int) -> str:
    """The document's key: the same behaviour committed twice is one commitment."""
    return f"{wave_id}|{seller_email}|{dimension}|{behaviour}"


def commit(
    *,
    db: Database,
    org_id: str,
    wave_id: str,
    seller_email: str,
    dimension: str,
    behaviour: int,
    text: str,
    now: datetime,
) -> None:
    """Record the commitment (idempotent: a second press keeps the first time)."""
    key = commitment_id(
        wave_id=wave_id, seller_email=seller_email, dimension=dimension, behaviour=behaviour
    )
    db.commitments.update_one(
        {"_id": key},
        {
            "$setOnInsert": {
                "org_id": org_id,
                "wave_id": wave_id,
                "seller_email": seller_email,
                "dimension": dimension,
                "behaviour": behaviour,
                "text": text,
                "committed_at": now,
            }
        },
        upsert=True,
    )


def of_seller(
    *, db: Database, org_id: str, wave_id: str, seller_email: str
) -> list[dict[str, Any]]:
    """The seller's commitments in the wave."""
    query = {"org_id": org_id, "wave_id": wave_id, "seller_email": seller_email}
    return list(db.commitments.find(query))
