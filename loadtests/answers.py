"""Plausible survey answers for load tests and benchmarks (no Locust import: it patches the stdlib)."""

from __future__ import annotations

import random

from shared.vocabulary import DIMENSIONS, TOUCHPOINTS


def section_answers(section: str, *, quality: float) -> dict:
    """Plausible answers for one page of the questionnaire, around a latent quality (0..1)."""

    def agreement() -> int | None:
        if random.random() < 0.05:
            return None  # don't know
        return max(1, min(7, round(1 + 6 * quality + random.gauss(0, 1))))

    if section in DIMENSIONS:
        return {f"{section}.{i}": agreement() for i in (1, 2, 3)}
    if section == "recommend":
        return {
            "recommend": max(0, min(10, round(10 * quality + random.gauss(0, 1.5)))),
            "satisfaction": agreement(),
        }
    if section == "touchpoints":
        return {f"touchpoint.{t}": agreement() for t in TOUCHPOINTS}
    if section == "competitor":
        answers = {f"competitor.{d}": random.choice([-2, -1, 0, 1, 2, None]) for d in DIMENSIONS}
        answers["competitor.name"] = random.choice(["Acme Corp", "acme corp ", "Globex", "us"])
        return answers
    return {
        "comment.start": "Bring us ideas before we ask.",
        "comment.continue": "Quick answers from the service desk.",
    }


SECTIONS = (*DIMENSIONS, "recommend", "touchpoints", "competitor", "comments")
