"""The values of a trigger (SCORING.md section 6) in words: a level, an NPS category or a number.

Triggers no longer send one email each: they open cases, and their owners get one email per
wave (services/notify/cases.py); `relationship.alert` events stay for outside listeners.
"""

from __future__ import annotations

from typing import Any

from services.notify.rendering import Words
from shared.vocabulary import LEVELS, NPS_CATEGORIES

# What the previous/current values of each trigger kind are.
VALUE_KINDS = {
    "level_drop": "level",
    "antagonistic": "number",  # the contact's relationship index
    "became_detractor": "nps_category",
    "ri_drop": "number",
    "decision_maker_blind_spot": "number",  # the seller's and the buyer's relationship index
}


def describe(value: Any, kind: str, words: Words) -> str:
    """A previous or current value in words: a level, an NPS category or a number (a level or
    category sent as a code is its position in LEVELS or NPS_CATEGORIES, as the engine codes it)."""
    if value is None:
        return words.number(None)
    if kind in ("level", "nps_category"):
        names = LEVELS if kind == "level" else NPS_CATEGORIES
        if isinstance(value, int | float) and not isinstance(value, bool):
            code = int(value)
            value = names[code] if 0 <= code < len(names) and code == value else value
        if isinstance(value, str):
            return words.name(kind, value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return words.number(value)
    return str(value)
