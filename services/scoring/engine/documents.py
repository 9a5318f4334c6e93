"""The JSON documents of API.md built from a scored wave: one response's scores, the wave's
`/results`, an account's `/accounts/{external_id}` and a seller's coaching plan."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from services.scoring.engine import json_values as js
from services.scoring.engine.plan_documents import plans_json, seller_plan_to_json, sellers_json
from services.scoring.engine.responses import ResponseScores
from services.scoring.engine.settings import PULSE_ALPHA_REASON, ScoringSettings
from services.scoring.engine.summaries import Distribution, Estimate, RevenueWeighted
from services.scoring.engine.trends import Change
from services.scoring.engine.vocabulary import (
    DIMENSION_ITEMS,
    DIMENSIONS,
    GAP_CLASSES,
    LEVEL_NAMES,
    MOMENT_TAGS,
    NPS_CATEGORIES,
    ROLES,
    SEGMENTS,
    TOLERANCE,
    TOUCHPOINTS,
)
from services.scoring.engine.wave import WaveResult


def response_scores_to_json(scores: ResponseScores, row: int) -> dict[str, Any]:
    """The scores of one response (row `row` of `scores`) as plain JSON."""
    return {
        "item_scores": dict(zip(DIMENSION_ITEMS, js.numbers(scores.item_scores[row]), strict=True)),
        "dimensions": dict(zip(DIMENSIONS, js.numbers(scores.dimensions[row]), strict=True)),
        "relationship_index": js.number(scores.relationship_index[row]),
        "level": LEVEL_NAMES[int(scores.level[row])],
        "nps_category": js.name(NPS_CATEGORIES, int(scores.nps_category[row])),
        "segment": js.name(SEGMENTS, int(scores.segment[row])),
        "satisfaction_trap": bool(scores.satisfaction_trap[row]),
        "competitive_index": js.number(scores.competitive_index[row]),
        "touchpoints": dict(
            zip(TOUCHPOINTS, js.numbers(scores.touchpoint_scores[row]), strict=True)
        ),
        "recommend": js.number(scores.recommend[row]),
    }


def _low_n(n: int, settings: ScoringSettings) -> bool:
    return n < settings.low_n


def _estimate_json(estimate: Estimate, settings: ScoringSettings) -> dict[str, Any]:
    """A wave figure: low_n under min_n answers or, for its interval, under
    min_interval_accounts accounts."""
    few_accounts = estimate.n_accounts < settings.min_interval_accounts
    return {
        "value": js.number(estimate.value),
        "ci95": [js.number(estimate.low), js.number(estimate.high)],
        "n": estimate.n,
        "n_accounts": estimate.n_accounts,
        "low_n": _low_n(estimate.n, settings) or few_accounts,
    }


def _change_json(change: Change, settings: ScoringSettings, clusters: str) -> dict[str, Any]:
    """A paired change: value, interval, `significant` when it excludes 0, and its n."""
    return {
        "value": js.number(change.value),
        "ci95": [js.number(change.low), js.number(change.high)],
        "significant": change.significant,
        "n": change.n,
        clusters: change.n_clusters,
        "low_n": _low_n(change.n, settings),
    }


def _weighted_json(estimate: RevenueWeighted, settings: ScoringSettings) -> dict[str, Any]:
    return {
        "value": js.number(estimate.value),
        "n_accounts": estimate.n,
        "low_n": _low_n(estimate.n, settings),
        "n": estimate.n,
        "effective_n": js.number(estimate.effective_n),
        "largest_share": js.number(estimate.largest_share),
    }


def _trends_json(
    result: WaveResult, positions: np.ndarray, *, of: str
) -> list[dict[str, Any] | None]:
    """The trend of each account (`of="account"`) or contact (`of="contact"`) at `positions`,
    None where it has no previous wave (or there is no previous wave), built column by column."""
    trends = result.trends
    if trends is None:
        return [None] * len(positions)
    if of == "contact":
        previous, delta = trends.contact_previous, trends.contact_delta_ri
        change, before = trends.contact_level_change, trends.contact_previous_nps_category
        now = result.contacts.nps_category
    else:
        previous, delta = trends.account_previous, trends.account_delta_ri
        change, before = trends.account_level_change, trends.account_previous_nps_category
        now = result.accounts.nps_category
    changes = change[positions]
    columns = zip(
        (previous[positions] >= 0).tolist(),
        js.plain_numbers(delta[positions]),
        [None if c != c else int(c) for c in changes.tolist()],
        js.names(NPS_CATEGORIES, before[positions]),
        js.names(NPS_CATEGORIES, now[positions]),
        strict=True,
    )
    documents = [
        {
            "delta_ri": delta_ri,
            "level_change": level_change,
            "nps_category": {"previous": was, "current": is_now},
        }
        if compared
        else None
        for compared, delta_ri, level_change, was, is_now in columns
    ]
    if of == "contact":  # a contact's change with its reliable change index (section 6)
        rci = js.plain_numbers(trends.contact_rci[positions])
        reliable = trends.contact_reliable[positions].tolist()
        for document, index, is_reliable in zip(documents, rci, reliable, strict=True):
            if document is not None:
                document["rci"] = index
                document["reliable"] = None if document["delta_ri"] is None else is_reliable
    return documents


def _account_columns(result: WaveResult, order: np.ndarray) -> list[list[Any]]:
    """The columns of the accounts' summaries in `order`, in the documents' key order (the
    low_n flags too: one numpy comparison per column, not a call per account)."""
    accounts, wave, low_n = result.accounts, result.wave, result.settings.low_n
    n_ri, n_nps, n_pairs = accounts.n_ri[order], accounts.n_nps[order], accounts.n_pairs[order]
    return [
        list(map(str, wave.account_external_id[order].tolist())),
        list(map(str, wave.account_name[order].tolist())),
        js.plain_numbers(wave.account_revenue[order]),
        js.plain_numbers(accounts.relationship_index[order]),
        [LEVEL_NAMES[c] for c in accounts.level[order].tolist()],
        js.plain_numbers(accounts.nps[order]),
        js.plain_numbers(accounts.nps_unweighted[order]),
        js.plain_numbers(accounts.gap[order]),
        js.names(GAP_CLASSES, accounts.gap_class[order]),
        js.names(SEGMENTS, accounts.segment[order]),
        accounts.n_buyers[order].astype(np.int64).tolist(),
        # the account's RI and NPS each rest on their own answers, its gap on its pairs
        (np.minimum(n_ri, n_nps) < low_n).tolist(),
        n_ri.tolist(),
        n_nps.tolist(),
        n_pairs.tolist(),
        (n_ri < low_n).tolist(),
        (n_nps < low_n).tolist(),
        (n_pairs < low_n).tolist(),
        js.plain_numbers(accounts.priority[order]),
        js.plain_numbers(accounts.revenue_at_risk[order]),
        _trends_json(result, order, of="account"),
        _changes_json(result, order),
        plans_json(result, order),
    ]


def _changes_json(result: WaveResult, order: np.ndarray) -> list[dict[str, Any] | None]:
    """Each account's paired ΔRI and ΔNPS in `order` as the account view's `changes` gives
    them (None each without a previous wave), column by column."""
    if result.account_change_columns is None:
        return [None] * order.size
    low_n = result.settings.low_n
    parts = []
    for change in result.account_change_columns:
        low, high, n = change.low[order], change.high[order], change.n[order]
        unknown = (np.isnan(low) | np.isnan(high)).tolist()
        # as Change.significant: an end within float noise of 0 does not exclude it
        excludes = ((low > TOLERANCE) | (high < -TOLERANCE)).tolist()
        parts.append(
            [
                {
                    "value": value,
                    "ci95": [lo, hi],
                    "significant": None if no_interval else significant,
                    "n": count,
                    "n_contacts": count,
                    "low_n": few,
                }
                for value, lo, hi, no_interval, significant, count, few in zip(
                    js.plain_numbers(change.value[order]),
                    js.plain_numbers(low),
                    js.plain_numbers(high),
                    unknown,
                    excludes,
                    n.tolist(),
                    (n < low_n).tolist(),
                    strict=True,
                )
            ]
        )
    return [{"delta_ri": ri, "delta_nps": nps} for ri, nps in zip(*parts, strict=True)]


def _account_summaries_json(result: WaveResult, order: np.ndarray) -> list[dict[str, Any]]:
    """The results' summary of every account in `order`, built column by column."""
    return [
        {
            "external_id": external_id,
            "name": name,
            "annual_revenue": revenue,
            "relationship_index": ri,
            "level": level,
            "nps": nps,
            "nps_unweighted": nps_unweighted,
            "gap": gap,
            "gap_class": gap_class,
            "segment": segment,
            "n_buyers": n_buyers,
            "low_n": low,
            "n_ri": ri_count,
            "n_nps": nps_count,
            "n_pairs": pairs_count,
            "ri_low_n": ri_low,
            "nps_low_n": nps_low,
            "gap_low_n": gap_low,
            "priority": priority,
            "revenue_at_risk": at_risk,
            "trend": trend,
            "changes": changes,
            "plan": plan,
        }
        for (
            external_id,
            name,
            revenue,
            ri,
            level,
            nps,
            nps_unweighted,
            gap,
            gap_class,
            segment,
            n_buyers,
            low,
            ri_count,
            nps_count,
            pairs_count,
            ri_low,
            nps_low,
            gap_low,
            priority,
            at_risk,
            trend,
            changes,
            plan,
        ) in zip(*_account_columns(result, order), strict=True)
    ]


