"""A wave's results before anything is scored (the stored ones: shared/store/results.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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

# --- before anything is scored ------------------------------------------------------------
# An open wave's results before its first completion is scored, and an account nobody in it
# has answered yet: the documents the scoring worker would store for them, with nothing
# measured (every figure null, every count zero), built here so that the survey service
# needs no scoring engine (tests/unit check them against the engine's own).


def _nothing_measured(*, low_n: bool = True) -> dict[str, Any]:
    return {"value": None, "ci95": [None, None], "n": 0, "low_n": low_n, "n_accounts": 0}


def unscored_results(
    *,
    accounts: list[Mapping[str, Any]],
    sellers: Sequence[Mapping[str, Any]] = (),
    low_n_under: int = 3,
    pulse: bool = False,
) -> dict[str, Any]:
    """The `/results` document of a wave nobody has answered: `accounts` are the program's
    accounts (`external_id`, `name`, `annual_revenue`), `sellers` its sellers (`email`,
    `name`) who have buyers; `pulse` for a pulse wave (its alpha has another reason)."""
    reason = PULSE_ALPHA_REASON if pulse else NO_ALPHA_YET
    low_n = low_n_under > 0
    weighted = {
        "value": None,
        "n_accounts": 0,
        "low_n": low_n,
        "n": 0,
        "effective_n": None,
        "largest_share": None,
    }
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
        "distributions": _unscored_distributions(accounts),
        "dimensions": {d: _unscored_dimension(low_n, reason) for d in DIMENSIONS},
        "touchpoints": {t: _unscored_touchpoint(low_n) for t in TOUCHPOINTS},
        "moments": {t: dict.fromkeys(MOMENT_TAGS, 0) for t in TOUCHPOINTS},
        "competitors": [],
        "revenue_at_risk": 0.0,
        "accounts": [_unscored_summary(a, low_n=low_n) for a in accounts],
        "accounts_without_revenue": sum(a.get("annual_revenue") is None for a in accounts),
        "trends": None,
        "alerts": [],
        "sellers": [
            {
                "email": str(seller["email"]),
                "name": str(seller.get("name") or ""),
                "accuracy": None,
                "n_pairs": 0,
                "n": 0,
                "low_n": low_n,
                "accuracy_change": None,
            }
            for seller in sellers
        ],
    }


def _unscored_distributions(accounts: list[Mapping[str, Any]]) -> dict[str, Any]:
    revenue = sum(float(a.get("annual_revenue") or 0) for a in accounts)
    return {
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
    }


# the engine's reasons for a null alpha (services/scoring/engine/documents.py says the same)
PULSE_ALPHA_REASON = "pulse wave: one item per dimension, so there is no alpha to estimate"
NO_ALPHA_YET = "fewer than 10 buyer responses answered every item"


def _unscored_dimension(low_n: bool, alpha_reason: str) -> dict[str, Any]:
    return {
        "buyer": None,
        "seller": None,
        "gap": None,
        "alpha": None,
        "alpha_ci95": [None, None],
        "classes": dict.fromkeys(GAP_CLASSES),
        "n_buyer": 0,
        "n_seller": 0,
        "n_pairs": 0,
        "n_alpha": 0,
        "alpha_reason": alpha_reason,
        "low_n": low_n,
        "n": 0,
    }


def _unscored_touchpoint(low_n: bool) -> dict[str, Any]:
    return {
        "performance": None,
        "impact": None,
        "impact_ci95": [None, None],
        "quadrant": None,
        "n": 0,
        "n_impact": 0,
        "low_n": low_n,
    }


def _unscored_summary(account: Mapping[str, Any], *, low_n: bool) -> dict[str, Any]:
    unknown = account.get("annual_revenue") is None  # counted apart, never as zero
    return {
        "external_id": str(account["external_id"]),
        "name": str(account.get("name") or ""),
        "annual_revenue": None if unknown else float(account["annual_revenue"]),
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
        "revenue_at_risk": None if unknown else 0.0,
        "trend": None,
        "n_ri": 0,
        "n_nps": 0,
        "n_pairs": 0,
        "ri_low_n": low_n,
        "nps_low_n": low_n,
        "gap_low_n": low_n,
        "changes": None,
        "plan": None,
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
                "comments": None,
            }
            for c in contacts
        ],
        "moments": [],
        "coaching": [],
        "changes": None,
    }
