"""Numbers and names as the JSON documents spell them: NaN and infinities as null, codes as
the words of SCORING.md (MISSING as null)."""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a document of many small dicts and lists is built.

    Such a document has no reference cycles, so a collection finds nothing; yet each 2,000 new
    containers start one, and the older ones walk every object of the process (the 20,000
    accounts' document started about a hundred, one of them a full one of a quarter second).
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
