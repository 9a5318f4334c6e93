"""The 95% intervals of the wave's RI and NPS: a percentile bootstrap over accounts, a cluster
bootstrap (SCORING.md section 5).

Each account that has a value is one cluster, known by its sum S_a and count N_a of values; a
replicate draws as many accounts as there are, with replacement, and its statistic is
`sum S / sum N` over the drawn accounts (the plain mean over their responses). Clusters with
the same (S_a rounded to BOOTSTRAP_RESOLUTION, N_a) are one distinct cluster (S the mean of
theirs), ordered ascending by (S, N). Drawing m clusters with replacement gives the distinct
clusters Multinomial(m, count / m) counts, so with at least BOOTSTRAP_COUNTS_RATIO clusters
per distinct cluster replicate b is row b of `rng.multinomial(m, count / m, size=B)`;
otherwise the m indices into the sorted clusters are drawn (row b of
`rng.integers(0, m, (B, m))`). Either way the work is per account, never per response.
"""

from __future__ import annotations

import math

import numpy as np

from services.scoring.engine.settings import ScoringSettings

PIPELINE_MIN_N = 20_000  # from this many buyers score_wave uses a helper thread (wave.py)
_CHUNK_ELEMENTS = 2**18  # bootstrap indices (or counts) drawn at a time
BOOTSTRAP_RESOLUTION = 1e-9
BOOTSTRAP_COUNTS_RATIO = 16


def cluster_totals(
    values: np.ndarray, account: np.ndarray, n_accounts: int
) -> tuple[np.ndarray, np.ndarray]:
    """The sum and the count of the non-NaN values of each account that has any."""
    valid = ~np.isnan(values)
    sums = np.bincount(account[valid], weights=values[valid], minlength=n_accounts)
    counts = np.bincount(account[valid], minlength=n_accounts)
    present = counts > 0
    return sums[present], counts[present].astype(np.float64)


def _distinct_clusters(
    sums: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct clusters ascending by (rounded sum, count): their sum (the mean of the members'
    sums: float noise is not a different cluster), their count and how many accounts each."""
    keys = np.rint(sums / BOOTSTRAP_RESOLUTION)
    order = np.lexsort((counts, keys))
    keys, counts_sorted, sums_sorted = keys[order], counts[order], sums[order]
    starts = np.flatnonzero(
        np.r_[True, (keys[1:] != keys[:-1]) | (counts_sorted[1:] != counts_sorted[:-1])]
    )
    multiplicity = np.diff(np.r_[starts, keys.size])
    distinct_sums = np.add.reduceat(sums_sorted, starts) / multiplicity
    return distinct_sums, counts_sorted[starts], multiplicity


def _resample_ratios(
    sums: np.ndarray, counts: np.ndarray, *, samples: int, seed: int
) -> np.ndarray:
    """`sum S / sum N` of `samples` resamples of the m clusters by index: row b of the B x m
    index matrix `default_rng(seed).integers(0, m, (B, m))` picks replicate b.

    Drawn a chunk of rows at a time to bound memory; PCG64 keeps its spare 32-bit half between
    calls, so the chunks are exactly the rows of the one big draw. The indices are drawn as
    intp (the same values as int32: numpy draws any range under 2**32 from 32-bit halves), as
    `take` converts any other index type element by element first (three times slower); each
    cluster is one complex number S + iN, so one gather and one sum give both totals.
    """
    m = sums.shape[0]
    rng = np.random.default_rng(seed)
    ratios = np.empty(samples, dtype=np.float64)
    clusters = sums + 1j * counts
    rows = max(1, _CHUNK_ELEMENTS // m)
    for start in range(0, samples, rows):
        count = min(rows, samples - start)
        totals = clusters.take(rng.integers(0, m, (count, m), dtype=np.intp)).sum(axis=1)
        ratios[start : start + count] = totals.real / totals.imag
    return ratios


def _multinomial_ratios(
    sums: np.ndarray, counts: np.ndarray, multiplicity: np.ndarray, *, samples: int, seed: int
) -> np.ndarray:
    """`sum S / sum N` of `samples` resamples: row b of `default_rng(seed).multinomial(m,
    multiplicity / m, B)` says how often replicate b draws each distinct cluster.

    Drawn a chunk of rows at a time; each row is its own draw, so the chunks are exactly the
    rows of the one big draw.
    """
    m = int(multiplicity.sum())
    rng = np.random.default_rng(seed)
    shares = multiplicity / m
    ratios = np.empty(samples, dtype=np.float64)
    rows = max(1, _CHUNK_ELEMENTS // sums.size)
    for start in range(0, samples, rows):
        count = min(rows, samples - start)
        drawn = rng.multinomial(m, shares, size=count)
        ratios[start : start + count] = (drawn @ sums) / (drawn @ counts)
    return ratios


def cluster_bootstrap(
    sums: np.ndarray, counts: np.ndarray, *, samples: int, seed: int
) -> np.ndarray:
    """The `samples` replicate means of a bootstrap over clusters (per cluster its sum and count
    of values, count > 0): multinomial counts over distinct clusters when there are at least
    BOOTSTRAP_COUNTS_RATIO clusters per distinct one, else indices into the sorted clusters."""
    distinct_sums, distinct_counts, multiplicity = _distinct_clusters(sums, counts)
    if sums.size >= BOOTSTRAP_COUNTS_RATIO * distinct_sums.size:
        return _multinomial_ratios(
            distinct_sums, distinct_counts, multiplicity, samples=samples, seed=seed
        )
    # indices into the clusters sorted as the distinct ones: no number depends on account order
    return _resample_ratios(
        np.repeat(distinct_sums, multiplicity),
        np.repeat(distinct_counts, multiplicity),
        samples=samples,
        seed=seed,
    )


def percentile_interval(means: np.ndarray) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of the replicates (NaN without any)."""
    if means.size == 0:
        return math.nan, math.nan
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_intervals(
    ri: np.ndarray,
    nps_scores: np.ndarray,
    account: np.ndarray,
    n_accounts: int,
    settings: ScoringSettings,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Percentile 95% intervals of the mean RI and the NPS (per buyer, `account` the account of
    each) by the cluster bootstrap over the accounts with a value, each drawn from its own
    default_rng(seed)."""
    samples, seed = settings.bootstrap_samples, settings.bootstrap_seed
    intervals = []
    for scores in (ri, nps_scores):
        sums, counts = cluster_totals(scores, account, n_accounts)
        if samples == 0 or sums.size == 0:
            intervals.append((math.nan, math.nan))
        else:
            ratios = cluster_bootstrap(sums, counts, samples=samples, seed=seed)
            intervals.append(percentile_interval(ratios))
    return intervals[0], intervals[1]
