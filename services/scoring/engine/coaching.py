"""SCORING.md section 7: each seller's coaching priorities per dimension and the expand actions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.scoring.engine.inputs import WaveInput
from services.scoring.engine.settings import ScoringSettings
from services.scoring.engine.structure import Structure, gap_class_codes, grouped_mean_columns
from services.scoring.engine.vocabulary import DIMENSIONS, TOLERANCE, UNDERVALUED

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
