"""SCORING.md section 5: the wave's figures (estimates, distributions, dimensions, touchpoints,
competitors), from the scores of its responses, pairs and accounts."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import f as f_distribution

from services.scoring.engine.responses import ResponseScores
from services.scoring.engine.settings import ScoringSettings
from services.scoring.engine.structure import Structure
from services.scoring.engine.vocabulary import (
    DETRACTOR,
    DIMENSIONS,
    FIX_FIRST,
    GAP_CLASSES,
    ITEMS_PER_DIMENSION,
    MAINTAIN,
    MONITOR,
    PASSIVE,
    PROMOTER,
    PROTECT,
    TOLERANCE,
    TOUCHPOINTS,
)


@dataclass(frozen=True)
class Estimate:
    """A wave figure with its 95% interval (NaN when not bootstrapped), the n behind it and
    the accounts those n answers come from."""

    value: float
    low: float
    high: float
    n: int
    n_accounts: int = 0


@dataclass(frozen=True)
class RevenueWeighted:
    """A revenue-weighted mean over accounts: the accounts used (n), Kish's effective number
    of accounts `(sum rev)^2 / sum rev^2` and the largest account's share of the revenue."""

    value: float
    n: int
    effective_n: float
    largest_share: float


@dataclass(frozen=True)
class Distribution:
    """How many contacts (buyer responses) and accounts fall in each class, and their revenue."""

    contacts: dict[str, int]
    accounts: dict[str, int]
    revenue: dict[str, float]


@dataclass(frozen=True)
class DimensionSummary:
    """Section 5 per dimension: buyer and seller means, mean gap, class shares and alpha."""

    buyer: float
    n_buyer: int
    seller: float
    n_seller: int
    gap: float
    n_pairs: int  # pairs whose gap on this dimension is not NaN
    classes: dict[str, float]  # share of those pairs in each gap class
    alpha: float
    n_alpha: int  # buyer responses with every item of the dimension answered
    alpha_low: float = math.nan  # Feldt's 95% interval
    alpha_high: float = math.nan


@dataclass(frozen=True)
class TouchpointSummary:
    """Section 5 per touchpoint: performance, impact on RI and quadrant."""

    performance: float
    n: int
    impact: float
    n_impact: int
    quadrant: str | None
    impact_low: float = math.nan  # Fisher's 95% interval
    impact_high: float = math.nan


def nps_points(category: np.ndarray) -> np.ndarray:
    """Per response: 100 promoter, 0 passive, -100 detractor, NaN unanswered; the NPS is their mean."""
    return np.select(
        [category == PROMOTER, category == PASSIVE, category == DETRACTOR],
        [100.0, 0.0, -100.0],
        np.nan,
    )


def mean_and_count(values: np.ndarray) -> tuple[float, int]:
    """The mean of the non-NaN values (NaN without any) and how many there are."""
    valid = values[~np.isnan(values)]
    return (float(valid.mean()) if valid.size else math.nan), int(valid.size)


def accounts_answered(values: np.ndarray, account: np.ndarray, n_accounts: int) -> int:
    """How many accounts have at least one non-NaN value (`account` the account of each value)."""
    return int(np.count_nonzero(np.bincount(account[~np.isnan(values)], minlength=n_accounts)))


def revenue_weighted(values: np.ndarray, revenue: np.ndarray) -> RevenueWeighted:
    """The revenue-weighted mean over the accounts with a value and a known revenue, with how
    many accounts, the effective n and the largest share of that revenue."""
    valid = ~np.isnan(values) & ~np.isnan(revenue)
    used = revenue[valid]
    total = float(used.sum())
    if total <= 0:
        return RevenueWeighted(math.nan, int(valid.sum()), math.nan, math.nan)
    return RevenueWeighted(
        value=float((used * values[valid]).sum() / total),
        n=int(valid.sum()),
        effective_n=total * total / float((used * used).sum()),
        largest_share=float(used.max()) / total,
    )


def _counts(codes: np.ndarray, names: tuple[str, ...]) -> dict[str, int]:
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    return dict(zip(names, counts.tolist(), strict=True))


def distribution(
    contact_codes: np.ndarray,
    account_codes: np.ndarray,
    revenue: np.ndarray,
    names: tuple[str, ...],
) -> Distribution:
    """How many contacts and accounts fall in each class of `names`, and the accounts' revenue."""
    known = account_codes >= 0
    money = np.bincount(
        account_codes[known], weights=np.nan_to_num(revenue[known]), minlength=len(names)
    )
    return Distribution(
        contacts=_counts(contact_codes, names),
        accounts=_counts(account_codes, names),
        revenue=dict(zip(names, money.tolist(), strict=True)),
    )


def cronbach_alpha(items: np.ndarray, minimum: int = 10) -> tuple[float, int]:
    """Cronbach's alpha (ddof 1) over the rows with every item answered, and that n; NaN under `minimum`."""
    k = items.shape[1]
    columns = [items[:, j] for j in range(k)]  # over items
    complete = ~np.isnan(columns[0])
    for column in columns[1:]:
        complete &= ~np.isnan(column)
    n = int(complete.sum())
    if n < max(minimum, 2) or k < 2:
        return math.nan, n
    answered = [column[complete] for column in columns]
    total_variance = float(sum(answered[1:], answered[0]).var(ddof=1))
    if total_variance == 0:
        return math.nan, n
    item_variance = sum(float(column.var(ddof=1)) for column in answered)
    return float(k / (k - 1) * (1.0 - item_variance / total_variance)), n


_Z95 = 1.96


