"""One wave scored whole: score_wave runs sections 2 to 7 and keeps everything in a WaveResult."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from services.scoring.engine.account_changes import ChangeColumns, account_changes
from services.scoring.engine.bootstrap import PIPELINE_MIN_N, bootstrap_intervals
from services.scoring.engine.coaching import (
    AccountPlans,
    SellerAccuracy,
    SellerCoaching,
    account_plans,
    accuracy_with_change,
    seller_coaching,
)
from services.scoring.engine.inputs import WaveInput
from services.scoring.engine.responses import ResponseScores, score_responses
from services.scoring.engine.settings import DEFAULT_SETTINGS, ScoringSettings
from services.scoring.engine.structure import (
    AccountScores,
    ContactScores,
    PairScores,
    Structure,
    score_structure,
)
from services.scoring.engine.summaries import (
    DimensionSummary,
    Distribution,
    Estimate,
    RevenueWeighted,
    TouchpointSummary,
    accounts_answered,
    competitor_counts,
    dimension_summaries,
    distribution,
    mean_and_count,
    nps_points,
    revenue_weighted,
    touchpoint_summaries,
)
from services.scoring.engine.trends import (
    Alert,
    AlertColumns,
    AlertTable,
    Change,
    Trends,
    alert_table_columns,
    find_alerts,
    score_trends,
    with_wave_changes,
)
from services.scoring.engine.vocabulary import (
    LEVEL_NAMES,
    MOMENT_TAGS,
    SEGMENTS,
    TOUCHPOINTS,
)


class UnknownAccount(KeyError):
    """An account external id that is not in the wave."""


def _grouping(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions ordered by key (stable, so in their own order within a key) and where each
    key's run starts (size + 1 offsets): the rows of key k are order[starts[k]:starts[k + 1]]."""
    order = np.argsort(keys, kind="stable")
    starts = np.zeros(size + 1, dtype=np.intp)
    np.cumsum(np.bincount(keys, minlength=size), out=starts[1:])
    return order, starts


