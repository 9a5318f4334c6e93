"""Schemathesis hooks for the live run of tests/integration/test_api_fuzz.py (SCHEMATHESIS_HOOKS).

JSON Schema cannot compare array items, read the clock, read a CSV header or know what a
respondent saved before, so the OpenAPI document states those rules in words. A schema-valid
request refused for one of them, with the service's own message, is not a disagreement; any
other refusal still fails the run.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

CLOSED = ("", "this survey is closed", "closed")
# operation -> (field, message, words the document uses for the rule); an empty field matches
# the start of the error message instead of a field's message.
SAID_IN_WORDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "POST /api/v1/programs": (
        ("settings.cut_points", "must be strictly increasing", "strictly increasing"),
        (
            "settings.reminder_days",
            "must be strictly increasing, without repeats",
            "strictly increasing",
        ),
    ),
    "PATCH /api/v1/programs/{program_id}": (
        ("settings.cut_points", "must be strictly increasing", "strictly increasing"),
        (
            "settings.reminder_days",
            "must be strictly increasing, without repeats",
            "strictly increasing",
        ),
    ),
    "POST /api/v1/programs/{program_id}/waves": (
        ("closes_at", "must be in the future", "must be in the future"),
        ("opens_at", "must be before closes_at", "must be before closes_at"),
        ("reminder_days", "must be strictly increasing, without repeats", "strictly increasing"),
    ),
    "POST /api/v1/programs/{program_id}/roster": (
        ("", "the roster file is empty", "a header line naming the columns"),
        ("", "missing columns", "a header line naming the columns"),
        ("", "the roster has a header but no rows", "at least one valid row"),
        ("", "no row could be imported", "at least one valid row"),
        ("", "the roster is a binary file", "CSV"),
        ("", "the roster is not a CSV file", "CSV"),  # the same rule in main's newer wording
    ),
    "PATCH /api/v1/waves/{wave_id}": (
        ("closes_at", "must be in the future", "must be in the future"),
        ("closes_at", "must be after opens_at", "after opens_at"),
        (
            "closes_at",
            "may only move later while the wave is open",
            "may only move later while the wave is open",
        ),
        ("reminder_days", "must be strictly increasing, without repeats", "strictly increasing"),
        (
            "body",
            "send name, closes_at or reminder_days",
            "at least one of name, closes_at or reminder_days",
        ),
    ),
    "POST /api/v1/waves/{wave_id}/reminders": (
        ("", "to: not invited to this wave", "not invited"),
    ),
    "PATCH /api/v1/cases/{case_id}": (
        ("note", "is required to close a case", "closing needs a note"),
        ("status", "a case goes open -> in_progress -> closed, never back", "never back"),
        ("owner_email", "not a user or seller of this organisation", "a user or seller"),
        ("body", "send status, note or owner_email", "send status, note or owner_email"),
    ),
    "PUT /api/v1/organisation/logo": (
        ("", "the file is not a PNG image", "PNG"),
        ("", "the file is not a usable SVG", "SVG"),
        ("", "the logo is empty", "image"),
    ),
    "GET /api/v1/respond/{token}": (CLOSED,),
    "PUT /api/v1/respond/{token}/subjects/{subject_id}": (CLOSED,),
    "POST /api/v1/respond/{token}/subjects/{subject_id}/submit": (
        ("", "required answers are missing", "every required item"),
        CLOSED,
    ),
}


def refused_for_a_rule_in_words(operation: str, body: Any) -> bool:
    """True when the error body names only rules the document states in words for the operation."""
    rules = SAID_IN_WORDS.get(operation, ())
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return False
    message = str(error.get("message", ""))
    if any(not field and message.startswith(words) for field, words, _ in rules):
        return True
    details = error.get("details") or {}
    allowed = {(field, words) for field, words, _ in rules if field}
    return bool(details) and all(
        (field, problem) in allowed for field, problems in details.items() for problem in problems
    )


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    """Keep every failure except a refusal of valid data for a rule the document says in words."""
    if not isinstance(failure, RejectedPositiveData):
        return True
    try:
        body = response.json()
    except ValueError:
        return True
    return not refused_for_a_rule_in_words(case.operation.label, body)
