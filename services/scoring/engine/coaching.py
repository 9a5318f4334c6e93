"""SCORING.md sections 7 and 8: each seller's coaching priorities and expand actions, each
account's plan, and each seller's prediction accuracy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.scoring.engine.inputs import WaveInput
from services.scoring.engine.responses import segment_codes
from services.scoring.engine.settings import ScoringSettings
from services.scoring.engine.structure import (
    ACCOUNT_PASSIVE_NPS,
    ACCOUNT_PROMOTER_NPS,
    Structure,
    gap_class_codes,
    grouped_mean_columns,
)
from services.scoring.engine.trends import match_keys
from services.scoring.engine.vocabulary import (
    DIMENSIONS,
    INSUFFICIENT_CODE,
    LEVELS,
    MISSING,
    PROMOTER,
    TOLERANCE,
    UNDERVALUED,
)

_EXPAND_RI = 60.0  # an undervalued contact at or above this RI is ripe for more business
_PRIORITY_STEPS = 1e9  # coaching priorities are compared in steps of 1e-9


@dataclass(frozen=True, eq=False)
class SellerCoaching:
    """Section 7 per seller (rows follow WaveInput.seller_email)."""

    priority: np.ndarray  # sellers x DIMENSIONS, sum of w_c * (need + blind)
    has_score: np.ndarray  # sellers x DIMENSIONS: some contact has a buyer score
    top_dimensions: np.ndarray  # sellers x 3 DIMENSIONS codes by priority, -1 when fewer
    dimension_gaps: np.ndarray  # sellers x DIMENSIONS, role-weighted mean G_d over pairs
    dimension_gap_classes: np.ndarray
    pair_expand: np.ndarray  # per pair: undervalued contact with buyer RI >= 60


def seller_coaching(
    wave: WaveInput, structure: Structure, settings: ScoringSettings
) -> SellerCoaching:
    """Each seller's priority per dimension over the pairs they answered, their top three
    dimensions, their role-weighted gaps and which pairs call for an expand action."""
    pairs, buyers, contacts = structure.pairs, structure.buyers, structure.contacts
    n_sellers = len(wave.seller_email)
    weight = contacts.weight[pairs.contact]
    buyer_dimensions = buyers.dimensions[pairs.buyer_row]
    scored = ~np.isnan(buyer_dimensions)
    need = (100.0 - buyer_dimensions) / 100.0
    blind = np.maximum(0.0, np.nan_to_num(pairs.dimension_gaps, nan=0.0)) / 100.0
    contribution = np.where(scored, weight[:, None] * (need + blind), 0.0)
    priority = np.empty((n_sellers, len(DIMENSIONS)))
    has_score = np.empty((n_sellers, len(DIMENSIONS)), dtype=bool)
    for d in range(len(DIMENSIONS)):
        priority[:, d] = np.bincount(pairs.seller, weights=contribution[:, d], minlength=n_sellers)
        has_score[:, d] = np.bincount(pairs.seller, weights=scored[:, d], minlength=n_sellers) > 0
    # priorities equal to 1e-9 (float noise on an exact tie) rank in dimension order
    steps = np.rint(priority * _PRIORITY_STEPS)
    order = np.argsort(np.where(has_score, -steps, np.inf), axis=1, kind="stable")[:, :3]
    top = np.where(np.take_along_axis(has_score, order, axis=1), order, -1)
    seller_gaps = grouped_mean_columns(pairs.seller, pairs.dimension_gaps, n_sellers, weight)
    expand = (contacts.gap_class[pairs.contact] == UNDERVALUED) & (
        buyers.relationship_index[pairs.buyer_row] >= _EXPAND_RI - TOLERANCE
    )
    return SellerCoaching(
        priority=priority,
        has_score=has_score,
        top_dimensions=top,
        dimension_gaps=seller_gaps,
        dimension_gap_classes=gap_class_codes(seller_gaps, settings.gap_threshold),
        pair_expand=expand,
    )


@dataclass(frozen=True, eq=False)
class SellerAccuracy:
    """Section 8 per seller (rows follow WaveInput.seller_email): 100 - mean |G_d| over their
    pairs and the dimensions with a gap, the pairs behind it, and its change since the
    previous wave (NaN without one)."""

    accuracy: np.ndarray
    n_pairs: np.ndarray
    change: np.ndarray


def seller_accuracy(n_sellers: int, structure: Structure) -> tuple[np.ndarray, np.ndarray]:
    """Each seller's prediction accuracy and the pairs (with some dimension gap) behind it."""
    pairs = structure.pairs
    gaps = np.abs(pairs.dimension_gaps)
    known = ~np.isnan(gaps)
    total = np.bincount(
        pairs.seller, weights=np.where(known, gaps, 0.0).sum(axis=1), minlength=n_sellers
    )
    count = np.bincount(pairs.seller, weights=known.sum(axis=1), minlength=n_sellers)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = 100.0 - total / count
    n_pairs = np.bincount(pairs.seller, weights=known.any(axis=1), minlength=n_sellers)
    return accuracy, n_pairs.astype(np.int64)


