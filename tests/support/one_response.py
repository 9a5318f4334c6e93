"""One response scored alone through the engine's public path (the engine scores whole matrices)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.scoring.engine import (
    DEFAULT_SETTINGS,
    ScoringSettings,
    answers_to_matrix,
    response_scores_to_json,
    score_responses,
)


def score_one(
    answers: Mapping[str, Any],
    settings: ScoringSettings = DEFAULT_SETTINGS,
    *,
    reverse_items: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The section 2 scores of one completed response: a one-row answers matrix through
    score_responses, as response_scores_to_json gives them."""
    scores = score_responses(answers_to_matrix([answers], reverse_items), settings)
    return response_scores_to_json(scores, 0)