def _alerts_json(result: WaveResult) -> list[dict[str, Any]]:
    """Every alert trigger as JSON, built column by column."""
    columns = result.alert_columns
    return [
        {
            "reason": reason,
            "account_external_id": account,
            "contact_key": contact,
            "previous": previous,
            "current": current,
        }
        for reason, account, contact, previous, current in zip(
            columns.reason,
            columns.account_external_id,
            columns.contact_key,
            columns.previous,
            columns.current,
            strict=True,
        )
    ]


def alpha_reason(alpha: float, n_alpha: int, settings: ScoringSettings) -> str | None:
    """Why a dimension's alpha is null (None when it has one)."""
    if settings.pulse:
        return PULSE_ALPHA_REASON
    if math.isfinite(alpha):
        return None
    if n_alpha < max(settings.min_alpha_n, 2):
        return f"fewer than {max(settings.min_alpha_n, 2)} buyer responses answered every item"
    return "the answers did not vary enough to estimate alpha"


def _dimensions_json(result: WaveResult) -> dict[str, dict[str, Any]]:
    """Section 5 per dimension: buyer and seller means, gap, class shares, alpha and their n."""
    settings = result.settings
    return {
        name: {
            "buyer": js.number(s.buyer),
            "seller": js.number(s.seller),
            "gap": js.number(s.gap),
            "alpha": js.number(s.alpha),
            "alpha_ci95": [js.number(s.alpha_low), js.number(s.alpha_high)],
            "classes": {k: js.number(v) for k, v in s.classes.items()},
            "n_buyer": s.n_buyer,
            "n_seller": s.n_seller,
            "n_pairs": s.n_pairs,
            "n_alpha": s.n_alpha,
            "alpha_reason": alpha_reason(s.alpha, s.n_alpha, settings),
            # a dimension's summary rests on buyers, sellers and pairs: the smallest decides
            "n": min(s.n_buyer, s.n_seller, s.n_pairs),
            "low_n": _low_n(min(s.n_buyer, s.n_seller, s.n_pairs), settings),
        }
        for name, s in result.dimensions.items()
    }


