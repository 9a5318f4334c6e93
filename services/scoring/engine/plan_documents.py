"""The JSON documents of sections 7 and 8: a seller's coaching plan, each account's plan and
each seller's prediction accuracy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from services.scoring.engine import json_values as js
from services.scoring.engine.coaching import AccountPlans
from services.scoring.engine.vocabulary import DIMENSIONS, GAP_CLASSES, LEVEL_NAMES, SEGMENTS
from services.scoring.engine.wave import WaveResult


def _levers_json(plans: AccountPlans, order: np.ndarray) -> list[list[dict[str, Any]]]:
    """Each account's levers (up to two, the present ones first), built a lever slot at a time."""
    slots = []
    for j in range(plans.levers.shape[1]):
        codes = plans.levers[order, j]
        slots.append(
            [
                None if d < 0 else {"dimension": DIMENSIONS[d], "headroom": room, "ri_gain": gain}
                for d, room, gain in zip(
                    codes.tolist(),
                    plans.headroom[order, j].tolist(),
                    plans.ri_gain[order, j].tolist(),
                    strict=True,
                )
            ]
        )
    # levers are sorted by headroom with the missing ones last, so the count is a prefix
    counts = (plans.levers[order] >= 0).sum(axis=1).tolist()
    return [list(levers[:k]) for levers, k in zip(zip(*slots, strict=True), counts, strict=True)]


def plans_json(result: WaveResult, order: np.ndarray) -> list[dict[str, Any] | None]:
    """Section 7's plan of each account in `order` (None without an account RI), built column
    by column."""
    plans = result.account_plans
    columns = zip(
        (~np.isnan(result.accounts.relationship_index[order])).tolist(),
        js.names(LEVEL_NAMES, plans.next_level[order]),
        js.plain_numbers(plans.ri_needed[order]),
        _levers_json(plans, order),
        js.names(SEGMENTS, plans.if_level_up[order]),
        js.names(SEGMENTS, plans.if_nps_up[order]),
        js.plain_numbers(plans.nps_needed[order]),
        strict=True,
    )
    return [
        {
            "next_level": next_level,
            "ri_needed": ri_needed,
            "levers": levers,
            "if_level_up": level_up,
            "if_nps_up": nps_up,
            "nps_needed": nps_needed,
        }
        if with_ri
        else None
        for with_ri, next_level, ri_needed, levers, level_up, nps_up, nps_needed in columns
    ]


def sellers_json(result: WaveResult) -> list[dict[str, Any]]:
    """Section 8: each seller's prediction accuracy, its pairs (`n_pairs`, and as the
    accuracy's `n` with `low_n` under min_n) and its change."""
    accuracy, wave = result.seller_accuracy, result.wave
    low_n = (accuracy.n_pairs < result.settings.low_n).tolist()
    return [
        {
            "email": email,
            "name": name,
            "accuracy": value,
            "n_pairs": n,
            "n": n,
            "low_n": low,
            "accuracy_change": change,
        }
        for email, name, value, n, low, change in zip(
            wave.seller_email.tolist(),
            wave.seller_name.tolist(),
            js.plain_numbers(accuracy.accuracy),
            accuracy.n_pairs.tolist(),
            low_n,
            js.plain_numbers(accuracy.change),
            strict=True,
        )
    ]


def _behaviours(library: Mapping[str, Any] | None, dimension: str, gap_class: str) -> list[str]:
    if not library:
        return []
    return list(library["dimensions"][dimension][gap_class])


def seller_plan_to_json(
    result: WaveResult,
    seller: int,
    *,
    coaching_library: Mapping[str, Any] | None = None,
    account: int | None = None,
) -> dict[str, Any]:
    """Seller `seller`'s coaching plan: the top three dimensions with behaviours, and expand
    actions (only those on `account`'s contacts when given)."""
    coaching, wave = result.coaching, result.wave
    dimensions = []
    for d in coaching.top_dimensions[seller].tolist():
        if d < 0:
            continue
        gap_class = js.name(GAP_CLASSES, int(coaching.dimension_gap_classes[seller, d]))
        dimensions.append(
            {
                "dimension": DIMENSIONS[d],
                "priority": float(coaching.priority[seller, d]),
                "gap": js.number(coaching.dimension_gaps[seller, d]),
                "gap_class": gap_class,
                # without a gap the aligned behaviours apply
                "behaviours": _behaviours(coaching_library, DIMENSIONS[d], gap_class or "aligned"),
            }
        )
    pairs = result.pairs
    chosen = result.rows_of("pairs_by_seller", seller)
    chosen = chosen[coaching.pair_expand[chosen]]
    if account is not None:
        chosen = chosen[wave.contact_account[pairs.contact[chosen]] == account]
    expand = (coaching_library or {}).get("expand", {})
    actions = [
        {
            "type": "expand",
            "contact_email": str(wave.contact_email[c]),
            "account_external_id": str(wave.account_external_id[wave.contact_account[c]]),
            "text": expand.get("text"),
            "behaviours": list(expand.get("behaviours", ())),
        }
        for c in pairs.contact[chosen].tolist()
    ]
    return {
        "seller_email": str(wave.seller_email[seller]),
        "seller_name": str(wave.seller_name[seller]),
        "dimensions": dimensions,
        "actions": actions,
    }