def accuracy_with_change(
    wave: WaveInput,
    now: Structure,
    previous_wave: WaveInput | None,
    before: Structure | None,
) -> SellerAccuracy:
    """Section 8 for every seller of this wave, with the change since `previous_wave` (matched
    by e-mail)."""
    accuracy, n_pairs = seller_accuracy(len(wave.seller_email), now)
    change = np.full(accuracy.shape, np.nan)
    if previous_wave is not None and before is not None:
        old, _ = seller_accuracy(len(previous_wave.seller_email), before)
        # matched in the reversed list: an e-mail listed twice before counts at its last place
        reversed_at = match_keys(wave.seller_email, previous_wave.seller_email[::-1])
        at = np.flatnonzero(reversed_at >= 0)
        change[at] = accuracy[at] - old[len(previous_wave.seller_email) - 1 - reversed_at[at]]
    return SellerAccuracy(accuracy, n_pairs, change)


@dataclass(frozen=True, eq=False)
class AccountPlans:
    """Section 7's account plan per account (codes MISSING where none): the next level and
    the RI it needs, the two levers (dimensions) with their headroom and RI gain, and the
    segment one level up and one NPS category up with the NPS points that takes."""

    next_level: np.ndarray  # LEVELS code, MISSING for trusted_advisor or without an RI
    ri_needed: np.ndarray
    levers: np.ndarray  # accounts x 2 DIMENSIONS codes, MISSING when fewer
    headroom: np.ndarray  # accounts x 2, 100 - the account's weighted dimension score
    ri_gain: np.ndarray  # accounts x 2, (best dimension score - lever's) / 6
    if_level_up: np.ndarray  # SEGMENTS code
    if_nps_up: np.ndarray  # SEGMENTS code
    nps_needed: np.ndarray


def account_plans(structure: Structure, settings: ScoringSettings) -> AccountPlans:
    """What would move each account with an RI up a level or a segment (section 7)."""
    accounts = structure.accounts
    level, category = accounts.level.astype(np.intp), accounts.nps_category.astype(np.intp)
    has_ri = ~np.isnan(accounts.relationship_index)
    cuts = np.array((*settings.cut_points, np.nan))
    step_up = has_ri & (level < len(LEVELS) - 1)
    next_level = np.where(step_up, level + 1, MISSING)
    ri_needed = np.where(step_up, cuts[np.minimum(level, len(LEVELS) - 1)], np.nan)
    ri_needed -= accounts.relationship_index
    # a dimension's weighted headroom over the buyers with a score is 100 - the account's D_d
    headroom = 100.0 - accounts.dimensions
    steps = np.rint(np.nan_to_num(headroom, nan=-np.inf) * _PRIORITY_STEPS)
    order = np.argsort(-steps, axis=1, kind="stable")[:, :2]
    chosen = np.take_along_axis(headroom, order, axis=1)
    present = ~np.isnan(chosen) & has_ri[:, None]
    best = np.max(np.where(np.isnan(accounts.dimensions), -np.inf, accounts.dimensions), axis=1)
    gain = (best[:, None] - np.take_along_axis(accounts.dimensions, order, axis=1)) / len(
        DIMENSIONS
    )
    up_category = np.where(category > PROMOTER, category - 1, MISSING)
    thresholds = np.array([np.nan, ACCOUNT_PROMOTER_NPS, ACCOUNT_PASSIVE_NPS])
    nps_needed = thresholds[np.maximum(category, 0)] - accounts.nps
    nps_needed[(category <= PROMOTER) | ~has_ri] = np.nan
    return AccountPlans(
        next_level=next_level.astype(np.int8),
        ri_needed=ri_needed,
        levers=np.where(present, order, MISSING),
        headroom=np.where(present, chosen, np.nan),
        ri_gain=np.where(present, gain, np.nan),
        if_level_up=segment_codes(np.where(step_up, level + 1, INSUFFICIENT_CODE), category),
        if_nps_up=segment_codes(np.where(has_ri, level, INSUFFICIENT_CODE), up_category),
        nps_needed=nps_needed,
    )
