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
    ALIGNED,
    ANTAGONISTIC,
    BLIND_SPOT,
    DETRACTOR,
    MISSING,
    PASSIVE,
    PROMOTER,
    TOLERANCE,
    TRANSACTIONAL,
    UNDERVALUED,
)

ACCOUNT_PROMOTER_NPS = 50.0  # account segment: NPS >= 50 counts as promoter
ACCOUNT_PASSIVE_NPS = 0.0  # 0 <= NPS < 50 passive, below detractor


def account_nps_category_codes(nps: np.ndarray) -> np.ndarray:
    """NPS_CATEGORIES codes of account NPS values: >= 50 promoter, 0..50 passive, < 0 detractor."""
    category = np.where(
        nps >= ACCOUNT_PROMOTER_NPS - TOLERANCE,
        PROMOTER,
        np.where(nps >= ACCOUNT_PASSIVE_NPS - TOLERANCE, PASSIVE, DETRACTOR),
    )
    return np.where(np.isnan(nps), MISSING, category).astype(np.int8)


def gap_class_codes(gap: np.ndarray, threshold: float) -> np.ndarray:
    """GAP_CLASSES codes: G >= T blind_spot, G <= -T undervalued, else aligned; MISSING for NaN."""
    gap_class = np.where(
        gap >= threshold - TOLERANCE,
        BLIND_SPOT,
        np.where(gap <= -threshold + TOLERANCE, UNDERVALUED, ALIGNED),
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
    n_nps: np.ndarray  # buyers with a recommend
    n_ri: np.ndarray  # buyers with an RI
    n_pairs: np.ndarray  # pairs with a gap, over the account's contacts
    segment: np.ndarray
    revenue_at_risk: np.ndarray  # NaN when the revenue is unknown
    priority: np.ndarray  # revenue * (100 - RI) / 100
    n_buyers: np.ndarray
    n_contacts: np.ndarray


@dataclass(frozen=True, eq=False)
class Structure:
    """Sections 2 to 4 of one wave: its responses' scores, the pairs, contacts and accounts."""

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


def grouped_mean_columns(
    groups: np.ndarray, values: np.ndarray, size: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """The (weighted) mean of the non-NaN values per group, each column on its own."""
    return _grouped_mean(groups, values, size, weights)[0]


def score_structure(
    wave: WaveInput,
    settings: ScoringSettings,
    *,
    with_sellers: bool = True,
    buyers: ResponseScores | None = None,
) -> Structure:
    """Sections 2 to 4 for every response, pair, contact and account; without sellers (enough
    for a previous wave's trends) the gaps are NaN."""
    seller_rows = slice(None) if with_sellers else slice(0, 0)
    seller_contact, seller_id = wave.seller_contact[seller_rows], wave.seller_id[seller_rows]
    if buyers is None:
        buyers = score_responses(wave.buyer_answers, settings)
    sellers = score_responses(wave.seller_answers[seller_rows], settings)
    buyer_row_of_contact = np.full(len(wave.contact_key), -1, dtype=np.intp)
    buyer_row_of_contact[wave.buyer_contact] = np.arange(wave.n_buyers)
    pairs = _pair_scores(
        buyers, sellers, buyer_row_of_contact[seller_contact], seller_contact, seller_id, settings
    )
    contacts = _contact_scores(
        wave, settings, buyers, sellers, pairs, buyer_row_of_contact, seller_contact
    )
    return Structure(buyers, sellers, pairs, contacts, _account_scores(wave, settings, contacts))


def _pair_scores(
    buyers: ResponseScores,
    sellers: ResponseScores,
    matched: np.ndarray,
    seller_contact: np.ndarray,
    seller_id: np.ndarray,
    settings: ScoringSettings,
) -> PairScores:
    """Section 3: each seller response about a contact that has a buyer response (`matched`,
    the buyer row of each seller response's contact, -1 without one) is a pair."""
    threshold = settings.gap_threshold
    seller_row = np.flatnonzero(matched >= 0)
    buyer_row = matched[seller_row]
    dimension_gaps = sellers.dimensions[seller_row] - buyers.dimensions[buyer_row]
    gap = sellers.relationship_index[seller_row] - buyers.relationship_index[buyer_row]
    return PairScores(
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


def _contact_scores(
    wave: WaveInput,
    settings: ScoringSettings,
    buyers: ResponseScores,
    sellers: ResponseScores,
    pairs: PairScores,
    buyer_row_of_contact: np.ndarray,
    seller_contact: np.ndarray,
) -> ContactScores:
    """Every roster contact: the buyer's own scores, the sellers' view and the mean over pairs."""
    n_contacts, threshold = len(wave.contact_key), settings.gap_threshold

    def per_contact(values: np.ndarray, fill: Any) -> np.ndarray:
        out = np.full((n_contacts, *values.shape[1:]), fill, dtype=values.dtype)
        out[wave.buyer_contact] = values
        return out

    contact_gap, n_pairs = _grouped_mean(pairs.contact, pairs.gap, n_contacts)
    contact_dimension_gaps = grouped_mean_columns(pairs.contact, pairs.dimension_gaps, n_contacts)
    seller_ri, _ = _grouped_mean(seller_contact, sellers.relationship_index, n_contacts)
    return ContactScores(
        buyer_row=buyer_row_of_contact,
        weight=settings.role_weight_vector()[wave.contact_role],
        relationship_index=per_contact(buyers.relationship_index, np.nan),
        dimensions=per_contact(buyers.dimensions, np.nan),
        level=per_contact(buyers.level, MISSING),
        nps_category=per_contact(buyers.nps_category, MISSING),
        segment=per_contact(buyers.segment, MISSING),
        satisfaction_trap=per_contact(buyers.satisfaction_trap, False),
        competitive_index=per_contact(buyers.competitive_index, np.nan),
        recommend=per_contact(buyers.recommend, np.nan),
        seller_dimensions=grouped_mean_columns(seller_contact, sellers.dimensions, n_contacts),
        seller_relationship_index=seller_ri,
        n_seller_responses=np.bincount(seller_contact, minlength=n_contacts),
        gap=contact_gap,
        dimension_gaps=contact_dimension_gaps,
        nps_gap=_grouped_mean(pairs.contact, pairs.nps_gap, n_contacts)[0],
        gap_class=gap_class_codes(contact_gap, threshold),
        dimension_gap_classes=gap_class_codes(contact_dimension_gaps, threshold),
        n_pairs=n_pairs,
    )


def _account_nps(
    account: np.ndarray, category: np.ndarray, weight: np.ndarray, n_accounts: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each account's influence-weighted NPS, its unweighted NPS and how many buyers answered."""
    answered = category >= 0
    promoter = category == PROMOTER
    detractor = category == DETRACTOR

    def account_sum(values: np.ndarray) -> np.ndarray:
        return np.bincount(account, weights=values, minlength=n_accounts)

    n_nps = account_sum(answered)
    with np.errstate(invalid="ignore", divide="ignore"):
        nps = 100.0 * (account_sum(promoter * weight) - account_sum(detractor * weight))
        nps /= account_sum(answered * weight)
        nps_unweighted = 100.0 * (account_sum(promoter) - account_sum(detractor)) / n_nps
    nps[n_nps == 0] = np.nan
    nps_unweighted[n_nps == 0] = np.nan
    return nps, nps_unweighted, n_nps


def _account_scores(
    wave: WaveInput, settings: ScoringSettings, contacts: ContactScores
) -> AccountScores:
    """Section 4: role-weighted means over each account's buyers whose value is not NaN."""
    account, n_accounts, weight = (
        wave.contact_account,
        len(wave.account_external_id),
        contacts.weight,
    )
    account_ri = _grouped_mean(account, contacts.relationship_index, n_accounts, weight)[0]
    account_gap = _grouped_mean(account, contacts.gap, n_accounts, weight)[0]
    nps, nps_unweighted, n_nps = _account_nps(account, contacts.nps_category, weight, n_accounts)
    account_level = level_codes(account_ri, settings.cut_points)
    account_category = account_nps_category_codes(nps)
    revenue = wave.account_revenue
    at_risk = (account_level == ANTAGONISTIC) | (account_level == TRANSACTIONAL)
    return AccountScores(
        relationship_index=account_ri,
        dimensions=grouped_mean_columns(account, contacts.dimensions, n_accounts, weight),
        level=account_level,
        gap=account_gap,
        dimension_gaps=grouped_mean_columns(account, contacts.dimension_gaps, n_accounts, weight),
        gap_class=gap_class_codes(account_gap, settings.gap_threshold),
        nps=nps,
        nps_unweighted=nps_unweighted,
        nps_category=account_category,
        n_nps=n_nps.astype(np.int64),
        n_ri=np.bincount(
            account, weights=~np.isnan(contacts.relationship_index), minlength=n_accounts
        ).astype(np.int64),
        n_pairs=np.bincount(account, weights=contacts.n_pairs, minlength=n_accounts).astype(
            np.int64
        ),
        segment=segment_codes(account_level, account_category),
        # an unknown revenue is not a revenue of zero: it stays NaN
        revenue_at_risk=np.where(at_risk, revenue, np.where(np.isnan(revenue), np.nan, 0.0)),
        priority=revenue * (100.0 - account_ri) / 100.0,
        n_buyers=np.bincount(account[wave.buyer_contact], minlength=n_accounts),
        n_contacts=np.bincount(account, minlength=n_accounts),
    )
