"""The coaching library (SCORING.md section 7): loaded from YAML here, handed to the engine as a dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.scoring.engine import DIMENSIONS, GAP_CLASSES

DEFAULT_LIBRARY_PATH = Path(__file__).with_name("coaching.yaml")


class CoachingLibraryError(ValueError):
    """A coaching library that misses a dimension, a gap class or the expand action."""


def validate_coaching_library(library: Any) -> dict[str, Any]:
    """The library if it has 1+ behaviours for every dimension and gap class and an expand action."""
    if not isinstance(library, dict) or not isinstance(library.get("dimensions"), dict):
        raise CoachingLibraryError("the library needs a `dimensions` mapping")
    for dimension in DIMENSIONS:
        cells = library["dimensions"].get(dimension)
        if not isinstance(cells, dict):
            raise CoachingLibraryError(f"no behaviours for dimension {dimension!r}")
        for gap_class in GAP_CLASSES:
            behaviours = cells.get(gap_class)
            if (
                not isinstance(behaviours, list)
                or not behaviours
                or not all(isinstance(b, str) and b.strip() for b in behaviours)
            ):
                raise CoachingLibraryError(f"no behaviours for {dimension}.{gap_class}")
    expand = library.get("expand")
    if not isinstance(expand, dict) or not isinstance(expand.get("text"), str):
        raise CoachingLibraryError("the library needs an `expand` action with a `text`")
    return library


def load_coaching_library(path: str | Path | None = None) -> dict[str, Any]:
    """The coaching library from `path` (the packaged coaching.yaml by default), validated."""
    with open(path or DEFAULT_LIBRARY_PATH, encoding="utf-8") as handle:
        return validate_coaching_library(yaml.safe_load(handle))
