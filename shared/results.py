"""A wave's stored results: one `results` document and its ranked account list in chunks.

The ranked account list of a big wave (20,000 accounts is ~8 MB) would take the results
document towards MongoDB's 16 MB limit, so the scoring worker stores it in `scores`
documents of RANKING_CHUNK accounts each (kind `ranking`, key the chunk's number) and the
results document says how many (`ranking_chunks`). `read_results` puts the list back.
Results written before the list was chunked keep it inline and read as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.database import Database

from shared.store import composite_id

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
