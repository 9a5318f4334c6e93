"""SCORING.md sections 3 and 4: the gap of each buyer and seller pair, each contact's scores and
each account's role-weighted scores, for every response of a wave at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from services.scoring.engine.inputs import WaveInput
from services.scoring.engine.responses import (
    ResponseScores,
    level_codes,
    score_responses,
    segment_codes,
)
from services.scoring.engine.settings import ScoringSettings
from services.scoring.engine.vocabulary import (
    _ALIGNED,
    _ANTAGONISTIC,
    _BLIND_SPOT,
    _DETRACTOR,
    _PASSIVE,
    _PROMOTER,
    _TRANSACTIONAL,
    _UNDERVALUED,
    MISSING,
    TOLERANCE,
)

_ACCOUNT_PROMOTER_NPS = 50.0  # account segment: NPS >= 50 counts as promoter
_ACCOUNT_PASSIVE_NPS = 0.0  # 0 <= NPS < 50 passive, below detractor


def account_nps_category_codes(nps: np.ndarray) -> np.ndarray:
    """NPS_CATEGORIES codes of account NPS values: >= 50 promoter, 0..50 passive, < 0 detractor."""
    category = np.where(
        nps >= _ACCOUNT_PROMOTER_NPS - TOLERANCE,
        _PROMOTER,
        np.where(nps >= _ACCOUNT_PASSIVE_NPS - TOLERANCE, _PASSIVE, _DETRACTOR),
    )
    return np.where(np.isnan(nps), MISSING, category).astype(np.int8)


def gap_class_codes(gap: np.ndarray, threshold: float) -> np.ndarray:
    """GAP_CLASSES codes: G >= T blind_spot, G <= -T undervalued, else aligned; MISSING for NaN."""
    gap_class = np.where(
        gap >= threshold - TOLERANCE,
        _BLIND_SPOT,
        np.where(gap <= -threshold + TOLERANCE, _UNDERVALUED, _ALIGNED),
    )
    return np.where(np.isnan(gap), MISSING, gap_class).astype(np.int8)


@dataclass(frozen=True, eq=False)
class PairScores:
    """Section 3: one row per buyer response x seller response about the same contact."""

    buyer_row: np.ndarray
    seller_row: np.ndarray
    contact: np.ndarray
    seller: np.ndarray
    dimension_gaps: np.ndarray  # pairs x DIMENSIONS, seller minus buyer
    gap: np.ndarray
    item_gaps: np.ndarray  # pairs x DIMENSION_ITEMS
    nps_gap: np.ndarray
    gap_class: np.ndarray  # GAP_CLASSES codes
    dimension_gap_classes: np.ndarray


@dataclass(frozen=True, eq=False)
class ContactScores:
    """One row per roster contact; contacts without a buyer response have NaN and MISSING."""

    buyer_row: np.ndarray  # -1 without a buyer response
    weight: np.ndarray
    relationship_index: np.ndarray
    dimensions: np.ndarray
    level: np.ndarray  # MISSING without a buyer response
    nps_category: np.ndarray
    segment: np.ndarray
    satisfaction_trap: np.ndarray
    competitive_index: np.ndarray
    recommend: np.ndarray
    seller_dimensions: np.ndarray  # mean over seller responses about the contact
    seller_relationship_index: np.ndarray
    n_seller_responses: np.ndarray
    gap: np.ndarray  # mean over the contact's pairs
    dimension_gaps: np.ndarray
    nps_gap: np.ndarray
    gap_class: np.ndarray
    dimension_gap_classes: np.ndarray
    n_pairs: np.ndarray


@dataclass(frozen=True, eq=False)
class AccountScores:
    """Section 4: one row per account, role-weighted over its buyers."""

    relationship_index: np.ndarray
    dimensions: np.ndarray
    level: np.ndarray
    gap: np.ndarray
    dimension_gaps: np.ndarray
    gap_class: np.ndarray
    nps: np.ndarray  # influence-weighted
    nps_unweighted: np.ndarray
    nps_category: np.ndarray  # from the weighted NPS (>= 50, >= 0, < 0)
    n_nps: np.ndarray
    segment: np.ndarray
    revenue_at_risk: np.ndarray
    priority: np.ndarray  # revenue * (100 - RI) / 100
    n_buyers: np.ndarray
    n_contacts: np.ndarray


@dataclass(frozen=True, eq=False)
class _Structure:
    buyers: ResponseScores
    sellers: ResponseScores
    pairs: PairScores
    contacts: ContactScores
    accounts: AccountScores


def _grouped_mean(
    groups: np.ndarray, values: np.ndarray, size: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(Weighted) mean of the non-NaN values per group; without weights also how many there were.

    `values` may have a second axis (dimensions): each column is grouped on its own.
    """
    columns = values.shape[1] if values.ndim == 2 else 1
    index = groups if columns == 1 else (groups[:, None] * columns + np.arange(columns)).ravel()
    valid = ~np.isnan(values)
    present = np.where(valid, values, 0.0)
    length = size * columns
    if weights is None:
        total = np.bincount(index, weights=present.ravel(), minlength=length)
        weight = np.bincount(index, weights=valid.ravel(), minlength=length)
        count = weight.astype(np.int64)
    else:
        w = np.where(valid, weights if columns == 1 else weights[:, None], 0.0)
        total = np.bincount(index, weights=(present * w).ravel(), minlength=length)
        weight = np.bincount(index, weights=w.ravel(), minlength=length)
        count = None  # weights are positive: no weight means no value
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / weight
    mean[weight == 0] = np.nan
    if columns > 1 and values.ndim == 2:
        mean = mean.reshape(size, columns)
        count = None if count is None else count.reshape(size, columns)
    return mean, count


