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
from shared.vocabulary import (
    DIMENSIONS,
    GAP_CLASSES,
    INSUFFICIENT,
    LEVEL_NAMES,
    LEVELS,
    MOMENT_TAGS,
    SEGMENTS,
    TOUCHPOINTS,
)

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


# --- before anything is scored ------------------------------------------------------------
# An open wave's results before its first completion is scored, and an account nobody in it
# has answered yet: the documents the scoring worker would store for them, with nothing
# measured (every figure null, every count zero), built here so that the survey service
# needs no scoring engine (tests/unit check them against the engine's own).


def _nothing_measured(*, low_n: bool = True) -> dict[str, Any]:
    return {"value": None, "ci95": [None, None], "n": 0, "low_n": low_n}


def unscored_results(*, accounts: list[Mapping[str, Any]], low_n_under: int = 3) -> dict[str, Any]:
    """The `/results` document of a wave nobody has answered: `accounts` are the program's
    accounts (`external_id`, `name`, `annual_revenue`) in roster order."""
    low_n = low_n_under > 0
    weighted = {"value": None, "n_accounts": 0, "low_n": low_n}
    revenue = sum(float(a.get("annual_revenue") or 0) for a in accounts)
    return {
        "wave_id": None,
        "status": None,
        "final": False,
        "n_buyers": 0,
        "n_sellers": 0,
        "relationship_index": {**_nothing_measured(low_n=low_n), "revenue_weighted": weighted},
        "nps": _nothing_measured(low_n=low_n),
        "nps_revenue_weighted": dict(weighted),
        "levels": dict.fromkeys(LEVEL_NAMES, 0),
        "segments": dict.fromkeys(SEGMENTS, 0),
        "distributions": {
            "levels": {
                "contacts": dict.fromkeys(LEVEL_NAMES, 0),
                "accounts": {**dict.fromkeys(LEVELS, 0), INSUFFICIENT: len(accounts)},
                "revenue": {**dict.fromkeys(LEVELS, 0.0), INSUFFICIENT: revenue},
            },
            "segments": {
                "contacts": dict.fromkeys(SEGMENTS, 0),
                "accounts": dict.fromkeys(SEGMENTS, 0),
                "revenue": dict.fromkeys(SEGMENTS, 0),
            },
        },
        "dimensions": {
            d: {
                "buyer": None,
                "seller": None,
                "gap": None,
                "alpha": None,
                "classes": dict.fromkeys(GAP_CLASSES),
                "n_buyer": 0,
                "n_seller": 0,
                "n_pairs": 0,
                "n_alpha": 0,
                "low_n": low_n,
            }
            for d in DIMENSIONS
        },
        "touchpoints": {
            t: {
                "performance": None,
                "impact": None,
                "quadrant": None,
                "n": 0,
                "n_impact": 0,
                "low_n": low_n,
            }
            for t in TOUCHPOINTS
        },
        "moments": {t: dict.fromkeys(MOMENT_TAGS, 0) for t in TOUCHPOINTS},
        "competitors": [],
        "revenue_at_risk": 0.0,
        "accounts": [_unscored_summary(a, low_n=low_n) for a in accounts],
        "trends": None,
        "alerts": [],
    }


def _unscored_summary(account: Mapping[str, Any], *, low_n: bool) -> dict[str, Any]:
    return {
        "external_id": str(account["external_id"]),
        "name": str(account.get("name") or ""),
        "annual_revenue": float(account.get("annual_revenue") or 0),
        "relationship_index": None,
        "level": INSUFFICIENT,
        "nps": None,
        "nps_unweighted": None,
        "gap": None,
        "gap_class": None,
        "segment": None,
        "n_buyers": 0,
        "low_n": low_n,
        "priority": None,
        "revenue_at_risk": 0.0,
        "trend": None,
    }


def unscored_account(
    *,
    account: Mapping[str, Any],
    contacts: list[Mapping[str, Any]],
    low_n_under: int = 3,
) -> dict[str, Any]:
    """The `/accounts/{external_id}` document of an account none of whose people answered:
    its contacts (`email`, `name`, `role`) listed, nothing measured, no previous-wave trend."""
    return {
        **_unscored_summary(account, low_n=low_n_under > 0),
        "dimensions": {d: {"buyer": None, "gap": None} for d in DIMENSIONS},
        "contacts": [
            {
                "email": str(c["email"]),
                "name": str(c.get("name") or ""),
                "role": c.get("role"),
                "responded": False,
                "relationship_index": None,
                "level": None,
                "segment": None,
                "nps_category": None,
                "satisfaction_trap": None,
                "competitive_index": None,
                "gap": None,
                "gap_class": None,
                "nps_gap": None,
                "n_seller_responses": 0,
                "dimensions": {
                    d: {"buyer": None, "seller": None, "gap": None, "gap_class": None}
                    for d in DIMENSIONS
                },
                "trend": None,
            }
            for c in contacts
        ],
        "moments": [],
        "coaching": [],
    }