def _touchpoints_json(result: WaveResult) -> dict[str, dict[str, Any]]:
    """Section 5 per touchpoint: performance, impact on RI, quadrant and their n."""
    settings = result.settings
    return {
        name: {
            "performance": js.number(t.performance),
            "impact": js.number(t.impact),
            "impact_ci95": [js.number(t.impact_low), js.number(t.impact_high)],
            "quadrant": t.quadrant,
            "n": t.n,
            "n_impact": t.n_impact,
            "low_n": _low_n(t.n, settings),
        }
        for name, t in result.touchpoints.items()
    }


def _distribution_json(distribution: Distribution) -> dict[str, dict[str, Any]]:
    return {
        "contacts": dict(distribution.contacts),
        "accounts": dict(distribution.accounts),
        "revenue": dict(distribution.revenue),
    }


def wave_result_to_json(
    result: WaveResult,
    *,
    wave_id: str | None = None,
    status: str | None = None,
    final: bool | None = None,
) -> dict[str, Any]:
    """The API.md `/results` document of a scored wave (accounts ranked by priority)."""
    with js.collector_paused():  # thousands of acyclic dicts: no garbage for it to find
        return _results_document(result, wave_id, status, final)


def _results_document(
    result: WaveResult, wave_id: str | None, status: str | None, final: bool | None
) -> dict[str, Any]:
    settings = result.settings
    accounts = _account_summaries_json(result, result.account_ranking)
    trends = result.trends
    return {
        "wave_id": wave_id,
        "status": status,
        "final": final,
        "n_buyers": result.wave.n_buyers,
        "n_sellers": result.wave.n_seller_responses,
        "relationship_index": {
            **_estimate_json(result.relationship_index, settings),
            "revenue_weighted": _weighted_json(
                result.relationship_index_revenue_weighted, settings
            ),
        },
        "nps": _estimate_json(result.nps, settings),
        "nps_revenue_weighted": _weighted_json(result.nps_revenue_weighted, settings),
        "levels": dict(result.levels.contacts),
        "segments": dict(result.segments.contacts),
        "distributions": {
            "levels": _distribution_json(result.levels),
            "segments": _distribution_json(result.segments),
        },
        "dimensions": _dimensions_json(result),
        "touchpoints": _touchpoints_json(result),
        "moments": {tp: dict(tags) for tp, tags in result.moment_counts.items()},
        "competitors": [{"name": k, "count": v} for k, v in result.competitors.items()],
        "revenue_at_risk": result.revenue_at_risk,
        "accounts_without_revenue": result.accounts_without_revenue,
        "accounts": accounts,
        "trends": None
        if trends is None
        else {
            "contacts_compared": trends.contacts_compared,
            "accounts_compared": trends.accounts_compared,
            "reliability": js.number(trends.reliability),
            "sem": js.number(trends.sem),
            "delta_ri": _change_json(trends.delta_ri, settings, "n_accounts"),
            "delta_nps": _change_json(trends.delta_nps, settings, "n_accounts"),
        },
        "alerts": _alerts_json(result),
        "sellers": sellers_json(result),
    }


