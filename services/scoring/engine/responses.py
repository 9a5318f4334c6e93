"""SCORING.md section 2: the scores of each response, one row per response of an answers matrix."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.scoring.engine.inputs import InvalidWaveInput
from services.scoring.engine.settings import DEFAULT_SETTINGS, ScoringSettings
from services.scoring.engine.vocabulary import (
    COLUMN,
    COMPETITOR_ITEMS,
    DETRACTOR,
    DIMENSION_ITEMS,
    DIMENSIONS,
    INSUFFICIENT_CODE,
    ITEMS_PER_DIMENSION,
    LEVELS,
    MIN_DIMENSIONS,
    MISSING,
    PASSIVE,
    PROMOTER,
    RATED_ITEMS,
    SEGMENTS,
    TOLERANCE,
    TOUCHPOINT_ITEMS,
)

_N_DIM_ITEMS = len(DIMENSION_ITEMS)
_RECOMMEND = COLUMN["recommend"]
_SATISFACTION = COLUMN["satisfaction"]
_TOUCHPOINT_COLS = slice(COLUMN[TOUCHPOINT_ITEMS[0]], COLUMN[TOUCHPOINT_ITEMS[-1]] + 1)
_COMPETITOR_COLS = slice(COLUMN[COMPETITOR_ITEMS[0]], COLUMN[COMPETITOR_ITEMS[-1]] + 1)
_MIN_ITEMS = math.ceil(ITEMS_PER_DIMENSION / 2)
_COMMITMENT = DIMENSIONS.index("commitment")

_SATISFIED = 6.0  # satisfaction at or above this is "fine" (the satisfaction trap)
_COMMITTED = 60.0  # commitment under this while satisfied is the trap
_COMPETITOR_SCALE = 50.0  # -2..2 onto -100..100

_SMALL_N = 64  # below this many rows a reduction beats a loop over columns

# Section 2 segment table: rows are level codes (antagonistic .. trusted_advisor),
# columns NPS categories (promoter, passive, detractor).
SEGMENT_TABLE: tuple[tuple[str, str, str], ...] = (
    ("ambivalent", "opponent", "opponent"),  # RI < 40
    ("ambivalent", "stalker", "stalker"),  # 40 <= RI < 60
    ("rational", "rational", "ambivalent"),  # 60 <= RI < 80
    ("ambassador", "rational", "ambivalent"),  # RI >= 80
)
_SEGMENT_CODES = np.array([[SEGMENTS.index(s) for s in row] for row in SEGMENT_TABLE], np.int8)


@dataclass(frozen=True, eq=False)
class ResponseScores:
    """Section 2 scores of n responses, one row each; categories are codes (MISSING = -1)."""

    item_scores: np.ndarray  # n x DIMENSION_ITEMS on 0..100
    dimensions: np.ndarray  # n x DIMENSIONS
    relationship_index: np.ndarray
    level: np.ndarray  # LEVEL_NAMES codes, INSUFFICIENT_CODE when RI is NaN
    nps_category: np.ndarray  # NPS_CATEGORIES codes
    segment: np.ndarray  # SEGMENTS codes
    satisfaction_trap: np.ndarray  # bool
    competitive_index: np.ndarray
    touchpoint_scores: np.ndarray  # n x TOUCHPOINTS on 0..100
    recommend: np.ndarray  # the raw 0..10 answer


def _mean_if_enough(values: np.ndarray, minimum: int) -> np.ndarray:
    """Mean over the last axis of the answered values, NaN where fewer than `minimum` are."""
    answered = ~np.isnan(values)
    present = np.where(answered, values, 0.0)
    if values.ndim < 2 or values.shape[0] < _SMALL_N:
        count = answered.sum(axis=-1)  # few rows: fewest numpy calls
        total = present.sum(axis=-1)
    else:
        # many rows: add the columns of the short last axis (faster than a reduction over it)
        total = present[..., 0].copy()
        count = answered[..., 0].astype(np.intp)
        for j in range(1, values.shape[-1]):
            total += present[..., j]
            count += answered[..., j]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    mean[count < minimum] = np.nan
    return mean


def _item_scores(raw: np.ndarray) -> np.ndarray:
    scores = raw - 1.0
    scores /= 6.0
    scores *= 100.0
    return scores


def level_codes(relationship_index: np.ndarray, cut_points: Sequence[float]) -> np.ndarray:
    """LEVEL_NAMES codes of RI values: each cut point belongs to the level above it."""
    ri = np.asarray(relationship_index, dtype=np.float64)
    level = np.searchsorted(np.asarray(cut_points, dtype=np.float64), ri + TOLERANCE, side="right")
    return np.where(np.isnan(ri), INSUFFICIENT_CODE, level).astype(np.int8)


def nps_category_codes(recommend: np.ndarray) -> np.ndarray:
    """NPS_CATEGORIES codes of 0..10 answers: 9-10 promoter, 7-8 passive, 0-6 detractor."""
    category = np.where(recommend >= 9, PROMOTER, np.where(recommend >= 7, PASSIVE, DETRACTOR))
    return np.where(np.isnan(recommend), MISSING, category).astype(np.int8)


def segment_codes(level: np.ndarray, nps_category: np.ndarray) -> np.ndarray:
    """SEGMENTS codes from level and NPS category codes; MISSING without an RI or a category."""
    segment = _SEGMENT_CODES[np.minimum(level, len(LEVELS) - 1), np.maximum(nps_category, 0)]
    missing = (level == INSUFFICIENT_CODE) | (level < 0) | (nps_category < 0)
    return np.where(missing, MISSING, segment).astype(np.int8)


def score_responses(
    answers: np.ndarray, settings: ScoringSettings = DEFAULT_SETTINGS
) -> ResponseScores:
    """Section 2 scores of every row of an answers matrix (responses x RATED_ITEMS)."""
    raw = np.asarray(answers, dtype=np.float64)
    if raw.ndim != 2 or raw.shape[1] != len(RATED_ITEMS):
        raise InvalidWaveInput(f"answers must be n x {len(RATED_ITEMS)}")
    n = raw.shape[0]
    items = _item_scores(raw[:, :_N_DIM_ITEMS])
    per_dimension = items.reshape(n, len(DIMENSIONS), ITEMS_PER_DIMENSION)
    if settings.pulse:  # a pulse wave asks each dimension's first item only: k = 1
        dimensions = _mean_if_enough(np.ascontiguousarray(per_dimension[:, :, 0:1]), 1)
    else:
        dimensions = _mean_if_enough(per_dimension, _MIN_ITEMS)
    ri = _mean_if_enough(dimensions, MIN_DIMENSIONS)
    level = level_codes(ri, settings.cut_points)
    recommend = raw[:, _RECOMMEND]
    category = nps_category_codes(recommend)
    trap = (raw[:, _SATISFACTION] >= _SATISFIED) & (
        dimensions[:, _COMMITMENT] < _COMMITTED - TOLERANCE
    )
    competitive = _mean_if_enough(raw[:, _COMPETITOR_COLS], 1) * _COMPETITOR_SCALE
    return ResponseScores(
        item_scores=items,
        dimensions=dimensions,
        relationship_index=ri,
        level=level,
        nps_category=category,
        segment=segment_codes(level, category),
        satisfaction_trap=trap,
        competitive_index=competitive,
        touchpoint_scores=_item_scores(raw[:, _TOUCHPOINT_COLS]),
        recommend=recommend,
    )
