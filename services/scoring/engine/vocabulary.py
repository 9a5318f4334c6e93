"""The item bank's columns and the codes arrays use for each class; the names themselves
(SCORING.md section 1 and the class names of sections 2 to 7) are shared.vocabulary's."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from shared.vocabulary import (
    ALERT_REASONS,
    COMMENT_KINDS,
    DIMENSIONS,
    GAP_CLASSES,
    INSUFFICIENT,
    LEVEL_NAMES,
    LEVELS,
    MOMENT_TAGS,
    NPS_CATEGORIES,
    QUADRANTS,
    ROLES,
    SEGMENTS,
    TOUCHPOINTS,
)

INSUFFICIENT_CODE = len(LEVELS)
MISSING = -1  # code of a missing category (no NPS answer, no segment, no gap class, no response)

ITEMS_PER_DIMENSION = 3
MIN_DIMENSIONS = 4  # dimensions a Relationship Index needs
DIMENSION_ITEMS: tuple[str, ...] = tuple(
    f"{d}.{i}" for d in DIMENSIONS for i in range(1, ITEMS_PER_DIMENSION + 1)
)
TOUCHPOINT_ITEMS: tuple[str, ...] = tuple(f"touchpoint.{t}" for t in TOUCHPOINTS)
COMPETITOR_ITEMS: tuple[str, ...] = tuple(f"competitor.{d}" for d in DIMENSIONS)
RATED_ITEMS: tuple[str, ...] = (
    *DIMENSION_ITEMS,
    "recommend",
    "satisfaction",
    *TOUCHPOINT_ITEMS,
    *COMPETITOR_ITEMS,
)
AGREEMENT_ITEMS: frozenset[str] = frozenset((*DIMENSION_ITEMS, "satisfaction", *TOUCHPOINT_ITEMS))
COLUMN: Mapping[str, int] = MappingProxyType({item: i for i, item in enumerate(RATED_ITEMS)})

# codes the score arrays hold: positions in NPS_CATEGORIES, GAP_CLASSES and LEVELS
PROMOTER, PASSIVE, DETRACTOR = range(3)
BLIND_SPOT, ALIGNED, UNDERVALUED = range(3)
ANTAGONISTIC, TRANSACTIONAL = 0, 1
FIX_FIRST, PROTECT, MONITOR, MAINTAIN = QUADRANTS  # a touchpoint's quadrant is stored by name

# Scores are sums of sixths of 100, so a value that is exactly on a cut point in real numbers
# can land a few ulps off it in floats; comparisons with cut points allow this much.
TOLERANCE = 1e-9

__all__ = [
    "AGREEMENT_ITEMS",
    "ALERT_REASONS",
    "ALIGNED",
    "ANTAGONISTIC",
    "BLIND_SPOT",
    "COLUMN",
    "COMMENT_KINDS",
    "COMPETITOR_ITEMS",
    "DETRACTOR",
    "DIMENSION_ITEMS",
    "DIMENSIONS",
    "FIX_FIRST",
    "GAP_CLASSES",
    "INSUFFICIENT",
    "INSUFFICIENT_CODE",
    "ITEMS_PER_DIMENSION",
    "LEVEL_NAMES",
    "LEVELS",
    "MAINTAIN",
    "MIN_DIMENSIONS",
    "MISSING",
    "MOMENT_TAGS",
    "MONITOR",
    "NPS_CATEGORIES",
    "PASSIVE",
    "PROMOTER",
    "PROTECT",
    "QUADRANTS",
    "RATED_ITEMS",
    "ROLES",
    "SEGMENTS",
    "TOLERANCE",
    "TOUCHPOINT_ITEMS",
    "TOUCHPOINTS",
    "TRANSACTIONAL",
    "UNDERVALUED",
]