def _grouped_mean_columns(
    groups: np.ndarray, values: np.ndarray, size: int, weights: np.ndarray | None = None
) -> np.ndarray:
    return _grouped_mean(groups, values, size, weights)[0]


def _score_structure(
    wave: WaveInput,
    settings: ScoringSettings,
    *,
    with_sellers: bool = True,
    buyers: ResponseScores | None = None,
) -> _Structure:
    """Sections 2 to 4 for every response, pair, contact and account; without sellers (enough
    for a previous wave's trends) the gaps are NaN."""
    n_contacts, n_accounts = len(wave.contact_key), len(wave.account_external_id)
    threshold = settings.gap_threshold
    seller_rows = slice(None) if with_sellers else slice(0, 0)
    seller_contact, seller_id = wave.seller_contact[seller_rows], wave.seller_id[seller_rows]
    if buyers is None:
        buyers = score_responses(wave.buyer_answers, settings)
    sellers = score_responses(wave.seller_answers[seller_rows], settings)

    # pairs: each seller response about a contact that has a buyer response
    buyer_row_of_contact = np.full(n_contacts, -1, dtype=np.intp)
    buyer_row_of_contact[wave.buyer_contact] = np.arange(wave.n_buyers)
    matched = buyer_row_of_contact[seller_contact]
    seller_row = np.flatnonzero(matched >= 0)
    buyer_row = matched[seller_row]
    dimension_gaps = sellers.dimensions[seller_row] - buyers.dimensions[buyer_row]
    gap = sellers.relationship_index[seller_row] - buyers.relationship_index[buyer_row]
    pairs = PairScores(
        buyer_row=buyer_row,
        seller_row=seller_row,
        contact=seller_contact[seller_row],
        seller=seller_id[seller_row],
        dimension_gaps=dimension_gaps,
        gap=gap,
        item_gaps=sellers.item_scores[seller_row] - buyers.item_scores[buyer_row],
        nps_gap=sellers.recommend[seller_row] - buyers.recommend[buyer_row],
        gap_class=gap_class_codes(gap, threshold),
        dimension_gap_classes=gap_class_codes(dimension_gaps, threshold),
    )

    # contacts: the buyer's own scores, the sellers' view and the mean over pairs
    def per_contact(values: np.ndarray, fill: Any) -> np.ndarray:
        out = np.full((n_contacts, *values.shape[1:]), fill, dtype=values.dtype)
        out[wave.buyer_contact] = values
        return out

    contact_gap, n_pairs = _grouped_mean(pairs.contact, gap, n_contacts)
    contact_dimension_gaps = _grouped_mean_columns(pairs.contact, dimension_gaps, n_contacts)
    seller_ri, _ = _grouped_mean(seller_contact, sellers.relationship_index, n_contacts)
    weight = settings.role_weight_vector()[wave.contact_role]
    contact_ri = per_contact(buyers.relationship_index, np.nan)
    contact_dimensions = per_contact(buyers.dimensions, np.nan)
    contact_category = per_contact(buyers.nps_category, MISSING)
    contacts = ContactScores(
        buyer_row=buyer_row_of_contact,
        weight=weight,
        relationship_index=contact_ri,
        dimensions=contact_dimensions,
        level=per_contact(buyers.level, MISSING),
        nps_category=contact_category,
        segment=per_contact(buyers.segment, MISSING),
        satisfaction_trap=per_contact(buyers.satisfaction_trap, False),
        competitive_index=per_contact(buyers.competitive_index, np.nan),
        recommend=per_contact(buyers.recommend, np.nan),
        seller_dimensions=_grouped_mean_columns(seller_contact, sellers.dimensions, n_contacts),
        seller_relationship_index=seller_ri,
        n_seller_responses=np.bincount(seller_contact, minlength=n_contacts),
        gap=contact_gap,
        dimension_gaps=contact_dimension_gaps,
        nps_gap=_grouped_mean(pairs.contact, pairs.nps_gap, n_contacts)[0],
        gap_class=gap_class_codes(contact_gap, threshold),
        dimension_gap_classes=gap_class_codes(contact_dimension_gaps, threshold),
        n_pairs=n_pairs,
    )

    # accounts: role-weighted means over buyers whose value is not NaN
    account = wave.contact_account
    account_ri = _grouped_mean(account, contact_ri, n_accounts, weight)[0]
    account_gap = _grouped_mean(account, contact_gap, n_accounts, weight)[0]
    answered = contact_category >= 0
    promoter = contact_category == _PROMOTER
    detractor = contact_category == _DETRACTOR

    def account_sum(values: np.ndarray) -> np.ndarray:
        return np.bincount(account, weights=values, minlength=n_accounts)

    n_nps = account_sum(answered)
    with np.errstate(invalid="ignore", divide="ignore"):
        nps = 100.0 * (account_sum(promoter * weight) - account_sum(detractor * weight))
        nps /= account_sum(answered * weight)
        nps_unweighted = 100.0 * (account_sum(promoter) - account_sum(detractor)) / n_nps
    nps[n_nps == 0] = np.nan
    nps_unweighted[n_nps == 0] = np.nan
    account_level = level_codes(account_ri, settings.cut_points)
    account_category = account_nps_category_codes(nps)
    revenue = wave.account_revenue
    at_risk = (account_level == _ANTAGONISTIC) | (account_level == _TRANSACTIONAL)
    accounts = AccountScores(
        relationship_index=account_ri,
        dimensions=_grouped_mean_columns(account, contact_dimensions, n_accounts, weight),
        level=account_level,
        gap=account_gap,
        dimension_gaps=_grouped_mean_columns(account, contact_dimension_gaps, n_accounts, weight),
        gap_class=gap_class_codes(account_gap, threshold),
        nps=nps,
        nps_unweighted=nps_unweighted,
        nps_category=account_category,
        n_nps=n_nps.astype(np.int64),
        segment=segment_codes(account_level, account_category),
        revenue_at_risk=np.where(at_risk & ~np.isnan(revenue), revenue, 0.0),
        priority=revenue * (100.0 - account_ri) / 100.0,
        n_buyers=np.bincount(account[wave.buyer_contact], minlength=n_accounts),
        n_contacts=np.bincount(account, minlength=n_accounts),
    )
    return _Structure(buyers, sellers, pairs, contacts, accounts)
