"""HTML form fields <-> answers for one survey page: pure functions, no I/O.

A rated item is a radio group named by its item id, with "dk" for don't know; a text
item is a field named by its id; the critical moments are numbered rows of three fields
(`moments-<n>-touchpoint`, `-tag`, `-text`). A radio group left untouched keeps what was
saved before; a text field posted empty clears it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.questionnaire import Item, Section

DONT_KNOW = "dk"
MOMENTS_PRESENT = "moments-present"
_MIN_MOMENT_ROWS = 3


def field_id(name: str) -> str:
    """An HTML id for an item id or a moments row ("trust.1" -> "q-trust-1")."""
    return "q-" + name.replace(".", "-")


def answers_from_form(
    form: Mapping[str, str], section: Section, words: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The answers a page posted, and messages for the fields that are wrong.

    Only the section's own items are read; anything else in the form is ignored.
    """
    answers: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for item in section.items:
        if item.rated:
            raw = (form.get(item.id) or "").strip()
            if not raw:
                continue
            if raw == DONT_KNOW:
                answers[item.id] = None
                continue
            value = _whole_number(raw)
            if value is None or not (item.scale_min <= value <= item.scale_max):  # type: ignore[operator]
                errors[item.id] = [words["error_choice"]]
                continue
            answers[item.id] = value
        elif item.kind == "text":
            if item.id not in form:
                continue
            raw = form.get(item.id) or ""
            if item.max_length and len(raw) > item.max_length:
                errors[item.id] = [words["error_too_long"].format(n=item.max_length)]
                continue
            answers[item.id] = raw
        elif item.kind == "moments" and MOMENTS_PRESENT in form:
            moments, row_errors = _moments_from_form(form, item, words)
            errors.update(row_errors)
            if not row_errors:
                answers[item.id] = moments or None
    return answers, errors


def _moments_from_form(
    form: Mapping[str, str], item: Item, words: Mapping[str, str]
) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    moments: list[dict[str, str]] = []
    errors: dict[str, list[str]] = {}
    for n in range(1, (item.max_items or 0) + 1):
        touchpoint = (form.get(f"moments-{n}-touchpoint") or "").strip()
        tag = (form.get(f"moments-{n}-tag") or "").strip()
        text = form.get(f"moments-{n}-text") or ""
        if not (touchpoint or tag or text.strip()):
            continue
        if not (touchpoint and tag and text.strip()):
            errors[f"moments-{n}"] = [words["error_moment"]]
            continue
        if item.max_length and len(text) > item.max_length:
            errors[f"moments-{n}"] = [words["error_too_long"].format(n=item.max_length)]
            continue
        moments.append({"touchpoint": touchpoint, "tag": tag, "text": text})
    return moments, errors


def _whole_number(raw: str) -> int | None:
    try:
        return int(raw, 10)
    except ValueError:
        return None


def values_from_answers(answers: Mapping[str, Any], section: Section) -> dict[str, Any]:
    """What each field of a page shows for saved answers (strings, and moment rows)."""
    values: dict[str, Any] = {}
    for item in section.items:
        if item.id not in answers:
            continue
        value = answers[item.id]
        if item.rated:
            values[item.id] = DONT_KNOW if value is None else str(value)
        elif item.kind == "text":
            values[item.id] = value or ""
        elif item.kind == "moments":
            values[item.id] = [dict(m) for m in value or []]
    return values


def values_from_form(form: Mapping[str, str], section: Section) -> dict[str, Any]:
    """What each field of a page shows when it is shown again with errors: what was posted."""
    values: dict[str, Any] = {}
    for item in section.items:
        if item.kind == "moments":
            rows = []
            for n in range(1, (item.max_items or 0) + 1):
                row = {k: form.get(f"moments-{n}-{k}") or "" for k in ("touchpoint", "tag", "text")}
                rows.append(row)
            while rows and not any(rows[-1].values()):
                rows.pop()
            values[item.id] = rows
        elif item.id in form:
            values[item.id] = form.get(item.id) or ""
    return values


def moment_rows(
    saved: list[dict[str, str]] | None, max_items: int
) -> tuple[list[dict[str, str]], int]:
    """Every row a moments question has (`max_items`, the number its wording states): those
    given, then blank ones; and how many show open (the given ones and a blank, at least
    three), the rest folded away until asked for."""
    rows = [dict(m) for m in saved or []][:max_items]
    shown = min(max_items, max(len(rows) + 1, _MIN_MOMENT_ROWS))
    while len(rows) < max_items:
        rows.append({"touchpoint": "", "tag": "", "text": ""})
    return rows, shown


def page_errors(
    details: Mapping[str, list[str]], section: Section, words: Mapping[str, str]
) -> dict[str, list[str]]:
    """The service's validation details as page messages, by field (never raw input)."""
    errors: dict[str, list[str]] = {}
    for item in section.items:
        if item.id not in details:
            continue
        if item.rated:
            errors[item.id] = [words["error_choice"]]
        elif item.kind == "text":
            errors[item.id] = [words["error_too_long"].format(n=item.max_length)]
        else:
            errors[item.id] = [words["error_moment"]]
    return errors