@dataclass(frozen=True, eq=False)
class WaveResult:
    """Everything section 2 to 7 computes for one wave."""

    wave: WaveInput
    settings: ScoringSettings
    buyers: ResponseScores
    sellers: ResponseScores
    pairs: PairScores
    contacts: ContactScores
    accounts: AccountScores
    relationship_index: Estimate
    relationship_index_revenue_weighted: RevenueWeighted  # n counts accounts
    nps: Estimate
    nps_revenue_weighted: RevenueWeighted
    levels: Distribution
    segments: Distribution
    dimensions: dict[str, DimensionSummary]
    touchpoints: dict[str, TouchpointSummary]
    moment_counts: dict[str, dict[str, int]]
    competitors: dict[str, int]  # normalised name -> buyers naming it, most named first
    revenue_at_risk: float  # over the accounts with a known revenue
    accounts_without_revenue: int
    coaching: SellerCoaching
    account_plans: AccountPlans
    seller_accuracy: SellerAccuracy
    account_ranking: np.ndarray  # account positions by priority, highest first, NaN last
    alert_table: AlertTable
    trends: Trends | None
    # each account's paired ΔRI and ΔNPS with intervals (None without a previous wave)
    account_change_columns: tuple[ChangeColumns, ChangeColumns] | None = None
    threads: int = 1  # threads score_wave used (engine_threads)

    @cached_property
    def alert_columns(self) -> AlertColumns:
        """The section 6 triggers as plain Python columns, in alert_table order (an RI that
        is NaN, e.g. no previous RI, is None)."""
        return alert_table_columns(self.alert_table, self.wave)

    @cached_property
    def alerts(self) -> tuple[Alert, ...]:
        """The section 6 triggers as Alert objects, in alert_table order."""
        columns = self.alert_columns
        return tuple(
            map(
                Alert,
                columns.reason,
                columns.account_external_id,
                columns.contact_key,
                columns.previous,
                columns.current,
            )
        )

    @cached_property
    def _account_positions(self) -> dict[str, int]:
        return dict(
            zip(
                self.wave.account_external_id.tolist(),
                range(len(self.wave.account_external_id)),
                strict=True,
            )
        )

    @cached_property
    def _contacts_by_account(self) -> tuple[np.ndarray, np.ndarray]:
        return _grouping(self.wave.contact_account, len(self.wave.account_external_id))

    @cached_property
    def _moments_by_account(self) -> tuple[np.ndarray, np.ndarray]:
        wave = self.wave
        account = wave.contact_account[wave.buyer_contact[wave.moment_buyer]]
        return _grouping(account, len(wave.account_external_id))

    @cached_property
    def _pairs_by_account(self) -> tuple[np.ndarray, np.ndarray]:
        account = self.wave.contact_account[self.pairs.contact]
        return _grouping(account, len(self.wave.account_external_id))

    @cached_property
    def _pairs_by_seller(self) -> tuple[np.ndarray, np.ndarray]:
        return _grouping(self.pairs.seller, len(self.wave.seller_email))

    def rows_of(self, grouping: str, position: int) -> np.ndarray:
        """Positions (in order) of the contacts, moments or pairs of one account or seller:
        `grouping` is one of contacts_by_account, moments_by_account, pairs_by_account,
        pairs_by_seller."""
        order, starts = getattr(self, f"_{grouping}")
        return order[starts[position] : starts[position + 1]]

    def account_changes(self, position: int) -> tuple[Change, Change] | None:
        """The account's ΔRI and ΔNPS over its contacts in both waves, role-weighted, with the
        paired bootstrap over those contacts (None without a previous wave)."""
        if self.account_change_columns is None:
            return None
        return tuple(
            Change(
                float(c.value[position]),
                float(c.low[position]),
                float(c.high[position]),
                int(c.n[position]),
                int(c.n[position]),  # the clusters drawn are the contacts
            )
            for c in self.account_change_columns
        )

    def account_position(self, external_id: str) -> int:
        """The position of an account, or UnknownAccount."""
        try:
            return self._account_positions[external_id]
        except KeyError:
            raise UnknownAccount(external_id) from None


def _account_change_columns(
    wave: WaveInput, structure: Structure, trends: Trends, settings: ScoringSettings
) -> tuple[ChangeColumns, ChangeColumns]:
    """Each account's paired ΔRI and ΔNPS over its contacts, role-weighted (section 6)."""
    n_accounts = len(wave.account_external_id)
    return tuple(
        account_changes(
            deltas, wave.contact_account, structure.contacts.weight, n_accounts, settings
        )
        for deltas in (trends.contact_delta_ri, trends.contact_delta_nps)
    )


def engine_threads(n_buyers: int) -> int:
    """The threads score_wave uses on a wave of `n_buyers`: itself and one helper from
    PIPELINE_MIN_N buyers when the process may use two CPUs or more, else itself alone."""
    return 2 if n_buyers >= PIPELINE_MIN_N and (os.process_cpu_count() or 1) >= 2 else 1


def _done(value: object) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


def score_wave(
    wave: WaveInput,
    settings: ScoringSettings = DEFAULT_SETTINGS,
    previous: WaveInput | None = None,
    *,
    closed: bool = False,
) -> WaveResult:
    """Every SCORING.md figure of one wave; with `previous` (the program's last closed wave) also
    trends; once `closed` (no more answers) a decision maker who did not answer alerts."""
    buyers = score_responses(wave.buyer_answers, settings)
    nps_scores = nps_points(buyers.nps_category)
    buyer_account = wave.contact_account[wave.buyer_contact]
    n_accounts = len(wave.account_external_id)
    arguments = (buyers.relationship_index, nps_scores, buyer_account, n_accounts, settings)
    threads = engine_threads(wave.n_buyers)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the previous wave's structure (with sellers: their accuracy then) and the bootstrap
        # need nothing of the rest: on a big wave the helper runs them, the first one first
        run = pool.submit if threads > 1 else (lambda task, *args: _done(task(*args)))
        before = _done(None) if previous is None else run(score_structure, previous, settings)
        intervals = run(bootstrap_intervals, *arguments)
        parts = (buyers, nps_scores, before, intervals, threads, run)
        return _assemble(wave, settings, previous, parts, closed)


