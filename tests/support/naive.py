"""The straightforward scoring of a wave: plain dicts and loops over responses, no numpy arrays.

It is the reference the vectorised engine is checked against, and the baseline of the
benchmark. It takes the API-shaped records (roster rows, buyer and seller responses) and
returns the same documents as `engine.wave_result_to_json` and `engine.account_to_json`.
The bootstrap over accounts takes the same draws as the engine, one replicate per call (the
same stream): multinomial counts over the distinct accounts (sum and count of answers),
`default_rng(seed).multinomial(m, count / m)`, or with fewer than BOOTSTRAP_COUNTS_RATIO
accounts per distinct one the indices, `default_rng(seed).integers(0, m, m)`; so even the
intervals agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import f as f_distribution

from services.scoring.engine import (
    ALERT_REASONS,
    BOOTSTRAP_COUNTS_RATIO,
    BOOTSTRAP_RESOLUTION,
    COMPETITOR_ITEMS,
    DEFAULT_SETTINGS,
    DIMENSIONS,
    GAP_CLASSES,
    LEVEL_NAMES,
    LEVELS,
    MOMENT_TAGS,
    NPS_CATEGORIES,
    ROLES,
    SEGMENT_TABLE,
    SEGMENTS,
    TOLERANCE,
    TOUCHPOINTS,
    ScoringSettings,
)

Records = Mapping[str, Sequence[Mapping[str, Any]]]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _weighted_mean(pairs: list[tuple[float, float]]) -> float | None:
    """Mean of (weight, value) pairs."""
    if not pairs:
        return None
    total = 0.0
    weight = 0.0
    for w, value in pairs:
        total += value * w
        weight += w
    return total / weight


def _level(ri: float | None, cut_points: Sequence[float]) -> str:
    if ri is None:
        return "insufficient"
    steps = 0
    for cut in cut_points:
        if cut <= ri + TOLERANCE:
            steps += 1
    return LEVELS[steps]


def _nps_category(recommend: float | None) -> str | None:
    if recommend is None:
        return None
    if recommend >= 9:
        return "promoter"
    if recommend >= 7:
        return "passive"
    return "detractor"


def _account_nps_category(nps: float | None) -> str | None:
    if nps is None:
        return None
    if nps >= 50 - TOLERANCE:
        return "promoter"
    if nps >= 0 - TOLERANCE:
        return "passive"
    return "detractor"


def _segment(level: str, category: str | None) -> str | None:
    if level == "insufficient" or category is None:
        return None
    return SEGMENT_TABLE[LEVELS.index(level)][NPS_CATEGORIES.index(category)]


def _gap_class(gap: float | None, threshold: float) -> str | None:
    if gap is None:
        return None
    if gap >= threshold - TOLERANCE:
        return "blind_spot"
    if gap <= -threshold + TOLERANCE:
        return "undervalued"
    return "aligned"


def _answer(answers: Mapping[str, Any], item: str, reverse_items: frozenset[str]) -> float | None:
    value = answers.get(item)
    if value is None:
        return None
    value = float(value)
    return 8.0 - value if item in reverse_items else value


def _item_score(value: float | None) -> float | None:
    return None if value is None else (value - 1.0) / 6.0 * 100.0


def score_answers(
    answers: Mapping[str, Any],
    settings: ScoringSettings = DEFAULT_SETTINGS,
    reverse_items: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Section 2 for one response, the way it reads in the spec."""
    items: dict[str, float | None] = {}
    dimensions: dict[str, float | None] = {}
    for dimension in DIMENSIONS:
        answered = []
        for i in (1, 2, 3):
            item = f"{dimension}.{i}"
            score = _item_score(_answer(answers, item, reverse_items))
            items[item] = score
            if score is not None and (i == 1 or settings.questionnaire != "pulse"):
                answered.append(score)
        # k items asked (3; 1 in a pulse wave), at least ceil(k / 2) answered
        needed = 1 if settings.questionnaire == "pulse" else 2
        dimensions[dimension] = _mean(answered) if len(answered) >= needed else None
    present = [d for d in dimensions.values() if d is not None]
    ri = _mean(present) if len(present) >= 4 else None
    level = _level(ri, settings.cut_points)
    recommend = _answer(answers, "recommend", reverse_items)
    category = _nps_category(recommend)
    satisfaction = _answer(answers, "satisfaction", reverse_items)
    commitment = dimensions["commitment"]
    trap = (
        satisfaction is not None
        and satisfaction >= 6
        and commitment is not None
        and commitment < 60 - TOLERANCE
    )
    compared = [
        v for v in (_answer(answers, i, reverse_items) for i in COMPETITOR_ITEMS) if v is not None
    ]
    competitive = _mean(compared) * 50.0 if compared else None
    touchpoints = {
        tp: _item_score(_answer(answers, f"touchpoint.{tp}", reverse_items)) for tp in TOUCHPOINTS
    }
    return {
        "item_scores": items,
        "dimensions": dimensions,
        "relationship_index": ri,
        "level": level,
        "nps_category": category,
        "segment": _segment(level, category),
        "satisfaction_trap": trap,
        "competitive_index": competitive,
        "touchpoints": touchpoints,
        "recommend": recommend,
    }


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = q / 100.0 * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def _bootstrap(answers: list[tuple], samples: int, seed: int) -> list[float | None]:
    """The cluster bootstrap of (cluster, value) or (cluster, value, weight) answers, one
    replicate per draw: each replicate's statistic is the weighted mean of its answers."""
    if samples == 0 or not answers:
        return [None, None]
    rng = np.random.default_rng(seed)
    clusters: dict[str, list[tuple[float, float]]] = {}
    for cluster, value, *weight in answers:
        clusters.setdefault(cluster, []).append((value, weight[0] if weight else 1.0))
    # each cluster is its sum and count; those equal to BOOTSTRAP_RESOLUTION are one cluster
    groups: dict[tuple[int, float], list[float]] = {}
    for values in clusters.values():
        total = count = 0.0
        for value, weight in values:
            total += weight * value
            count += weight
        groups.setdefault((round(total / BOOTSTRAP_RESOLUTION), count), []).append(total)
    keys = sorted(groups)
    sums = [sum(groups[k]) / len(groups[k]) for k in keys]
    counts = [k[1] for k in keys]
    m = len(clusters)
    shares = [len(groups[k]) / m for k in keys]
    # the clusters in the order of their distinct keys, each as often as it occurs
    every = [(s, n) for k, s, n in zip(keys, sums, counts, strict=True) for _ in groups[k]]
    means: list[float] = []
    rows: list[list[int]] = []
    for _ in range(samples):
        total = drawn = 0.0
        if m >= BOOTSTRAP_COUNTS_RATIO * len(keys):
            for times, s, n in zip(rng.multinomial(m, shares).tolist(), sums, counts, strict=True):
                total += times * s
                drawn += times * n
        else:
            if not rows:  # drawn a few replicates at a time: the same stream, fewer calls
                rows = rng.integers(0, m, (min(max(1, 2**16 // m), samples - len(means)), m))
                rows = rows.tolist()[::-1]
            for i in rows.pop():
                total += every[i][0]
                drawn += every[i][1]
        means.append(total / drawn)
    return [_percentile(means, 2.5), _percentile(means, 97.5)]


def _pearson(xs: list[float], ys: list[float]) -> float | None:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    denominator = math.sqrt(sxx * syy)
    return sxy / denominator if denominator > 0 else None


def _variance(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _wave(
    records: Records, settings: ScoringSettings, reverse_items: frozenset[str]
) -> dict[str, Any]:
    """Everything per response, contact and account of one wave, as dicts."""
    accounts: dict[str, dict[str, Any]] = {}
    contacts: dict[str, dict[str, Any]] = {}
    sellers: dict[str, dict[str, Any]] = {}
    for row in records["roster"]:
        if row["account_id"] not in accounts:
            revenue = row.get("annual_revenue")
            accounts[row["account_id"]] = {
                "external_id": row["account_id"],
                "name": row.get("account_name") or row["account_id"],
                "revenue": None if revenue in (None, "") else float(revenue),
                "contacts": [],
            }
        if row["contact_email"] not in contacts:
            contacts[row["contact_email"]] = {
                "email": row["contact_email"],
                "name": row.get("contact_name") or "",
                "role": row["contact_role"],
                "account": row["account_id"],
                "weight": settings.role_weights[row["contact_role"]],
                "buyer": None,
                "seller_responses": [],
                "pairs": [],
            }
            accounts[row["account_id"]]["contacts"].append(row["contact_email"])
        seller = row.get("seller_email")
        if seller and seller not in sellers:
            sellers[seller] = {"email": seller, "name": row.get("seller_name") or "", "pairs": []}

    buyers = []
    for response in records["buyer_responses"]:
        scores = score_answers(response["answers"], settings, reverse_items)
        scores["contact"] = response["contact_email"]
        scores["answers"] = response["answers"]
        contacts[response["contact_email"]]["buyer"] = scores
        buyers.append(scores)
    seller_responses = []
    pairs = []
    for response in records["seller_responses"]:
        scores = score_answers(response["answers"], settings, reverse_items)
        scores["contact"] = response["contact_email"]
        scores["seller"] = response["seller_email"]
        seller_responses.append(scores)
        contact = contacts[response["contact_email"]]
        contact["seller_responses"].append(scores)
        buyer = contact["buyer"]
        if buyer is None:
            continue
        gaps = {d: _difference(scores["dimensions"][d], buyer["dimensions"][d]) for d in DIMENSIONS}
        gap = _difference(scores["relationship_index"], buyer["relationship_index"])
        pair = {
            "contact": response["contact_email"],
            "seller": response["seller_email"],
            "buyer": buyer,
            "gap": gap,
            "gap_class": _gap_class(gap, settings.gap_threshold),
            "dimension_gaps": gaps,
            "dimension_gap_classes": {
                d: _gap_class(g, settings.gap_threshold) for d, g in gaps.items()
            },
            "nps_gap": _difference(scores["recommend"], buyer["recommend"]),
        }
        pairs.append(pair)
        contact["pairs"].append(pair)
        sellers[response["seller_email"]]["pairs"].append(pair)

    for contact in contacts.values():
        pair_gaps = [p["gap"] for p in contact["pairs"] if p["gap"] is not None]
        contact["gap"] = _mean(pair_gaps)
        contact["gap_class"] = _gap_class(contact["gap"], settings.gap_threshold)
        contact["nps_gap"] = _mean(
            [p["nps_gap"] for p in contact["pairs"] if p["nps_gap"] is not None]
        )
        contact["dimension_gaps"] = {}
        contact["seller_dimensions"] = {}
        for d in DIMENSIONS:
            gaps = [
                p["dimension_gaps"][d]
                for p in contact["pairs"]
                if p["dimension_gaps"][d] is not None
            ]
            contact["dimension_gaps"][d] = _mean(gaps)
            views = [
                s["dimensions"][d]
                for s in contact["seller_responses"]
                if s["dimensions"][d] is not None
            ]
            contact["seller_dimensions"][d] = _mean(views)

    for account in accounts.values():
        members = [contacts[email] for email in account["contacts"]]
        responded = [c for c in members if c["buyer"] is not None]
        account["n_buyers"] = len(responded)
        account["ri"] = _weighted_mean(
            [
                (c["weight"], c["buyer"]["relationship_index"])
                for c in responded
                if c["buyer"]["relationship_index"] is not None
            ]
        )
        account["dimensions"] = {
            d: _weighted_mean(
                [
                    (c["weight"], c["buyer"]["dimensions"][d])
                    for c in responded
                    if c["buyer"]["dimensions"][d] is not None
                ]
            )
            for d in DIMENSIONS
        }
        account["gap"] = _weighted_mean(
            [(c["weight"], c["gap"]) for c in members if c["gap"] is not None]
        )
        account["dimension_gaps"] = {
            d: _weighted_mean(
                [
                    (c["weight"], c["dimension_gaps"][d])
                    for c in members
                    if c["dimension_gaps"][d] is not None
                ]
            )
            for d in DIMENSIONS
        }
        promoters = detractors = answered = 0.0
        count_promoters = count_detractors = count_answered = 0
        for c in responded:
            category = c["buyer"]["nps_category"]
            if category is None:
                continue
            answered += c["weight"]
            count_answered += 1
            if category == "promoter":
                promoters += c["weight"]
                count_promoters += 1
            elif category == "detractor":
                detractors += c["weight"]
                count_detractors += 1
        account["nps"] = 100.0 * (promoters - detractors) / answered if count_answered else None
        account["nps_unweighted"] = (
            100.0 * (count_promoters - count_detractors) / count_answered
            if count_answered
            else None
        )
        account["level"] = _level(account["ri"], settings.cut_points)
        account["nps_category"] = _account_nps_category(account["nps"])
        account["segment"] = _segment(account["level"], account["nps_category"])
        account["n_ri"] = sum(c["buyer"]["relationship_index"] is not None for c in responded)
        account["n_nps"] = count_answered
        account["n_pairs"] = sum(1 for c in members for p in c["pairs"] if p["gap"] is not None)
        revenue = account["revenue"]
        at_risk = account["level"] in ("antagonistic", "transactional")
        if revenue is None:
            account["revenue_at_risk"] = None  # unknown, not zero
        else:
            account["revenue_at_risk"] = revenue if at_risk else 0.0
        account["plan"] = _account_plan(account, members, settings)
        account["priority"] = (
            None
            if revenue is None or account["ri"] is None
            else revenue * (100.0 - account["ri"]) / 100.0
        )
    return {
        "accounts": accounts,
        "contacts": contacts,
        "sellers": sellers,
        "buyers": buyers,
        "seller_responses": seller_responses,
        "pairs": pairs,
    }


def _level_step(level: str | None) -> int | None:
    if level is None or level == "insufficient":
        return None
    return LEVELS.index(level)


def _trend(
    now: dict[str, Any] | None,
    before: dict[str, Any] | None,
    ri_key: str,
    level_key: str,
    category_key: str,
) -> dict[str, Any]:
    """Changes between two dicts that carry an RI, a level and an NPS category (None = absent)."""
    ri_now = now.get(ri_key) if now else None
    ri_before = before.get(ri_key) if before else None
    step_now = _level_step(now.get(level_key)) if now else None
    step_before = _level_step(before.get(level_key)) if before else None
    return {
        "delta_ri": _difference(ri_now, ri_before),
        "level_change": None if step_now is None or step_before is None else step_now - step_before,
        "nps_category": {
            "previous": before.get(category_key) if before else None,
            "current": now.get(category_key) if now else None,
        },
    }


def _account_plan(
    account: dict[str, Any], members: list[dict[str, Any]], settings: ScoringSettings
) -> dict[str, Any] | None:
    """Section 7's account plan, the way it reads in the spec."""
    if account["ri"] is None:
        return None
    step = LEVELS.index(account["level"])
    up = step + 1 < len(LEVELS)
    headroom = {}
    for d in DIMENSIONS:
        scored = [
            (c["weight"], 100.0 - c["buyer"]["dimensions"][d])
            for c in members
            if c["buyer"] is not None and c["buyer"]["dimensions"][d] is not None
        ]
        if scored:
            headroom[d] = _weighted_mean(scored)
    best = max(v for v in account["dimensions"].values() if v is not None)
    ranked = sorted(headroom, key=lambda d: (-round(headroom[d] * 1e9), DIMENSIONS.index(d)))
    category = account["nps_category"]
    higher = {"passive": "promoter", "detractor": "passive"}.get(category)
    threshold = {"passive": 50.0, "detractor": 0.0}.get(category)
    return {
        "next_level": LEVELS[step + 1] if up else None,
        "ri_needed": settings.cut_points[step] - account["ri"] if up else None,
        "levers": [
            {
                "dimension": d,
                "headroom": headroom[d],
                "ri_gain": (best - account["dimensions"][d]) / len(DIMENSIONS),
            }
            for d in ranked[:2]
        ],
        "if_level_up": _segment(LEVELS[step + 1], category) if up else None,
        "if_nps_up": _segment(account["level"], higher) if higher else None,
        "nps_needed": threshold - account["nps"] if higher else None,
    }


def _seller_accuracy(seller: dict[str, Any]) -> tuple[float | None, int]:
    """Section 8: 100 - mean |G_d| over the seller's pairs and dimensions with a gap, and n."""
    gaps = []
    n_pairs = 0
    for pair in seller["pairs"]:
        known = [abs(g) for g in pair["dimension_gaps"].values() if g is not None]
        gaps.extend(known)
        n_pairs += bool(known)
    return (100.0 - sum(gaps) / len(gaps) if gaps else None), n_pairs


def _account_summary(
    account: dict[str, Any], settings: ScoringSettings, trend: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "external_id": account["external_id"],
        "name": account["name"],
        "annual_revenue": account["revenue"],
        "relationship_index": account["ri"],
        "level": account["level"],
        "nps": account["nps"],
        "nps_unweighted": account["nps_unweighted"],
        "gap": account["gap"],
        "gap_class": _gap_class(account["gap"], settings.gap_threshold),
        "segment": account["segment"],
        "n_buyers": account["n_buyers"],
        "low_n": min(account["n_ri"], account["n_nps"]) < settings.low_n,
        "n_ri": account["n_ri"],
        "n_nps": account["n_nps"],
        "n_pairs": account["n_pairs"],
        "ri_low_n": account["n_ri"] < settings.low_n,
        "nps_low_n": account["n_nps"] < settings.low_n,
        "gap_low_n": account["n_pairs"] < settings.low_n,
        "priority": account["priority"],
        "revenue_at_risk": account["revenue_at_risk"],
        "trend": trend,
        "plan": account["plan"],
    }


def _coaching_plans(wave: dict[str, Any], settings: ScoringSettings) -> dict[str, dict[str, Any]]:
    plans = {}
    for email, seller in wave["sellers"].items():
        priority = {}
        gaps = {}
        for d in DIMENSIONS:
            total = 0.0
            scored = False
            weighted = []
            for pair in seller["pairs"]:
                weight = wave["contacts"][pair["contact"]]["weight"]
                buyer_score = pair["buyer"]["dimensions"][d]
                gap = pair["dimension_gaps"][d]
                if gap is not None:
                    weighted.append((weight, gap))
                if buyer_score is None:
                    continue
                scored = True
                need = (100.0 - buyer_score) / 100.0
                blind = max(0.0, gap if gap is not None else 0.0) / 100.0
                total += weight * (need + blind)
            if scored:
                priority[d] = total
            gaps[d] = _weighted_mean(weighted)
        # priorities equal to 1e-9 rank in dimension order
        ranked = sorted(priority, key=lambda d: (-round(priority[d] * 1e9), DIMENSIONS.index(d)))[
            :3
        ]
        expand = []
        for pair in seller["pairs"]:
            contact = wave["contacts"][pair["contact"]]
            ri = pair["buyer"]["relationship_index"]
            if contact["gap_class"] == "undervalued" and ri is not None and ri >= 60 - TOLERANCE:
                expand.append(pair["contact"])
        plans[email] = {"priority": priority, "gaps": gaps, "top": ranked, "expand": expand}
    return plans


def _plan_json(
    wave: dict[str, Any],
    email: str,
    plan: dict[str, Any],
    settings: ScoringSettings,
    library: Mapping[str, Any] | None,
    account: str,
) -> dict[str, Any]:
    dimensions = []
    for d in plan["top"]:
        gap_class = _gap_class(plan["gaps"][d], settings.gap_threshold)
        behaviours = list(library["dimensions"][d][gap_class or "aligned"]) if library else []
        dimensions.append(
            {
                "dimension": d,
                "priority": plan["priority"][d],
                "gap": plan["gaps"][d],
                "gap_class": gap_class,
                "behaviours": behaviours,
            }
        )
    expand = (library or {}).get("expand", {})
    actions = [
        {
            "type": "expand",
            "contact_email": contact,
            "account_external_id": wave["contacts"][contact]["account"],
            "text": expand.get("text"),
            "behaviours": list(expand.get("behaviours", ())),
        }
        for contact in plan["expand"]
        if wave["contacts"][contact]["account"] == account
    ]
    return {
        "seller_email": email,
        "seller_name": wave["sellers"][email]["name"],
        "dimensions": dimensions,
        "actions": actions,
    }


def score_wave_naive(
    records: Records,
    settings: ScoringSettings = DEFAULT_SETTINGS,
    previous: Records | None = None,
    *,
    reverse_items: frozenset[str] = frozenset(),
    coaching_library: Mapping[str, Any] | None = None,
    with_accounts: bool = True,
    with_account_changes: bool = True,
    closed: bool = False,
) -> dict[str, Any]:
    """`{"results": <as wave_result_to_json>, "accounts": {external_id: <as account_to_json>}}`
    for a wave given as `{roster, buyer_responses, seller_responses}` records (`accounts`
    empty unless `with_accounts`; without `with_account_changes` the results' accounts carry
    no `changes`: 2,000 replicates per account in Python take minutes on a big wave)."""
    wave = _wave(records, settings, reverse_items)
    before = _wave(previous, settings, reverse_items) if previous is not None else None
    accounts, contacts, buyers, pairs = (
        wave["accounts"],
        wave["contacts"],
        wave["buyers"],
        wave["pairs"],
    )

    ri_answers = [
        (contacts[b["contact"]]["account"], b["relationship_index"])
        for b in buyers
        if b["relationship_index"] is not None
    ]
    ri_values = [value for _, value in ri_answers]
    nps_answers = []
    points = {"promoter": 100.0, "passive": 0.0, "detractor": -100.0}
    for b in buyers:
        if b["nps_category"] is not None:
            nps_answers.append((contacts[b["contact"]]["account"], points[b["nps_category"]]))
    nps_values = [value for _, value in nps_answers]

    def revenue_weighted(key: str) -> dict[str, Any]:
        total = weight = squares = largest = 0.0
        n = 0
        for account in accounts.values():
            if account[key] is None or account["revenue"] is None:
                continue
            total += account["revenue"] * account[key]
            weight += account["revenue"]
            squares += account["revenue"] ** 2
            largest = max(largest, account["revenue"])
            n += 1
        return {
            "value": total / weight if weight > 0 else None,
            "n_accounts": n,
            "low_n": n < settings.low_n,
            "n": n,
            "effective_n": weight**2 / squares if weight > 0 else None,
            "largest_share": largest / weight if weight > 0 else None,
        }

    def accounts_of(key: str) -> int:
        """Accounts with at least one buyer answer (a value of `key` that is not None)."""
        return len({contacts[b["contact"]]["account"] for b in buyers if b[key] is not None})

    levels = {name: 0 for name in LEVEL_NAMES}
    segments = {name: 0 for name in SEGMENTS}
    for b in buyers:
        levels[b["level"]] += 1
        if b["segment"] is not None:
            segments[b["segment"]] += 1
    account_levels = {name: 0 for name in LEVEL_NAMES}
    level_revenue = {name: 0.0 for name in LEVEL_NAMES}
    account_segments = {name: 0 for name in SEGMENTS}
    segment_revenue = {name: 0.0 for name in SEGMENTS}
    for account in accounts.values():
        account_levels[account["level"]] += 1
        level_revenue[account["level"]] += account["revenue"] or 0.0
        if account["segment"] is not None:
            account_segments[account["segment"]] += 1
            segment_revenue[account["segment"]] += account["revenue"] or 0.0

    dimensions = {}
    for d in DIMENSIONS:
        buyer_scores = [b["dimensions"][d] for b in buyers if b["dimensions"][d] is not None]
        seller_scores = [
            s["dimensions"][d] for s in wave["seller_responses"] if s["dimensions"][d] is not None
        ]
        gaps = [p["dimension_gaps"][d] for p in pairs if p["dimension_gaps"][d] is not None]
        classes = {c: 0 for c in GAP_CLASSES}
        for p in pairs:
            if p["dimension_gap_classes"][d] is not None:
                classes[p["dimension_gap_classes"][d]] += 1
        complete = []
        for b in buyers:
            row = [b["item_scores"][f"{d}.{i}"] for i in (1, 2, 3)]
            if all(v is not None for v in row):
                complete.append(row)
        alpha = None
        if settings.questionnaire == "pulse":  # one item per dimension: no alpha
            complete = []
            alpha_reason = "pulse wave: one item per dimension, so there is no alpha to estimate"
        elif len(complete) < max(settings.min_alpha_n, 2):
            alpha_reason = (
                f"fewer than {max(settings.min_alpha_n, 2)} buyer responses answered every item"
            )
        else:
            alpha_reason = "the answers did not vary enough to estimate alpha"
        if settings.questionnaire != "pulse" and len(complete) >= max(settings.min_alpha_n, 2):
            total_variance = _variance([sum(row) for row in complete])
            if total_variance > 0:
                item_variance = sum(_variance([row[i] for row in complete]) for i in range(3))
                alpha = 3 / 2 * (1.0 - item_variance / total_variance)
        alpha_ci95: list[float | None] = [None, None]
        if alpha is not None:
            n = len(complete)
            for side, q in enumerate((0.975, 0.025)):
                alpha_ci95[side] = 1 - (1 - alpha) * f_distribution.ppf(q, n - 1, (n - 1) * 2)
        dimensions[d] = {
            "buyer": _mean(buyer_scores),
            "seller": _mean(seller_scores),
            "gap": _mean(gaps),
            "alpha": alpha,
            "alpha_ci95": alpha_ci95,
            "classes": {c: (k / len(gaps) if gaps else None) for c, k in classes.items()},
            "n_buyer": len(buyer_scores),
            "n_seller": len(seller_scores),
            "n_pairs": len(gaps),
            "n_alpha": len(complete),
            "alpha_reason": None if alpha is not None else alpha_reason,
            "n": min(len(buyer_scores), len(seller_scores), len(gaps)),
            "low_n": min(len(buyer_scores), len(seller_scores), len(gaps)) < settings.low_n,
        }

    touchpoints = {}
    for tp in TOUCHPOINTS:
        scores = [b["touchpoints"][tp] for b in buyers if b["touchpoints"][tp] is not None]
        both = [
            (b["touchpoints"][tp], b["relationship_index"])
            for b in buyers
            if b["touchpoints"][tp] is not None and b["relationship_index"] is not None
        ]
        impact = None
        constant = len({x for x, _ in both}) < 2 or len({y for _, y in both}) < 2
        if len(both) >= max(settings.min_impact_n, 2) and not constant:
            impact = _pearson([x for x, _ in both], [y for _, y in both])
        impact_ci95: list[float | None] = [None, None]
        if impact is not None and len(both) > 3:
            if abs(impact) >= 1:
                impact_ci95 = [impact, impact]
            else:
                half = 1.96 / math.sqrt(len(both) - 3)
                impact_ci95 = [
                    math.tanh(math.atanh(impact) - half),
                    math.tanh(math.atanh(impact) + half),
                ]
        touchpoints[tp] = {
            "performance": _mean(scores),
            "impact": impact,
            "impact_ci95": impact_ci95,
            "quadrant": None,
            "n": len(scores),
            "n_impact": len(both),
            "low_n": len(scores) < settings.low_n,
        }
    rated = [tp for tp in TOUCHPOINTS if touchpoints[tp]["impact"] is not None]
    if rated:
        impact_median = _median([touchpoints[tp]["impact"] for tp in rated])
        performance_median = _median([touchpoints[tp]["performance"] for tp in rated])
        for tp in rated:
            high_impact = touchpoints[tp]["impact"] >= impact_median - TOLERANCE
            high_performance = touchpoints[tp]["performance"] >= performance_median - TOLERANCE
            if high_impact:
                touchpoints[tp]["quadrant"] = "protect" if high_performance else "fix_first"
            else:
                touchpoints[tp]["quadrant"] = "maintain" if high_performance else "monitor"

    moments = {tp: {tag: 0 for tag in MOMENT_TAGS} for tp in TOUCHPOINTS}
    competitors: dict[str, int] = {}
    for b in buyers:
        for moment in b["answers"].get("moments") or ():
            moments[moment["touchpoint"]][moment["tag"]] += 1
        name = b["answers"].get("competitor.name")
        if isinstance(name, str):
            normal = " ".join(name.casefold().split())
            if normal:
                competitors[normal] = competitors.get(normal, 0) + 1

    # section 6: r is alpha of the six dimensions over buyers with all six, else the default
    complete = [
        [b["dimensions"][d] for d in DIMENSIONS]
        for b in buyers
        if all(b["dimensions"][d] is not None for d in DIMENSIONS)
    ]
    reliability = settings.default_reliability
    if len(complete) >= max(settings.min_alpha_n, 2):
        total_variance = _variance([sum(row) for row in complete])
        if total_variance > 0:
            parts = sum(_variance([row[i] for row in complete]) for i in range(6))
            reliability = 6 / 5 * (1.0 - parts / total_variance)
    sd = math.sqrt(_variance(ri_values)) if len(ri_values) >= 2 else math.nan
    if sd < TOLERANCE:
        sd = 0.0  # every buyer's RI alike: float noise of their mean is no spread
    sem = sd * math.sqrt(0.0 if 1.0 - reliability < TOLERANCE else 1.0 - reliability)

    def change_index(delta: float | None) -> float | None:
        if delta is None or math.isnan(sem):
            return None
        if sem == 0:
            return None if delta == 0 else math.copysign(math.inf, delta)
        return delta / (math.sqrt(2) * sem)

    account_trends: dict[str, dict[str, Any] | None] = {}
    contact_trends: dict[str, dict[str, Any] | None] = {}
    alerts = []
    contacts_compared = accounts_compared = 0
    account_order = {external_id: i for i, external_id in enumerate(accounts)}
    contact_order = {email: i for i, email in enumerate(contacts)}
    for external_id, account in accounts.items():
        trend = None
        if before is not None and external_id in before["accounts"]:
            old = before["accounts"][external_id]
            trend = _trend(account, old, "ri", "level", "nps_category")
            accounts_compared += 1  # an account's own drop is in its trend: no alert (v2 s. 6)
        account_trends[external_id] = trend
    for email, contact in contacts.items():
        buyer = contact["buyer"]
        if buyer is not None and buyer["level"] == "antagonistic":
            alerts.append(
                (contact["account"], email, "antagonistic", None, buyer["relationship_index"])
            )
        if contact["role"] == "decision_maker" and contact["gap_class"] == "blind_spot":
            seller_ris = [
                s["relationship_index"]
                for s in contact["seller_responses"]
                if s["relationship_index"] is not None
            ]
            alerts.append(
                (
                    contact["account"],
                    email,
                    "decision_maker_blind_spot",
                    _mean(seller_ris),
                    buyer["relationship_index"],
                )
            )
        if closed and contact["role"] == "decision_maker" and buyer is None:
            alerts.append((contact["account"], email, "silent_decision_maker", None, None))
        trend = None
        reliable = False
        if before is not None and email in before["contacts"]:
            old = before["contacts"][email]["buyer"]
            trend = _trend(buyer, old, "relationship_index", "level", "nps_category")
            rci = change_index(trend["delta_ri"])
            trend["rci"] = rci if rci is not None and math.isfinite(rci) else None
            reliable = rci is not None and abs(rci) >= settings.reliable_change
            trend["reliable"] = None if trend["delta_ri"] is None else reliable
            if buyer is not None and old is not None:
                contacts_compared += 1
            if reliable and trend["level_change"] is not None and trend["level_change"] <= -1:
                alerts.append(
                    (contact["account"], email, "level_drop", old["level"], buyer["level"])
                )
            if reliable and trend["delta_ri"] <= -10 + TOLERANCE:
                alerts.append(
                    (
                        contact["account"],
                        email,
                        "ri_drop",
                        old["relationship_index"],
                        buyer["relationship_index"],
                    )
                )
            was = old["nps_category"] if old else None
            if (
                buyer is not None
                and buyer["nps_category"] == "detractor"
                and was in ("promoter", "passive")
            ):
                alerts.append((contact["account"], email, "became_detractor", was, "detractor"))
        contact_trends[email] = trend
    points = {"promoter": 100.0, "passive": 0.0, "detractor": -100.0, None: None}
    changes_of: dict[str, dict[str, list[tuple]]] = {a: {"ri": [], "nps": []} for a in accounts}
    for email, contact in contacts.items():
        trend = contact_trends[email]
        if trend is None:
            continue
        account, weight = contact["account"], contact["weight"]
        if trend["delta_ri"] is not None:
            changes_of[account]["ri"].append((email, trend["delta_ri"], weight))
        now_points = points[trend["nps_category"]["current"]]
        was_points = points[trend["nps_category"]["previous"]]
        if now_points is not None and was_points is not None:
            changes_of[account]["nps"].append((email, now_points - was_points, weight))

    def paired_change(answers: list[tuple], cluster_of: Any, clusters: str) -> dict[str, Any]:
        """A paired change: clusters drawn by `cluster_of(answer)`, weighted by the answer's."""
        drawn = [(cluster_of(a), a[1], a[2]) for a in answers]
        ci95 = _bootstrap(drawn, settings.bootstrap_samples, settings.bootstrap_seed)
        significant = None
        if ci95[0] is not None:
            significant = ci95[0] > TOLERANCE or ci95[1] < -TOLERANCE
        return {
            "value": _weighted_mean([(w, v) for _, v, w in drawn]),
            "ci95": ci95,
            "significant": significant,
            "n": len(answers),
            clusters: len({c for c, _, _ in drawn}),
            "low_n": len(answers) < settings.low_n,
        }

    def wave_change(key: str) -> dict[str, Any]:
        """Over every account's contacts, unweighted, drawing accounts."""
        answers = [
            (contacts[e]["account"], d, 1.0) for a in accounts for e, d, _ in changes_of[a][key]
        ]
        return paired_change(answers, lambda answer: answer[0], "n_accounts")

    alerts.sort(
        key=lambda a: (
            account_order[a[0]],
            -1 if a[1] is None else contact_order[a[1]],
            ALERT_REASONS.index(a[2]),
        )
    )

    account_changes = {
        external_id: None
        if before is None or not (with_accounts or with_account_changes)
        else {
            f"delta_{key}": paired_change(
                changes_of[external_id][key], lambda answer: answer[0], "n_contacts"
            )
            for key in ("ri", "nps")
        }
        for external_id in accounts
    }
    summaries = {
        external_id: {
            **_account_summary(account, settings, account_trends[external_id]),
            **({"changes": account_changes[external_id]} if with_account_changes else {}),
        }
        for external_id, account in accounts.items()
    }
    ranked = sorted(
        accounts.values(),
        key=lambda a: (a["priority"] is None, -(a["priority"] or 0.0)),
    )
    results = {
        "wave_id": None,
        "status": None,
        "final": None,
        "n_buyers": len(buyers),
        "n_sellers": len(wave["seller_responses"]),
        "relationship_index": {
            "value": _mean(ri_values),
            "ci95": _bootstrap(ri_answers, settings.bootstrap_samples, settings.bootstrap_seed),
            "n": len(ri_values),
            "n_accounts": accounts_of("relationship_index"),
            "low_n": len(ri_values) < settings.low_n
            or accounts_of("relationship_index") < settings.min_interval_accounts,
            "revenue_weighted": revenue_weighted("ri"),
        },
        "nps": {
            "value": _mean(nps_values),
            "ci95": _bootstrap(nps_answers, settings.bootstrap_samples, settings.bootstrap_seed),
            "n": len(nps_values),
            "n_accounts": accounts_of("nps_category"),
            "low_n": len(nps_values) < settings.low_n
            or accounts_of("nps_category") < settings.min_interval_accounts,
        },
        "nps_revenue_weighted": revenue_weighted("nps"),
        "levels": dict(levels),
        "segments": dict(segments),
        "distributions": {
            "levels": {
                "contacts": dict(levels),
                "accounts": account_levels,
                "revenue": level_revenue,
            },
            "segments": {
                "contacts": dict(segments),
                "accounts": account_segments,
                "revenue": segment_revenue,
            },
        },
        "dimensions": dimensions,
        "touchpoints": touchpoints,
        "moments": moments,
        "competitors": [
            {"name": k, "count": v}
            for k, v in sorted(competitors.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "revenue_at_risk": sum(
            a["revenue_at_risk"] for a in accounts.values() if a["revenue_at_risk"] is not None
        ),
        "accounts_without_revenue": sum(a["revenue"] is None for a in accounts.values()),
        "accounts": [summaries[a["external_id"]] for a in ranked],
        "trends": None
        if before is None
        else {
            "contacts_compared": contacts_compared,
            "accounts_compared": accounts_compared,
            "reliability": reliability,
            "sem": None if math.isnan(sem) else sem,
            "delta_ri": wave_change("ri"),
            "delta_nps": wave_change("nps"),
        },
        "alerts": [
            {
                "reason": reason,
                "account_external_id": a,
                "contact_key": c,
                "previous": was,
                "current": now,
            }
            for a, c, reason, was, now in alerts
        ],
    }

    sellers = []
    for email, seller in wave["sellers"].items():
        accuracy, n_pairs = _seller_accuracy(seller)
        change = None
        if before is not None and email in before["sellers"]:
            old, _ = _seller_accuracy(before["sellers"][email])
            change = None if accuracy is None or old is None else accuracy - old
        sellers.append(
            {
                "email": email,
                "name": seller["name"],
                "accuracy": accuracy,
                "n_pairs": n_pairs,
                "n": n_pairs,
                "low_n": n_pairs < settings.low_n,
                "accuracy_change": change,
            }
        )
    results["sellers"] = sellers

    if not with_accounts:
        return {"results": results, "accounts": {}}
    plans = _coaching_plans(wave, settings)
    moments_of: dict[str, list[dict[str, Any]]] = {external_id: [] for external_id in accounts}
    for b in buyers:
        for moment in b["answers"].get("moments") or ():
            moments_of[contacts[b["contact"]]["account"]].append(
                {
                    "contact_email": b["contact"],
                    "touchpoint": moment["touchpoint"],
                    "tag": moment["tag"],
                    "text": moment.get("text") or "",
                }
            )
    sellers_of: dict[str, list[str]] = {external_id: [] for external_id in accounts}
    for pair in pairs:
        answered = sellers_of[contacts[pair["contact"]]["account"]]
        if pair["seller"] not in answered:
            answered.append(pair["seller"])
    details = {}
    for external_id, account in accounts.items():
        contact_documents = []
        for email in account["contacts"]:
            contact = contacts[email]
            buyer = contact["buyer"]
            contact_documents.append(
                {
                    "email": email,
                    "name": contact["name"],
                    "role": contact["role"],
                    "responded": buyer is not None,
                    "relationship_index": buyer["relationship_index"] if buyer else None,
                    "level": buyer["level"] if buyer else None,
                    "segment": buyer["segment"] if buyer else None,
                    "nps_category": buyer["nps_category"] if buyer else None,
                    "satisfaction_trap": buyer["satisfaction_trap"] if buyer else None,
                    "competitive_index": buyer["competitive_index"] if buyer else None,
                    "gap": contact["gap"],
                    "gap_class": contact["gap_class"],
                    "nps_gap": contact["nps_gap"],
                    "n_seller_responses": len(contact["seller_responses"]),
                    "dimensions": {
                        d: {
                            "buyer": buyer["dimensions"][d] if buyer else None,
                            "seller": contact["seller_dimensions"][d],
                            "gap": contact["dimension_gaps"][d],
                            "gap_class": _gap_class(
                                contact["dimension_gaps"][d], settings.gap_threshold
                            ),
                        }
                        for d in DIMENSIONS
                    },
                    "trend": contact_trends[email],
                    "comments": None
                    if buyer is None
                    else {
                        kind: text if isinstance(text, str) and text else None
                        for kind in ("start", "stop", "continue")
                        for text in [buyer["answers"].get(f"comment.{kind}")]
                    },
                }
            )
        details[external_id] = {
            **summaries[external_id],
            "dimensions": {
                d: {"buyer": account["dimensions"][d], "gap": account["dimension_gaps"][d]}
                for d in DIMENSIONS
            },
            "contacts": contact_documents,
            "moments": moments_of[external_id],
            "coaching": [
                _plan_json(wave, email, plans[email], settings, coaching_library, external_id)
                for email in sellers_of[external_id]
            ],
            "changes": account_changes[external_id],
        }
    return {"results": results, "accounts": details}


__all__ = ["ROLES", "score_answers", "score_wave_naive"]


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two JSON documents differ beyond float noise (relative 1e-9): how the engine's
    results are checked equal to this reference (tests and benchmarks)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} != {len(b)} items"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{i}]")
        ]
    numbers = (int, float)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return [] if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) else [f"{path}: {a} != {b}"]
    return [] if a == b and type(a) is type(b) else [f"{path}: {a!r} != {b!r}"]
