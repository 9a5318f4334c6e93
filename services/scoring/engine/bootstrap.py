"""The 95% intervals of the wave's RI and NPS: an exact percentile bootstrap (SCORING.md section 5).

Resampling n values with replacement gives the distinct values Multinomial(n, count / n)
counts, so replicate b is row b of `rng.multinomial(n, counts / n, size=B)` over the distinct
values in ascending order; only with fewer than BOOTSTRAP_COUNTS_RATIO responses per distinct
value are the n indices drawn instead (row b of `rng.integers(0, n, (B, n))`)."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from services.scoring.engine.settings import ScoringSettings

PIPELINE_MIN_N = 20_000  # from this many buyers the bootstrap runs in helper threads
_CHUNK_ELEMENTS = 2**18  # bootstrap indices (or counts) drawn at a time
# The bootstrap draws multinomial counts over the distinct values (equal within this much)
# when there are at least this many responses per distinct value, else it resamples indices.
BOOTSTRAP_RESOLUTION = 1e-9
BOOTSTRAP_COUNTS_RATIO = 16


def _resample_sums(values: np.ndarray, *, samples: int, seed: int) -> np.ndarray:
    """Sums of `samples` resamples of `values` by index: row b of the B x n index matrix
    `default_rng(seed).integers(0, n, (B, n))` picks replicate b.

    The matrix is drawn a chunk of rows at a time to bound memory; PCG64 keeps its spare
    32-bit half between calls, so the chunks are exactly the rows of the one big draw.
    """
    n = values.shape[0]
    rng = np.random.default_rng(seed)
    sums = np.empty(samples, dtype=values.dtype)
    index_type = np.int32 if n < 2**31 else np.int64  # the same draws as int64, faster
    rows = max(1, _CHUNK_ELEMENTS // n)
    chunks = [(start, min(rows, samples - start)) for start in range(0, samples, rows)]

    def draw(count: int) -> np.ndarray:
        return rng.integers(0, n, (count, n), dtype=index_type)

    if n < PIPELINE_MIN_N:
        for start, count in chunks:
            sums[start : start + count] = values.take(draw(count)).sum(axis=1)
        return sums
    # a helper thread draws the next chunk while this one is gathered (both release the GIL)
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = pool.submit(draw, chunks[0][1])
        for k, (start, count) in enumerate(chunks):
            index = upcoming.result()
            if k + 1 < len(chunks):
                upcoming = pool.submit(draw, chunks[k + 1][1])
            sums[start : start + count] = values.take(index).sum(axis=1)
    return sums


def _distinct_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values (ascending) and how many responses hold each.

    Values on the same multiple of BOOTSTRAP_RESOLUTION (`rint(v / BOOTSTRAP_RESOLUTION)`) are
    one value, the mean of its members: float noise of one score in sixths, not a different score.
    """
    keys = np.rint(values / BOOTSTRAP_RESOLUTION)
    _, group, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return np.bincount(group, weights=values) / counts, counts


def _multinomial_sums(
    distinct: np.ndarray, counts: np.ndarray, *, samples: int, seed: int
) -> np.ndarray:
    """Sums of `samples` resamples: row b of `default_rng(seed).multinomial(n, counts / n, B)`
    says how often replicate b takes each distinct value.

    Drawn a chunk of rows at a time; each row is its own draw, so the chunks are exactly
    the rows of the one big draw.
    """
    n = int(counts.sum())
    rng = np.random.default_rng(seed)
    shares = counts / n
    sums = np.empty(samples, dtype=np.float64)
    rows = max(1, _CHUNK_ELEMENTS // distinct.size)
    for start in range(0, samples, rows):
        count = min(rows, samples - start)
        sums[start : start + count] = rng.multinomial(n, shares, size=count) @ distinct
    return sums


def _bootstrap_means(values: np.ndarray, *, samples: int, seed: int) -> np.ndarray:
    """The `samples` replicate means of a percentile bootstrap of `values` (no NaN, n > 0).

    Resampling n values with replacement gives each distinct value Multinomial(n, share) counts,
    so when n >= BOOTSTRAP_COUNTS_RATIO x the distinct values the counts are drawn (cheap: NPS
    has 3 values, RI a grid of sixths); otherwise the n indices are.
    """
    distinct, counts = _distinct_values(values)
    if values.size >= BOOTSTRAP_COUNTS_RATIO * distinct.size:
        return _multinomial_sums(distinct, counts, samples=samples, seed=seed) / values.size
    return _resample_sums(values, samples=samples, seed=seed) / values.size


def _percentile_interval(means: np.ndarray) -> tuple[float, float]:
    if means.size == 0:
        return math.nan, math.nan
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_intervals(
    ri: np.ndarray, nps_scores: np.ndarray, settings: ScoringSettings
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Percentile 95% intervals of the mean RI and the NPS, each over its own answered buyers
    and each drawn from its own default_rng(seed) (see _bootstrap_means)."""
    samples, seed = settings.bootstrap_samples, settings.bootstrap_seed
    intervals = []
    for scores in (ri, nps_scores):
        values = scores[~np.isnan(scores)]
        if samples == 0 or values.size == 0:
            intervals.append((math.nan, math.nan))
        else:
            intervals.append(
                _percentile_interval(_bootstrap_means(values, samples=samples, seed=seed))
            )
    return intervals[0], intervals[1]
