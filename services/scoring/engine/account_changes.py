"""Each account's paired ΔRI and ΔNPS with its 95% interval (SCORING.md section 6), for every
account at once.

An account's change is the role-weighted mean of its contacts' changes, and its interval the
cluster bootstrap over its contacts (each contact one cluster of sum `w * delta` and count
`w`), exactly as `trends.paired_change` computes it for one account: the same draws, the same
numbers. Done one account at a time that is 2,000 replicates for each of 20,000 accounts; here
it is vectorised over the accounts:

- An account of m contacts with fewer than BOOTSTRAP_COUNTS_RATIO contacts per distinct one
  draws by index, and every such account of m contacts draws the same index matrix
  `default_rng(seed).integers(0, m, (B, m))` (a fresh generator each). So the accounts of one m
  share it: its rows become counts per position (B x m), and as m positions take few distinct
  count rows (126 for m = 5), each account's replicates are the ratios of those distinct rows
  (a matrix product over the accounts), each as often as the row occurs.
- The 2.5th and 97.5th percentiles are then read off each account's sorted distinct ratios
  with their multiplicities (the order statistics np.percentile interpolates between), not by
  sorting 2,000 replicates per account.
- The rare account with many contacts per distinct value (multinomial draws) is bootstrapped
  on its own by cluster_bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.scoring.engine.bootstrap import (
    BOOTSTRAP_COUNTS_RATIO,
    BOOTSTRAP_RESOLUTION,
    cluster_bootstrap,
    percentile_interval,
)
from services.scoring.engine.settings import ScoringSettings

_BLOCK_ELEMENTS = 2**20  # distinct replicates x accounts computed at a time


@dataclass(frozen=True, eq=False)
class ChangeColumns:
    """One paired change per account: value, interval ends (NaN without), contacts behind it."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: np.ndarray


def _sorted_clusters(
    deltas: np.ndarray, account: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The contacts with a change as clusters, ordered by account and, within it, as
    cluster_bootstrap orders them (by rounded S, then N): their account, S = w * delta, S as
    cluster_bootstrap draws it (the mean S of the clusters of one rounded S and N), N = w, and
    where each distinct cluster starts."""
    valid = ~np.isnan(deltas)
    at, sums, counts = account[valid], (weights * deltas)[valid], weights[valid]
    keys = np.rint(sums / BOOTSTRAP_RESOLUTION)
    order = np.lexsort((counts, keys, at))
    at, keys, sums, counts = at[order], keys[order], sums[order], counts[order]
    new = np.r_[True, (at[1:] != at[:-1]) | (keys[1:] != keys[:-1]) | (counts[1:] != counts[:-1])]
    starts = np.flatnonzero(new)
    lengths = np.diff(np.r_[starts, at.size])
    drawn = np.repeat(np.add.reduceat(sums, starts) / lengths, lengths) if at.size else sums
    return at, sums, drawn, counts, new[: at.size]


def _order_statistics(samples: int) -> tuple[np.ndarray, np.ndarray]:
    """np.percentile's (linear) 2.5th and 97.5th of `samples` values: the order statistics
    (low, high, low + 1, high + 1) and the two interpolation fractions."""
    position = np.array([2.5, 97.5]) / 100.0 * (samples - 1)
    below = np.floor(position).astype(np.intp)
    return np.r_[below, np.minimum(below + 1, samples - 1)], position - below


def _shared_draws(m: int, settings: ScoringSettings) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of counts per position of `integers(0, m, (B, m))` and how often
    each occurs."""
    samples = settings.bootstrap_samples
    index = np.random.default_rng(settings.bootstrap_seed).integers(
        0, m, (samples, m), dtype=np.intp
    )
    counts = np.bincount(
        (np.arange(samples)[:, None] * m + index).ravel(), minlength=samples * m
    ).reshape(samples, m)
    rows, times = np.unique(counts, axis=0, return_counts=True)
    return rows.astype(np.float64), times


def _intervals_of_size(
    sums: np.ndarray, counts: np.ndarray, settings: ScoringSettings
) -> tuple[np.ndarray, np.ndarray]:
    """The percentile intervals of accounts of m clusters each (rows of `sums`, `counts`);
    accounts with the same clusters (common for ΔNPS, a few values per contact) once."""
    m = sums.shape[1]
    alike, which = np.unique(np.concatenate([sums, counts], axis=1), axis=0, return_inverse=True)
    if alike.shape[0] < sums.shape[0]:
        low, high = _intervals_of_size(alike[:, :m], alike[:, m:], settings)
        return low[which.reshape(-1)], high[which.reshape(-1)]
    rows, times = _shared_draws(m, settings)
    wanted, fraction = _order_statistics(settings.bootstrap_samples)
    low, high = np.empty(sums.shape[0]), np.empty(sums.shape[0])
    step = max(1, _BLOCK_ELEMENTS // rows.shape[0])
    for start in range(0, sums.shape[0], step):
        block = slice(start, start + step)
        ratios = (sums[block] @ rows.T) / (counts[block] @ rows.T)  # accounts x distinct rows
        order = np.argsort(ratios, axis=1)  # ties are equal values: any order of them will do
        ordered = np.take_along_axis(ratios, order, axis=1)
        reached = np.cumsum(times[order], axis=1)
        line = np.arange(ordered.shape[0])
        at = [ordered[line, (reached > k).argmax(axis=1)] for k in wanted.tolist()]
        low[block] = at[0] + (at[2] - at[0]) * fraction[0]
        high[block] = at[1] + (at[3] - at[1]) * fraction[1]
    return low, high


def account_changes(
    deltas: np.ndarray,
    account: np.ndarray,
    weights: np.ndarray,
    n_accounts: int,
    settings: ScoringSettings,
) -> ChangeColumns:
    """Every account's weighted mean change over its contacts with one (NaN without) and its
    paired cluster bootstrap interval over those contacts, as paired_change gives it."""
    at, sums, drawn, counts, new = _sorted_clusters(deltas, account, weights)
    n = np.bincount(at, minlength=n_accounts)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.bincount(at, sums, n_accounts) / np.bincount(at, counts, n_accounts)
    low, high = np.full(n_accounts, np.nan), np.full(n_accounts, np.nan)
    if settings.bootstrap_samples == 0 or at.size == 0:
        return ChangeColumns(value, low, high, n)
    first = np.zeros(n_accounts + 1, dtype=np.intp)
    np.cumsum(n, out=first[1:])
    distinct = np.bincount(at[new], minlength=n_accounts)
    by_counts = (n > 0) & (n >= BOOTSTRAP_COUNTS_RATIO * distinct)
    for a in np.flatnonzero(by_counts).tolist():
        rows = slice(first[a], first[a + 1])
        replicates = cluster_bootstrap(
            sums[rows],
            counts[rows],
            samples=settings.bootstrap_samples,
            seed=settings.bootstrap_seed,
        )
        low[a], high[a] = percentile_interval(replicates)
    by_index = (n > 0) & ~by_counts
    for m in np.unique(n[by_index]).tolist():
        accounts = np.flatnonzero(by_index & (n == m))
        positions = first[accounts][:, None] + np.arange(m)
        low[accounts], high[accounts] = _intervals_of_size(
            drawn[positions], counts[positions], settings
        )
    return ChangeColumns(value, low, high, n)
