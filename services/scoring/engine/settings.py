"""What a program may configure about its scoring, with the SCORING.md defaults."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from shared.vocabulary import (
    DEFAULT_CUT_POINTS,
    DEFAULT_GAP_THRESHOLD,
    DEFAULT_ROLE_WEIGHTS,
    LEVELS,
    ROLES,
)

FULL, PULSE = "full", "pulse"
QUESTIONNAIRES: tuple[str, ...] = (FULL, PULSE)
PULSE_ALPHA_REASON = "pulse wave: one item per dimension, so there is no alpha to estimate"


class InvalidScoringSettings(ValueError):
    """A program's scoring settings that cannot be used."""


_DEFAULT_ROLE_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {role: float(weight) for role, weight in DEFAULT_ROLE_WEIGHTS.items()}
)


@dataclass(frozen=True)
class ScoringSettings:
    """What a program may configure, with the SCORING.md defaults."""

    cut_points: tuple[float, float, float] = DEFAULT_CUT_POINTS  # __post_init__ makes floats
    gap_threshold: float = DEFAULT_GAP_THRESHOLD
    role_weights: Mapping[str, float] = field(default_factory=lambda: dict(_DEFAULT_ROLE_WEIGHTS))
    bootstrap_samples: int = 2000
    bootstrap_seed: int = 0
    min_alpha_n: int = 10
    min_impact_n: int = 10
    low_n: int = 3  # the program's `min_n`: an aggregate on fewer is flagged low_n
    min_interval_accounts: int = 5  # a wave interval on fewer accounts is low_n
    reliable_change: float = 1.96  # |RCI| at or above this is a reliable change
    default_reliability: float = 0.8  # RCI's r when under min_alpha_n buyers have all six
    questionnaire: str = FULL  # "pulse": one item per dimension (k = 1), no alpha

    def __post_init__(self) -> None:
        try:
            cuts = tuple(float(c) for c in self.cut_points)
            threshold = float(self.gap_threshold)
            weights = {
                **_DEFAULT_ROLE_WEIGHTS,
                **{k: float(v) for k, v in self.role_weights.items()},
            }
        except (TypeError, ValueError, AttributeError) as exc:
            raise InvalidScoringSettings(f"settings must be numbers: {exc}") from exc
        if len(cuts) != len(LEVELS) - 1 or not all(math.isfinite(c) for c in cuts):
            raise InvalidScoringSettings("cut_points must be three finite numbers")
        if not cuts[0] < cuts[1] < cuts[2]:
            raise InvalidScoringSettings("cut_points must increase")
        if not (math.isfinite(threshold) and threshold >= 0):
            raise InvalidScoringSettings("gap_threshold must be a number >= 0")
        unknown = set(weights) - set(ROLES)
        if unknown:
            raise InvalidScoringSettings(f"role_weights has unknown roles: {sorted(unknown)}")
        if not all(math.isfinite(w) and w > 0 for w in weights.values()):
            raise InvalidScoringSettings("role_weights must be positive numbers")
        sizes = (self.min_alpha_n, self.min_impact_n, self.low_n, self.min_interval_accounts)
        if self.bootstrap_samples < 0 or min(sizes) < 0:
            raise InvalidScoringSettings("sample sizes must be >= 0")
        if not (math.isfinite(self.reliable_change) and self.reliable_change > 0):
            raise InvalidScoringSettings("reliable_change must be a positive number")
        if not 0 <= self.default_reliability < 1:
            raise InvalidScoringSettings("default_reliability must be in 0..1 (1 excluded)")
        if self.questionnaire not in QUESTIONNAIRES:
            raise InvalidScoringSettings(
                f"questionnaire must be one of {', '.join(QUESTIONNAIRES)}"
            )
        object.__setattr__(self, "cut_points", cuts)
        object.__setattr__(self, "gap_threshold", threshold)
        object.__setattr__(self, "role_weights", MappingProxyType(weights))

    @classmethod
    def from_program(cls, settings: Mapping[str, Any] | None) -> ScoringSettings:
        """Settings from a program's `settings` document: reads cut_points, gap_threshold,
        role_weights and the thresholds of _PROGRAM_THRESHOLDS, ignores the rest."""
        settings = settings or {}
        overrides: dict[str, Any] = {}
        for key, name in _PROGRAM_THRESHOLDS.items():
            if settings.get(key) is not None:
                overrides[name] = settings[key]
        if settings.get("cut_points") is not None:
            overrides["cut_points"] = settings["cut_points"]
        if settings.get("gap_threshold") is not None:
            overrides["gap_threshold"] = settings["gap_threshold"]
        if settings.get("questionnaire") is not None:
            overrides["questionnaire"] = settings["questionnaire"]
        if settings.get("role_weights") is not None:
            if not isinstance(settings["role_weights"], Mapping):
                raise InvalidScoringSettings("role_weights must map roles to weights")
            overrides["role_weights"] = settings["role_weights"]
        return cls(**overrides)

    @property
    def pulse(self) -> bool:
        """True for a pulse wave: each dimension is its first item alone (k = 1)."""
        return self.questionnaire == PULSE

    def role_weight_vector(self) -> np.ndarray:
        """The weight of each role in ROLES order."""
        return np.array([self.role_weights[r] for r in ROLES], dtype=np.float64)


# a program setting's key -> the ScoringSettings field it sets (SCORING.md names on the left)
_PROGRAM_THRESHOLDS: Mapping[str, str] = MappingProxyType(
    {
        "min_n": "low_n",
        "min_interval_accounts": "min_interval_accounts",
        "reliable_change": "reliable_change",
        "default_reliability": "default_reliability",
    }
)

DEFAULT_SETTINGS = ScoringSettings()
