"""The names the scoring speaks in (SCORING.md section 1 and the class names of sections 2 to 7),
the item bank's columns, and the codes arrays use for each class."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

DIMENSIONS: tuple[str, ...] = (
    "trust",
    "competence",
    "recognition",
    "proactivity",
    "responsiveness",
    "commitment",
)
TOUCHPOINTS: tuple[str, ...] = (
    "sales",
    "service",
    "delivery",
    "product",
    "implementation",
    "billing",
)
ROLES: tuple[str, ...] = ("decision_maker", "influencer", "user", "other")
LEVELS: tuple[str, ...] = ("antagonistic", "transactional", "predisposed", "trusted_advisor")
INSUFFICIENT = "insufficient"
LEVEL_NAMES: tuple[str, ...] = (*LEVELS, INSUFFICIENT)
INSUFFICIENT_CODE = len(LEVELS)
NPS_CATEGORIES: tuple[str, ...] = ("promoter", "passive", "detractor")
SEGMENTS: tuple[str, ...] = ("ambassador", "rational", "ambivalent", "stalker", "opponent")
GAP_CLASSES: tuple[str, ...] = ("blind_spot", "aligned", "undervalued")
MOMENT_TAGS: tuple[str, ...] = ("delighted", "let_down", "angry")
ALERT_REASONS: tuple[str, ...] = ("level_drop", "ri_drop", "became_detractor", "antagonistic")
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

# Scores are sums of sixths of 100, so a value that is exactly on a cut point in real numbers
# can land a few ulps off it in floats; comparisons with cut points allow this much.
TOLERANCE = 1e-9