def _contact_json(result: WaveResult, c: int) -> dict[str, Any]:
    contacts, wave = result.contacts, result.wave
    responded = bool(contacts.buyer_row[c] >= 0)
    rows = zip(
        DIMENSIONS,
        js.numbers(contacts.dimensions[c]),
        js.numbers(contacts.seller_dimensions[c]),
        js.numbers(contacts.dimension_gaps[c]),
        contacts.dimension_gap_classes[c].tolist(),
        strict=True,
    )
    dimensions = {
        name: {"buyer": buyer, "seller": seller, "gap": gap, "gap_class": js.name(GAP_CLASSES, k)}
        for name, buyer, seller, gap, k in rows
    }
    level = int(contacts.level[c])
    return {
        "email": str(wave.contact_email[c]),
        "name": str(wave.contact_name[c]),
        "role": ROLES[int(wave.contact_role[c])],
        "responded": responded,
        "relationship_index": js.number(contacts.relationship_index[c]),
        "level": LEVEL_NAMES[level] if level >= 0 else None,
        "segment": js.name(SEGMENTS, int(contacts.segment[c])),
        "nps_category": js.name(NPS_CATEGORIES, int(contacts.nps_category[c])),
        "satisfaction_trap": bool(contacts.satisfaction_trap[c]) if responded else None,
        "competitive_index": js.number(contacts.competitive_index[c]),
        "gap": js.number(contacts.gap[c]),
        "gap_class": js.name(GAP_CLASSES, int(contacts.gap_class[c])),
        "nps_gap": js.number(contacts.nps_gap[c]),
        "n_seller_responses": int(contacts.n_seller_responses[c]),
        "dimensions": dimensions,
        "trend": _trends_json(result, np.array([c], dtype=np.intp), of="contact")[0],
        # open answers verbatim (section 8): the account team must know who said what
        "comments": dict(wave.buyer_comments[contacts.buyer_row[c]]) if responded else None,
    }


