"""The `scores` collection: what the scoring worker stores per wave, `_id` "<wave>:<kind>:<key>".

Kinds: `response` (one per completed response, the export's rows), `account` (the
`/accounts/{id}` document), `alerts` and `coaching` (final only), `ranking` (the ranked
account list in chunks, shared/store/results.py). Every write is an upsert by `_id`; a
provisional one is guarded so that it never replaces a final document, nor one written
from a later read of the wave (`as_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from shared.store.database import composite_id, projection

BATCH = 1000  # upserts per round trip
DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class Score:
    """One `scores` document to store: its kind, its key within the wave, its fields."""

    kind: str
    key: str
    fields: Mapping[str, Any]


def provisional_guard(as_of: datetime) -> dict[str, Any]:
    """The filter that keeps a provisional write off final documents and off documents read
    from the wave later than `as_of` (the results document uses it too)."""
    return {"final": {"$ne": True}, "$or": [{"as_of": {"$lt": as_of}}, {"as_of": None}]}


def _upsert(score: Score, *, wave_id: str, org_id: str, as_of: datetime, final: bool) -> UpdateOne:
    document = {
        **score.fields,
        "wave_id": wave_id,
        "org_id": org_id,
        "kind": score.kind,
        "key": score.key,
        "final": final,
        "as_of": as_of,
    }
    filter_: dict[str, Any] = {"_id": composite_id(wave_id, score.kind, score.key)}
    if not final:
        filter_.update(provisional_guard(as_of))
    return UpdateOne(filter_, {"$set": document}, upsert=True)


def write(
    *,
    db: Database,
    wave_id: str,
    org_id: str,
    scores: Iterable[Score],
    as_of: datetime,
    final: bool,
) -> int:
    """Upsert the scores in batches; returns how many were skipped because a final or newer
    document holds their `_id` (a guarded upsert that finds nothing inserts, and collides)."""
    writes = [_upsert(s, wave_id=wave_id, org_id=org_id, as_of=as_of, final=final) for s in scores]
    skipped = 0
    for start in range(0, len(writes), BATCH):
        try:
            db.scores.bulk_write(writes[start : start + BATCH], ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            skipped += len(errors)
    return skipped


def get(
    *,
    db: Database,
    wave_id: str,
    kind: str,
    key: str,
    org_id: str | None = None,
    fields: Iterable[str] | None = None,
) -> dict[str, Any] | None:
    """One stored document (of the organisation, when given), or None."""
    query: dict[str, Any] = {"_id": composite_id(wave_id, kind, key)}
    if org_id is not None:
        query["org_id"] = org_id
    return db.scores.find_one(query, projection(fields))


def keys(*, db: Database, wave_id: str, kind: str) -> set[str]:
    """The keys of the wave's documents of one kind (e.g. the responses already scored)."""
    return {d["key"] for d in db.scores.find({"wave_id": wave_id, "kind": kind}, {"key": 1})}


def of_kind(
    *,
    db: Database,
    wave_id: str,
    kind: str,
    org_id: str | None = None,
    fields: Iterable[str] | None = None,
    by_key: bool = False,
) -> Iterable[dict[str, Any]]:
    """The wave's documents of one kind (of the organisation, when given; by key with
    `by_key`), streamed."""
    query: dict[str, Any] = {"wave_id": wave_id}
    if org_id is not None:
        query["org_id"] = org_id
    query["kind"] = kind
    found = db.scores.find(query, projection(fields))
    return found.sort("key", ASCENDING) if by_key else found


def of_seller(
    *, db: Database, wave_id: str, seller_email: str, org_id: str
) -> list[dict[str, Any]]:
    """The scores of the seller's own responses in the wave (one per buyer contact they
    answered about), by key."""
    query = {"wave_id": wave_id, "org_id": org_id, "kind": "response", "seller_email": seller_email}
    return list(db.scores.find(query).sort("key", ASCENDING))


def of_keys(
    *, db: Database, wave_id: str, kind: str, keys: Iterable[str], org_id: str
) -> dict[str, dict[str, Any]]:
    """The wave's documents of one kind with these keys, by key (one `$in` read)."""
    ids = [composite_id(wave_id, kind, key) for key in dict.fromkeys(keys)]
    found = db.scores.find({"_id": {"$in": ids}, "org_id": org_id})
    return {doc["key"]: doc for doc in found}
