"""The `results` collection: a wave's results document, and its ranked account list in chunks.

The ranked account list of a big wave (20,000 accounts is ~8 MB) would take the results
document towards MongoDB's 16 MB limit, so the scoring worker stores it in `scores`
documents of RANKING_CHUNK accounts each (kind `ranking`, key the chunk's number) and the
results document says how many (`ranking_chunks`). `read_results` puts the list back.
Results written before the list was chunked keep it inline and read as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.store.database import composite_id
from shared.store.scores import provisional_guard

RANKING_CHUNK = 2000  # account summaries per document (~1 MB)


def ranking_key(index: int) -> str:
    """The `scores` key of chunk `index` of the ranked account list."""
    return f"{index:05d}"


def ranking_chunks(accounts: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The ranked account list cut into chunks, in order (one empty chunk for no accounts)."""
    return [accounts[i : i + RANKING_CHUNK] for i in range(0, len(accounts), RANKING_CHUNK)] or [[]]


def read_results(db: Database, query: Mapping[str, Any]) -> dict[str, Any] | None:
    """The `results` document matching `query`, its ranked account list put back in place."""
    doc = db.results.find_one(query)
    if doc is None or "results" not in doc or doc.get("ranking_chunks") is None:
        return doc
    accounts: list[dict[str, Any]] = []
    for index in range(doc["ranking_chunks"]):  # by _id: a handful of reads
        chunk = db.scores.find_one(
            {"_id": composite_id(doc["wave_id"], "ranking", ranking_key(index))}, {"accounts": 1}
        )
        accounts.extend(chunk["accounts"] if chunk else ())
    return {**doc, "results": {**doc["results"], "accounts": accounts}}


def read(*, db: Database, wave_id: str, org_id: str | None = None) -> dict[str, Any] | None:
    """The wave's results document (of the organisation, when given) with its ranked account
    list, or None before anything is stored."""
    query = {"wave_id": wave_id} if org_id is None else {"wave_id": wave_id, "org_id": org_id}
    return read_results(db, query)


def write(
    *,
    db: Database,
    wave_id: str,
    org_id: str,
    results: Mapping[str, Any],
    ranking_chunks: int,
    as_of: datetime,
    computed_at: datetime,
    final: bool,
) -> bool:
    """Upsert the wave's results document. Provisional results never replace final ones, nor
    results read from the wave later (`as_of`): returns False when they would have."""
    document = {
        "wave_id": wave_id,
        "org_id": org_id,
        "final": final,
        "results": dict(results),
        "ranking_chunks": ranking_chunks,
        "computed_at": computed_at,
        "as_of": as_of,
    }
    filter_: dict[str, Any] = {"wave_id": wave_id}
    if not final:
        filter_.update(provisional_guard(as_of))
    try:
        db.results.update_one(filter_, {"$set": document}, upsert=True)
    except DuplicateKeyError:
        return False  # final or newer results landed meanwhile
    return True