def account_to_json(
    result: WaveResult,
    external_id: str,
    *,
    coaching_library: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The API.md `/accounts/{external_id}` document: the account, its contacts, moments and
    the coaching of each seller who answered about its contacts (UnknownAccount if absent)."""
    a = result.account_position(external_id)
    wave = result.wave
    (summary,) = _account_summaries_json(result, np.array([a], dtype=np.intp))
    contact_rows = result.rows_of("contacts_by_account", a)
    moment_rows = result.rows_of("moments_by_account", a)
    moments = [
        {
            "contact_email": str(wave.contact_email[wave.buyer_contact[wave.moment_buyer[m]]]),
            "touchpoint": TOUCHPOINTS[int(wave.moment_touchpoint[m])],
            "tag": MOMENT_TAGS[int(wave.moment_tag[m])],
            "text": wave.moment_text[m],
        }
        for m in moment_rows.tolist()
    ]
    sellers = result.pairs.seller[result.rows_of("pairs_by_account", a)]
    seller_order = list(dict.fromkeys(sellers.tolist()))  # first answered, first shown
    return {
        **summary,
        "dimensions": {
            name: {
                "buyer": js.number(result.accounts.dimensions[a, d]),
                "gap": js.number(result.accounts.dimension_gaps[a, d]),
            }
            for d, name in enumerate(DIMENSIONS)
        },
        "contacts": [_contact_json(result, c) for c in contact_rows.tolist()],
        "moments": moments,
        "coaching": [
            seller_plan_to_json(result, s, coaching_library=coaching_library, account=a)
            for s in seller_order
        ],
        "changes": _account_changes_json(result, a),
    }


def comments_to_json(result: WaveResult) -> list[dict[str, Any]]:
    """Every open answer of the wave verbatim with who gave it (SCORING.md section 8), in buyer
    response order: comments (`kind` start, stop or continue), then critical moments' texts."""
    wave = result.wave
    contact_of = wave.buyer_contact.tolist()

    def who(row: int) -> dict[str, Any]:
        c = contact_of[row]
        a = int(wave.contact_account[c])
        return {
            "account_external_id": str(wave.account_external_id[a]),
            "account_name": str(wave.account_name[a]),
            "contact_email": str(wave.contact_email[c]),
            "contact_name": str(wave.contact_name[c]),
            "role": ROLES[int(wave.contact_role[c])],
        }

    comments = [
        {**who(row), "kind": kind, "touchpoint": None, "tag": None, "text": text}
        for row, texts in enumerate(wave.buyer_comments)  # over texts, not scores
        for kind, text in texts.items()
        if text is not None
    ]
    moments = [
        {
            **who(row),
            "kind": "moment",
            "touchpoint": TOUCHPOINTS[touchpoint],
            "tag": MOMENT_TAGS[tag],
            "text": text,
        }
        for row, touchpoint, tag, text in zip(
            wave.moment_buyer.tolist(),
            wave.moment_touchpoint.tolist(),
            wave.moment_tag.tolist(),
            wave.moment_text,
            strict=True,
        )
        if text
    ]
    return comments + moments


def _account_changes_json(result: WaveResult, a: int) -> dict[str, Any] | None:
    """The account's paired ΔRI and ΔNPS over its contacts in both waves (section 6)."""
    changes = result.account_changes(a)
    if changes is None:
        return None
    delta_ri, delta_nps = changes
    return {
        "delta_ri": _change_json(delta_ri, result.settings, "n_contacts"),
        "delta_nps": _change_json(delta_nps, result.settings, "n_contacts"),
    }