def feldt_interval(alpha: float, n: int, k: int) -> tuple[float, float]:
    """Feldt's 95% interval of Cronbach's alpha over n responses to k items:
    `1 - (1 - alpha) * F(q, n - 1, (n - 1)(k - 1))` at q = 0.975 (low) and 0.025 (high)."""
    if not math.isfinite(alpha) or n < 2 or k < 2:
        return math.nan, math.nan
    low_q, high_q = f_distribution.ppf([0.975, 0.025], n - 1, (n - 1) * (k - 1))
    return 1.0 - (1.0 - alpha) * float(low_q), 1.0 - (1.0 - alpha) * float(high_q)


def fisher_interval(r: float, n: int) -> tuple[float, float]:
    """Fisher's z 95% interval of a correlation over n pairs: tanh(atanh(r) -+ 1.96 / sqrt(n - 3))."""
    if not math.isfinite(r) or n <= 3:
        return math.nan, math.nan
    if abs(r) >= 1.0:
        return r, r  # atanh(+-1) is infinite: the interval is the point
    z, half = math.atanh(r), _Z95 / math.sqrt(n - 3)
    return math.tanh(z - half), math.tanh(z + half)


def pearson(x: np.ndarray, y: np.ndarray, minimum: int = 10) -> tuple[float, int]:
    """Pearson correlation over the rows where both are answered, and that n; NaN under `minimum`."""
    both = ~np.isnan(x) & ~np.isnan(y)
    n = int(both.sum())
    if n < max(minimum, 2):
        return math.nan, n
    xs, ys = x[both], y[both]
    if xs.min() == xs.max() or ys.min() == ys.max():
        return math.nan, n  # a constant has no correlation (its float mean may be off by an ulp)
    dx = xs - xs.mean()
    dy = ys - ys.mean()
    denominator = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    return (float((dx * dy).sum()) / denominator if denominator > 0 else math.nan), n


def dimension_summaries(
    structure: Structure, settings: ScoringSettings
) -> dict[str, DimensionSummary]:
    """Section 5 per dimension: buyer and seller means, mean gap, gap class shares and alpha."""
    buyers, sellers, pairs = structure.buyers, structure.sellers, structure.pairs
    summaries = {}
    for d, dimension in enumerate(DIMENSIONS):
        buyer, n_buyer = mean_and_count(buyers.dimensions[:, d])
        seller, n_seller = mean_and_count(sellers.dimensions[:, d])
        gap, n_pairs = mean_and_count(pairs.dimension_gaps[:, d])
        classes = pairs.dimension_gap_classes[:, d]
        counts = np.bincount(classes[classes >= 0], minlength=len(GAP_CLASSES))
        shares = (counts / n_pairs).tolist() if n_pairs else [math.nan] * len(GAP_CLASSES)
        columns = slice(d * ITEMS_PER_DIMENSION, (d + 1) * ITEMS_PER_DIMENSION)
        if settings.pulse:  # one item per dimension: alpha does not exist
            alpha, n_alpha = math.nan, 0
        else:
            alpha, n_alpha = cronbach_alpha(buyers.item_scores[:, columns], settings.min_alpha_n)
        alpha_low, alpha_high = feldt_interval(alpha, n_alpha, ITEMS_PER_DIMENSION)
        summaries[dimension] = DimensionSummary(
            buyer=buyer,
            n_buyer=n_buyer,
            seller=seller,
            n_seller=n_seller,
            gap=gap,
            n_pairs=n_pairs,
            classes=dict(zip(GAP_CLASSES, shares, strict=True)),
            alpha=alpha,
            n_alpha=n_alpha,
            alpha_low=alpha_low,
            alpha_high=alpha_high,
        )
    return summaries


def touchpoint_summaries(
    buyers: ResponseScores, settings: ScoringSettings
) -> dict[str, TouchpointSummary]:
    """Section 5 per touchpoint: performance, impact (Pearson r with RI) and quadrant."""
    performance, n, impact, n_impact = [], [], [], []
    for t in range(len(TOUCHPOINTS)):
        scores = buyers.touchpoint_scores[:, t]
        mean, count = mean_and_count(scores)
        r, count_both = pearson(scores, buyers.relationship_index, settings.min_impact_n)
        performance.append(mean)
        n.append(count)
        impact.append(r)
        n_impact.append(count_both)
    rated = [t for t in range(len(TOUCHPOINTS)) if not math.isnan(impact[t])]
    quadrants: list[str | None] = [None] * len(TOUCHPOINTS)
    if rated:
        impact_median = float(np.median([impact[t] for t in rated]))
        performance_median = float(np.median([performance[t] for t in rated]))
        for t in rated:
            high_impact = impact[t] >= impact_median - TOLERANCE
            high_performance = performance[t] >= performance_median - TOLERANCE
            quadrants[t] = (
                (PROTECT if high_performance else FIX_FIRST)
                if high_impact
                else (MAINTAIN if high_performance else MONITOR)
            )
    return {
        name: TouchpointSummary(
            performance[t],
            n[t],
            impact[t],
            n_impact[t],
            quadrants[t],
            *fisher_interval(impact[t], n_impact[t]),
        )
        for t, name in enumerate(TOUCHPOINTS)
    }


def normalise_competitor(name: str | None) -> str | None:
    """A competitor name case-folded with its whitespace collapsed and stripped; None when empty."""
    if not isinstance(name, str):
        return None
    normal = " ".join(name.casefold().split())
    return normal or None


def competitor_counts(names: Sequence[str | None]) -> dict[str, int]:
    """How many buyers name each competitor (normalised names), most named first."""
    counts: Counter[str] = Counter()
    for raw, count in Counter(names).items():  # over distinct raw names, not responses
        normal = normalise_competitor(raw)
        if normal is not None:
            counts[normal] += count
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
