"""SCORING.md section 6: trends against the previous wave and the alerts they trigger."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import repeat

import numpy as np

from services.scoring.engine.bootstrap import cluster_bootstrap, percentile_interval
from services.scoring.engine.inputs import WaveInput
from services.scoring.engine.settings import ScoringSettings
from services.scoring.engine.structure import Structure
from services.scoring.engine.summaries import cronbach_alpha, nps_points
from services.scoring.engine.vocabulary import (
    ALERT_REASONS,
    ANTAGONISTIC,
    BLIND_SPOT,
    DETRACTOR,
    INSUFFICIENT_CODE,
    LEVEL_NAMES,
    MISSING,
    NPS_CATEGORIES,
    PASSIVE,
    PROMOTER,
    TOLERANCE,
)

_ALERT_RI_DROP = -10.0
_DECISION_MAKER = 0  # ROLES code of decision_maker


@dataclass(frozen=True)
class Alert:
    """A `relationship.alert` trigger for the owner of `account_external_id`.

    `contact_key` is None only for an account-level trigger (section 6 of SCORING.md v2 has
    none; kept for stored alerts); `previous` and `current` are the RI
    values (ri_drop, antagonistic) or level / NPS category names (level_drop, became_detractor).
    """

    reason: str
    account_external_id: str
    contact_key: str | None
    previous: float | str | None
    current: float | str | None


@dataclass(frozen=True, eq=False)
class AlertTable:
    """Section 6 triggers as arrays, one row each: ALERT_REASONS code, account and contact
    positions (contact -1 would be an account-level trigger: v2 has none), and the values
    before and after (RI, or level / NPS category codes)."""

    reason: np.ndarray
    account: np.ndarray
    contact: np.ndarray
    previous: np.ndarray
    current: np.ndarray


@dataclass(frozen=True, eq=False)
class AlertColumns:
    """The alert triggers column by column (the fields of Alert), one entry per trigger."""

    reason: list[str]
    account_external_id: list[str]
    contact_key: list[str | None]
    previous: list[float | str | None]
    current: list[float | str | None]


@dataclass(frozen=True)
class Change:
    """A paired change over the contacts in both waves with its 95% interval (paired cluster
    bootstrap), the contacts behind it and the clusters drawn (accounts, or an account's
    contacts)."""

    value: float
    low: float
    high: float
    n: int
    n_clusters: int

    @property
    def significant(self) -> bool | None:
        """The interval excludes 0 (None without an interval); an end within float noise of 0
        (every change alike and nil) does not exclude it."""
        if math.isnan(self.low) or math.isnan(self.high):
            return None
        return self.low > TOLERANCE or self.high < -TOLERANCE


def paired_change(
    deltas: np.ndarray,
    clusters: np.ndarray,
    n_clusters: int,
    settings: ScoringSettings,
    weights: np.ndarray | None = None,
) -> Change:
    """The (weighted) mean of the non-NaN per-contact changes and its percentile interval from
    the cluster bootstrap over `clusters` (each drawn cluster keeps its contacts' pairs)."""
    valid = ~np.isnan(deltas)
    weight = np.ones(deltas.shape) if weights is None else weights
    at = clusters[valid]
    sums = np.bincount(
        at, weights=(weight * np.where(valid, deltas, 0.0))[valid], minlength=n_clusters
    )
    counts = np.bincount(at, weights=weight[valid], minlength=n_clusters)
    present = counts > 0
    sums, counts = sums[present], counts[present]
    n = int(valid.sum())
    if n == 0:
        return Change(math.nan, math.nan, math.nan, 0, 0)
    low = high = math.nan
    if settings.bootstrap_samples > 0:
        ratios = cluster_bootstrap(
            sums, counts, samples=settings.bootstrap_samples, seed=settings.bootstrap_seed
        )
        low, high = percentile_interval(ratios)
    return Change(float(sums.sum() / counts.sum()), low, high, n, int(present.sum()))


@dataclass(frozen=True, eq=False)
class Trends:
    """Section 6 against the previous wave, per contact and per account of this wave.

    `*_previous` is the position in the previous wave (-1 if absent); previous values are NaN
    or MISSING where absent; level changes are in steps, NaN unless both waves have a level.
    """

    contact_previous: np.ndarray
    contact_previous_ri: np.ndarray
    contact_previous_level: np.ndarray
    contact_previous_nps_category: np.ndarray
    contact_delta_ri: np.ndarray
    contact_level_change: np.ndarray
    account_previous: np.ndarray
    account_previous_ri: np.ndarray
    account_previous_level: np.ndarray
    account_previous_nps_category: np.ndarray
    account_delta_ri: np.ndarray
    account_level_change: np.ndarray
    contacts_compared: int  # contacts with a buyer response in both waves
    accounts_compared: int
    contact_rci: np.ndarray  # reliable change index, NaN without a delta RI
    contact_reliable: np.ndarray  # |RCI| >= the reliable_change setting
    reliability: float  # r of the RCI: alpha of the six dimensions, or the default
    sem: float  # standard error of measurement of one RI: SD_RI * sqrt(1 - r)
    contact_delta_nps: np.ndarray  # NPS points now minus before (-200..200), NaN unless both
    # the wave's, over contacts with an RI (an NPS) in both waves, clusters accounts: None
    # until with_wave_changes adds them
    delta_ri: Change | None = None
    delta_nps: Change | None = None


def measurement_error(now: Structure, settings: ScoringSettings) -> tuple[float, float]:
    """(r, SEM) of SCORING.md section 6: r is Cronbach's alpha of the six dimension scores over
    buyers with all six (the default_reliability setting under min_alpha_n of them), and
    SEM = SD_RI (ddof 1, buyer RI of this wave) * sqrt(1 - r)."""
    alpha, _ = cronbach_alpha(now.buyers.dimensions, settings.min_alpha_n)
    r = settings.default_reliability if math.isnan(alpha) else alpha
    ri = now.buyers.relationship_index
    ri = ri[~np.isnan(ri)]
    sd = float(ri.std(ddof=1)) if ri.size >= 2 else math.nan
    if sd < TOLERANCE:
        sd = 0.0  # every buyer's RI alike: float noise of their mean is no spread
    # 1 - r within float noise of 0 (every buyer's dimensions alike) is 0: SEM 0, not 1e-7
    return r, sd * math.sqrt(0.0 if 1.0 - r < TOLERANCE else 1.0 - r)


def match_keys(current: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Position of each current key among the previous keys (the first one), -1 where absent."""
    if len(current) == len(previous) and np.array_equal(current, previous):
        # the usual case, an unchanged roster, needs no lookup (keys are unique)
        if len(set(previous.tolist())) == len(previous):
            return np.arange(len(current), dtype=np.intp)
    positions = dict(zip(previous.tolist()[::-1], range(len(previous) - 1, -1, -1), strict=True))
    return np.array(list(map(positions.get, current.tolist(), repeat(-1))), dtype=np.intp)


def _previous_values(
    position: np.ndarray, ri: np.ndarray, level: np.ndarray, category: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The previous wave's RI, level and NPS category at `position` (NaN / MISSING where -1)."""
    found = position >= 0
    at = position[found]
    before_ri = np.full(position.shape, np.nan)
    before_level = np.full(position.shape, MISSING, dtype=np.int8)
    before_category = np.full(position.shape, MISSING, dtype=np.int8)
    before_ri[found] = ri[at]
    before_level[found] = level[at]
    before_category[found] = category[at]
    return before_ri, before_level, before_category


def _level_change(level: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Steps between two levels, NaN unless both are real levels (not insufficient, not absent)."""
    real = (before >= 0) & (before < INSUFFICIENT_CODE) & (level >= 0) & (level < INSUFFICIENT_CODE)
    return np.where(real, level.astype(np.float64) - before, np.nan)


def score_trends(
    wave: WaveInput,
    now: Structure,
    previous_wave: WaveInput,
    before: Structure,
    settings: ScoringSettings,
) -> Trends:
    """Section 6: each contact and account of this wave against its previous wave's scores,
    with each contact's reliable change index (the wave's paired changes: with_wave_changes)."""
    contact_previous = match_keys(wave.contact_key, previous_wave.contact_key)
    account_previous = match_keys(wave.account_external_id, previous_wave.account_external_id)
    contact_ri, contact_level, contact_category = _previous_values(
        contact_previous,
        before.contacts.relationship_index,
        before.contacts.level,
        before.contacts.nps_category,
    )
    account_ri, account_level, account_category = _previous_values(
        account_previous,
        before.accounts.relationship_index,
        before.accounts.level,
        before.accounts.nps_category,
    )
    both = (contact_level >= 0) & (now.contacts.level >= 0)  # a buyer response in each wave
    delta = now.contacts.relationship_index - contact_ri
    r, sem = measurement_error(now, settings)
    delta_nps = nps_points(now.contacts.nps_category) - nps_points(contact_category)
    with np.errstate(divide="ignore", invalid="ignore"):
        rci = delta / (math.sqrt(2.0) * sem)  # SEM 0 (alpha 1): any change is reliable
    return Trends(
        contact_previous=contact_previous,
        contact_previous_ri=contact_ri,
        contact_previous_level=contact_level,
        contact_previous_nps_category=contact_category,
        contact_delta_ri=delta,
        contact_level_change=_level_change(now.contacts.level, contact_level),
        account_previous=account_previous,
        account_previous_ri=account_ri,
        account_previous_level=account_level,
        account_previous_nps_category=account_category,
        account_delta_ri=now.accounts.relationship_index - account_ri,
        account_level_change=_level_change(now.accounts.level, account_level),
        contacts_compared=int(both.sum()),
        accounts_compared=int((account_previous >= 0).sum()),
        contact_rci=rci,
        contact_reliable=np.abs(rci) >= settings.reliable_change,
        reliability=r,
        sem=sem,
        contact_delta_nps=delta_nps,
    )


def with_wave_changes(trends: Trends, wave: WaveInput, settings: ScoringSettings) -> Trends:
    """`trends` with the wave's paired ΔRI and ΔNPS and their cluster bootstrap intervals over
    accounts (section 6): the costly part of trends, apart so that other work can run beside."""
    n_accounts = len(wave.account_external_id)
    return replace(
        trends,
        delta_ri=paired_change(trends.contact_delta_ri, wave.contact_account, n_accounts, settings),
        delta_nps=paired_change(
            trends.contact_delta_nps, wave.contact_account, n_accounts, settings
        ),
    )


def find_alerts(
    wave: WaveInput, now: Structure, trends: Trends | None, *, closed: bool = False
) -> AlertTable:
    """Section 6 triggers (each about one contact), ordered by account, contact and reason; a
    contact's level or RI drop only when reliable, a silent decision maker only once `closed`."""
    contacts = now.contacts
    parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(reason: str, rows: np.ndarray, before: np.ndarray, after: np.ndarray) -> None:
        code = np.full(rows.size, ALERT_REASONS.index(reason), dtype=np.int8)
        parts.append(
            (
                code,
                wave.contact_account[rows],
                rows,
                before[rows].astype(np.float64),
                after[rows].astype(np.float64),
            )
        )

    nothing = np.full(len(wave.contact_key), np.nan)
    antagonistic = np.flatnonzero(contacts.level == ANTAGONISTIC)
    add("antagonistic", antagonistic, nothing, contacts.relationship_index)
    decision_maker = wave.contact_role == _DECISION_MAKER
    blind = np.flatnonzero(decision_maker & (contacts.gap_class == BLIND_SPOT))
    add(
        "decision_maker_blind_spot",
        blind,
        contacts.seller_relationship_index,
        contacts.relationship_index,
    )
    if closed:
        silent = np.flatnonzero(decision_maker & (contacts.buyer_row < 0))
        add("silent_decision_maker", silent, nothing, nothing)
    if trends is not None:
        # a contact's change counts only when reliable (a NaN change never alerts); section 6
        # lists contact triggers only: an account's own drop is in its trend, not an alert
        reliable = np.where(trends.contact_reliable, 0.0, np.nan)
        level_change = trends.contact_level_change + reliable
        add(
            "level_drop",
            np.flatnonzero(level_change <= -1),
            trends.contact_previous_level,
            contacts.level,
        )
        fell = np.flatnonzero(trends.contact_delta_ri + reliable <= _ALERT_RI_DROP + TOLERANCE)
        add("ri_drop", fell, trends.contact_previous_ri, contacts.relationship_index)
        before = trends.contact_previous_nps_category
        became = (contacts.nps_category == DETRACTOR) & ((before == PROMOTER) | (before == PASSIVE))
        add("became_detractor", np.flatnonzero(became), before, contacts.nps_category)
    reason, account, contact, previous, current = (
        np.concatenate(column) for column in zip(*parts, strict=True)
    )
    order = np.lexsort((reason, contact, account))
    return AlertTable(
        reason[order], account[order], contact[order], previous[order], current[order]
    )


def alert_table_columns(table: AlertTable, wave: WaveInput) -> AlertColumns:
    """The triggers of `table` as plain Python columns, in table order: names for codes, contact
    keys, account external ids (an RI that is NaN, e.g. no previous RI, is None)."""
    reason = table.reason
    previous = np.array(table.previous, dtype=object)
    current = np.array(table.current, dtype=object)
    for name, labels in (("level_drop", LEVEL_NAMES), ("became_detractor", NPS_CATEGORIES)):
        rows = reason == ALERT_REASONS.index(name)
        label = np.array(labels, dtype=object)
        previous[rows] = label[table.previous[rows].astype(np.intp)]
        current[rows] = label[table.current[rows].astype(np.intp)]
    valued = ~np.isin(
        reason, [ALERT_REASONS.index("level_drop"), ALERT_REASONS.index("became_detractor")]
    )
    previous[valued & ~np.isfinite(table.previous)] = None
    current[valued & ~np.isfinite(table.current)] = None
    contact = table.contact
    keys = np.array(wave.contact_key, dtype=object)[np.maximum(contact, 0)]
    keys[contact < 0] = None
    return AlertColumns(
        reason=np.array(ALERT_REASONS, dtype=object)[reason].tolist(),
        account_external_id=np.array(wave.account_external_id, dtype=object)[
            table.account
        ].tolist(),
        contact_key=keys.tolist(),
        previous=previous.tolist(),
        current=current.tolist(),
    )