def _assemble(
    wave: WaveInput,
    settings: ScoringSettings,
    previous: WaveInput | None,
    parts: tuple[ResponseScores, np.ndarray, Future, Future, int, Callable[..., Future]],
    closed: bool,
) -> WaveResult:
    buyers, nps_scores, before_structure, intervals, threads, run = parts
    structure = score_structure(wave, settings, buyers=buyers)
    accounts = structure.accounts
    revenue = wave.account_revenue
    ri_mean, ri_n = mean_and_count(buyers.relationship_index)
    nps_mean, nps_n = mean_and_count(nps_scores)
    counts = np.bincount(
        wave.moment_touchpoint * len(MOMENT_TAGS) + wave.moment_tag,
        minlength=len(TOUCHPOINTS) * len(MOMENT_TAGS),
    ).reshape(len(TOUCHPOINTS), len(MOMENT_TAGS))
    ranking = np.argsort(
        np.where(np.isnan(accounts.priority), np.inf, -accounts.priority), kind="stable"
    )
    # what needs no previous wave first: the helper meanwhile scores the previous wave
    fields = {
        "relationship_index_revenue_weighted": revenue_weighted(
            accounts.relationship_index, revenue
        ),
        "nps_revenue_weighted": revenue_weighted(accounts.nps, revenue),
        "levels": distribution(buyers.level, accounts.level, revenue, LEVEL_NAMES),
        "segments": distribution(buyers.segment, accounts.segment, revenue, SEGMENTS),
        "dimensions": dimension_summaries(structure, settings),
        "touchpoints": touchpoint_summaries(buyers, settings),
        "moment_counts": {
            tp: dict(zip(MOMENT_TAGS, counts[t].tolist(), strict=True))
            for t, tp in enumerate(TOUCHPOINTS)
        },
        "competitors": competitor_counts(wave.buyer_competitor),
        "revenue_at_risk": float(np.nansum(accounts.revenue_at_risk)),
        "accounts_without_revenue": int(np.isnan(revenue).sum()),
        "coaching": seller_coaching(wave, structure, settings),
        "account_plans": account_plans(structure, settings),
        "account_ranking": ranking,
    }
    trends, before, changes = None, before_structure.result(), _done(None)
    if previous is not None:
        trends = score_trends(wave, structure, previous, before, settings)
        # each account's changes on the helper while this thread bootstraps the wave's
        changes = run(_account_change_columns, wave, structure, trends, settings)
        trends = with_wave_changes(trends, wave, settings)
    fields["seller_accuracy"] = accuracy_with_change(wave, structure, previous, before)
    fields["alert_table"] = find_alerts(wave, structure, trends, closed=closed)
    fields["trends"] = trends
    fields["account_change_columns"] = changes.result()
    ri_interval, nps_interval = intervals.result()
    buyer_account, n_accounts = wave.contact_account[wave.buyer_contact], len(revenue)
    ri_accounts = accounts_answered(buyers.relationship_index, buyer_account, n_accounts)
    nps_accounts = accounts_answered(nps_scores, buyer_account, n_accounts)
    return WaveResult(
        wave=wave,
        settings=settings,
        buyers=buyers,
        sellers=structure.sellers,
        pairs=structure.pairs,
        contacts=structure.contacts,
        accounts=accounts,
        relationship_index=Estimate(ri_mean, *ri_interval, ri_n, ri_accounts),
        nps=Estimate(nps_mean, *nps_interval, nps_n, nps_accounts),
        threads=threads,
        **fields,
    )
