"""Numbers and names as the JSON documents spell them: NaN and infinities as null, codes as
the words of SCORING.md (MISSING as null)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def name(names: tuple[str, ...], code: int) -> str | None:
    return None if code < 0 else names[code]


def number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def numbers(values: np.ndarray) -> list[float | None]:
    return [v if v == v else None for v in np.asarray(values, dtype=np.float64).tolist()]


def plain_numbers(values: np.ndarray) -> list[float | None]:
    """Floats as JSON numbers, NaN and infinities as None (one pass over the column)."""
    return [v if math.isfinite(v) else None for v in np.asarray(values, dtype=np.float64).tolist()]


def names(names: tuple[str, ...], codes: np.ndarray) -> list[str | None]:
    return [names[c] if c >= 0 else None for c in codes.tolist()]
