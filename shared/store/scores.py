"""The `scores` collection: what the scoring worker stores per wave, `_id` and `score_key`
"<wave>:<kind>:<key>".

Kinds: `account` (one per account: the `/accounts/{id}` document under `account`, and its
alerts under `alerts` once the wave is closed), `responses` (one per account: the scores of
its completed responses, the export's rows), `coaching` (one per seller, final only) and
`ranking` (the ranked account list in chunks, shared/store/results.py).

Writes are upserts keyed by `score_key`, a single-field unique index: the local MongoDB
stand-in finds it in constant time, where an upsert keyed by `_id` that inserts scans the
collection. A provisional write is guarded so that it never replaces a document the close
wrote (`final`), nor one written from a later read of the wave (`as_of`). Response scores
never change once a response is completed, so the close writes an account's `responses`
document only when some are not stored yet: it rewrites the (smaller) account documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import bson
from pymongo import UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from shared.store.database import composite_id, projection

# Upserts per round trip (and their documents' bytes): each round trip must stay far below
# the client's timeouts on a busy single-threaded server (an account's view is ~8 KB).
BATCH = 200
BATCH_BYTES = 128 * 1024  # ~15 account documents
DUPLICATE_KEY = 11000
ACCOUNT = "account"
RESPONSES = "responses"


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


def responses_fields(responses: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The fields of an account's `responses` document: its responses' scores, with their
    ids and sellers for the lookups."""
    return {
        "responses": [dict(r) for r in responses],
        "response_ids": [r["key"] for r in responses],
        "seller_emails": sorted({r["seller_email"] for r in responses if r.get("seller_email")}),
    }


def _upsert(score: Score, *, wave_id: str, org_id: str, as_of: datetime, final: bool) -> UpdateOne:
    score_key = composite_id(wave_id, score.kind, score.key)
    document = {
        **score.fields,
        "wave_id": wave_id,
        "org_id": org_id,
        "kind": score.kind,
        "key": score.key,
        "final": final,
        "as_of": as_of,
    }
    filter_: dict[str, Any] = {"score_key": score_key}
    if not final:
        filter_.update(provisional_guard(as_of))
    return UpdateOne(filter_, {"$set": document, "$setOnInsert": {"_id": score_key}}, upsert=True)


def _batches(writes: list[tuple[UpdateOne, int]]) -> Iterator[list[UpdateOne]]:
    """The (upsert, its document's bytes) in round trips of at most BATCH upserts and about
    BATCH_BYTES: the local server's cost per upsert grows with the document's size."""
    batch: list[UpdateOne] = []
    size = 0
    for write, document_size in writes:
        if batch and (len(batch) >= BATCH or size + document_size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(write)
        size += document_size
    if batch:
        yield batch


def write(
    *,
    db: Database,
    wave_id: str,
    org_id: str,
    scores: Iterable[Score],
    as_of: datetime,
    final: bool,
) -> int:
    """Upsert the scores in batches of BATCH; returns how many were skipped because a final
    or newer document holds their key (a guarded upsert that finds nothing inserts, and
    collides)."""
    writes = [
        (
            _upsert(s, wave_id=wave_id, org_id=org_id, as_of=as_of, final=final),
            len(bson.encode(dict(s.fields))),
        )
        for s in scores
    ]
    skipped = 0
    for batch in _batches(writes):
        try:
            db.scores.bulk_write(batch, ordered=False)
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
    query: dict[str, Any] = {"score_key": composite_id(wave_id, kind, key)}
    if org_id is not None:
        query["org_id"] = org_id
    return db.scores.find_one(query, projection(fields))


def of_kind(
    *,
    db: Database,
    wave_id: str,
    kind: str,
    org_id: str | None = None,
    fields: Iterable[str] | None = None,
) -> Iterable[dict[str, Any]]:
    """The wave's documents of one kind (of the organisation, when given), streamed."""
    query: dict[str, Any] = {"wave_id": wave_id}
    if org_id is not None:
        query["org_id"] = org_id
    query["kind"] = kind
    return db.scores.find(query, projection(fields))


def of_keys(
    *,
    db: Database,
    wave_id: str,
    kind: str,
    keys: Iterable[str],
    org_id: str,
    fields: Iterable[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The wave's documents of one kind with these keys, by key (one read each: the local
    stand-in answers `$in` by scanning)."""
    found = {}
    for key in dict.fromkeys(keys):
        doc = get(db=db, wave_id=wave_id, kind=kind, key=key, org_id=org_id, fields=fields)
        if doc is not None:
            found[key] = doc
    return found


# --- response scores, one `responses` document per account --------------------------------


def response_scored(
    *, db: Database, wave_id: str, account_key: str, response_id: str
) -> dict[str, Any] | None:
    """The `responses` document of the account whose stored responses include this one
    (`as_of`), or None while the response is not scored."""
    query = {
        "score_key": composite_id(wave_id, RESPONSES, account_key),
        "response_ids": response_id,
    }
    return db.scores.find_one(query, {"as_of": 1, "final": 1, "key": 1})


def scored_response_ids(*, db: Database, wave_id: str) -> dict[str, set[str]]:
    """The ids of the wave's scored responses, by account key."""
    found = of_kind(db=db, wave_id=wave_id, kind=RESPONSES, fields=("key", "response_ids"))
    return {doc["key"]: set(doc.get("response_ids") or ()) for doc in found}


def response_rows(
    *, db: Database, wave_id: str, org_id: str | None = None, seller_email: str | None = None
) -> list[dict[str, Any]]:
    """The stored scores of the wave's completed responses (each with `key`, the response
    id), by response id; with `seller_email` only that seller's own responses."""
    query: dict[str, Any] = {"wave_id": wave_id}
    if org_id is not None:
        query["org_id"] = org_id
    query["kind"] = RESPONSES
    if seller_email is not None:
        query["seller_emails"] = seller_email
    rows: Iterator[dict[str, Any]] = (
        row for doc in db.scores.find(query, {"responses": 1}) for row in doc.get("responses") or ()
    )
    if seller_email is not None:
        rows = (row for row in rows if row.get("seller_email") == seller_email)
    return sorted(rows, key=lambda row: row["key"])
