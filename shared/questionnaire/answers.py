"""Checking, completing and merging one respondent's answers against the item bank."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from shared.questionnaire.model import Item, Questionnaire, load_bank

MOMENT_KEYS: tuple[str, ...] = ("touchpoint", "tag", "text")
_FIELD_SHOWN = 80  # longest field name echoed back in error details


class AnswerError(ValueError):
    """Answers that cannot be saved; `details` maps each bad field to its messages."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        super().__init__("invalid answers: " + ", ".join(details))
        self.details = details


class _Invalid(Exception):
    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)


def validate_answers(
    answers: object, *, questionnaire: Questionnaire | None = None
) -> dict[str, Any]:
    """Cleaned answers (bank order, texts stripped, empty text as null) or AnswerError.

    Rated items take a whole number in range or null ("don't know"); texts take a string
    or null; `moments` takes a list of `{touchpoint, tag, text}` or null.
    """
    bank = questionnaire or load_bank()
    if not isinstance(answers, Mapping):
        raise AnswerError({"answers": ["must be an object of item ids and answers"]})
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key, value in answers.items():
        name = _shown(key)
        if isinstance(key, str) and key.startswith("$"):
            errors[name] = ["unknown item: names starting with '$' are not allowed"]
            continue
        item = bank.get(key) if isinstance(key, str) else None
        if item is None:
            errors[name] = ["unknown item"]
            continue
        try:
            cleaned[item.id] = _clean(item, value, bank)
        except _Invalid as invalid:
            errors[name] = invalid.messages
    if errors:
        raise AnswerError(errors)
    return {item.id: cleaned[item.id] for item in bank.items if item.id in cleaned}


def answers_json_schema(*, questionnaire: Questionnaire | None = None) -> dict[str, Any]:
    """The JSON Schema (OpenAPI 3.0) of what `validate_answers` accepts: item ids and values."""
    bank = questionnaire or load_bank()
    properties: dict[str, Any] = {}
    for item in bank.items:
        if item.rated:
            value = {"type": "integer", "minimum": item.scale_min, "maximum": item.scale_max}
        elif item.kind == "text":
            value = {"type": "string", "maxLength": item.max_length or 0}
        else:
            moment = {
                "type": "object",
                "properties": {
                    "touchpoint": {"type": "string", "enum": list(bank.touchpoints)},
                    "tag": {"type": "string", "enum": list(bank.moment_tags)},
                    "text": {"type": "string", "maxLength": item.max_length or 0},
                },
                "required": list(MOMENT_KEYS),
                "additionalProperties": False,
            }
            value = {"type": "array", "maxItems": item.max_items or 0, "items": moment}
        properties[item.id] = {**value, "nullable": True}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def complete_answers_example(*, questionnaire: Questionnaire | None = None) -> dict[str, int]:
    """Answers that can be submitted: every rated item at the middle of its scale."""
    bank = questionnaire or load_bank()
    return {
        item.id: (item.scale_min + item.scale_max) // 2  # type: ignore[operator]
        for item in bank.items
        if item.rated
    }


def answered_dimensions(
    answers: Mapping[str, Any], *, questionnaire: Questionnaire | None = None
) -> list[str]:
    """The dimensions that count towards the index: at least ceil(k/2) of k items answered."""
    bank = questionnaire or load_bank()
    return [
        dimension
        for dimension, ids in bank.dimension_items().items()
        if sum(_answered(answers.get(i)) for i in ids) >= bank.dimension_threshold(dimension)
    ]


def missing_for_submit(
    answers: Mapping[str, Any],
    *,
    questionnaire: Questionnaire | None = None,
    min_dimensions: int | None = None,
) -> dict[str, list[str]]:
    """What still blocks submitting (field -> messages); an empty dict when complete.

    Required: every `required` item (by default `recommend`) answered, not null, and at
    least `min_dimensions` (default from the bank: 4) answered dimensions.
    """
    bank = questionnaire or load_bank()
    needed = bank.min_dimensions if min_dimensions is None else min_dimensions
    missing: dict[str, list[str]] = {}
    for item in bank.items:
        if item.required and not _answered_item(item, answers.get(item.id)):
            missing[item.id] = ["required"]
    counted = len(answered_dimensions(answers, questionnaire=bank))
    if counted < needed:
        sizes = {len(ids) for ids in bank.dimension_items().values()}
        if len(sizes) == 1:
            k = sizes.pop()
            rule = f"{-(-k // 2)} of {k} items answered"
        else:
            rule = "at least half of their items answered"
        missing["dimensions"] = [
            f"at least {needed} of {len(bank.dimensions)} dimensions need {rule}; "
            f"answered: {counted}"
        ]
    return missing


def merge_answers(existing: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Saved answers updated with newly given ones; a null in `new` replaces the saved value.

    Both are expected to be cleaned by `validate_answers`; `moments` is replaced as a whole.
    Neither argument is modified.
    """
    merged = copy.deepcopy(dict(existing))
    merged.update(copy.deepcopy(dict(new)))
    return merged


def _answered(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _answered_item(item: Item, value: object) -> bool:
    if item.rated:
        return _answered(value)
    return value is not None and value != "" and value != []


def _clean(item: Item, value: object, bank: Questionnaire) -> Any:
    if item.rated:
        return _clean_rated(item, value)
    if item.kind == "text":
        return _clean_text(value, item.max_length or 0)
    return _clean_moments(item, value, bank)


def _clean_rated(item: Item, value: object) -> int | None:
    low, high = item.scale_min, item.scale_max
    expected = f"must be a whole number from {low} to {high}, or null for don't know"
    if value is None:
        return None
    if isinstance(value, bool):
        raise _Invalid(f"{expected}; true/false is not a number")
    if isinstance(value, int):
        if not low <= value <= high:  # type: ignore[operator]
            raise _Invalid(f"out of range: {expected}")
        return int(value)
    if isinstance(value, str):
        if value.lstrip().startswith("$"):
            raise _Invalid(f"{expected}; text starting with '$' is not allowed")
        raise _Invalid(f"{expected}, not text")
    if _has_operator(value):
        raise _Invalid(f"{expected}; query operators (keys starting with '$') are not allowed")
    if isinstance(value, float):
        raise _Invalid(f"{expected}; decimals are not allowed")
    raise _Invalid(expected)


def _clean_text(value: object, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        if _has_operator(value):
            raise _Invalid("must be text; query operators (keys starting with '$') are not allowed")
        raise _Invalid("must be text or null")
    if len(value) > max_length:
        raise _Invalid(f"too long: at most {max_length} characters")
    return value.strip() or None


def _clean_moments(item: Item, value: object, bank: Questionnaire) -> list[dict[str, str]] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        if _has_operator(value):
            raise _Invalid(
                "must be a list; query operators (keys starting with '$') are not allowed"
            )
        raise _Invalid("must be a list of moments or null")
    max_items, max_length = item.max_items or 0, item.max_length or 0
    if len(value) > max_items:
        raise _Invalid(f"too many: at most {max_items} moments")
    messages: list[str] = []
    cleaned: list[dict[str, str]] = []
    for number, moment in enumerate(value, start=1):
        where = f"moment {number}"
        if not isinstance(moment, Mapping):
            messages.append(f"{where}: must be an object with {', '.join(MOMENT_KEYS)}")
            continue
        problems = []
        for key in moment:
            if not isinstance(key, str) or key.startswith("$") or "." in key:
                problems.append(
                    f"{where}: key {_shown(key)!r} is not allowed "
                    "(keys must not start with '$' or contain '.')"
                )
            elif key not in MOMENT_KEYS:
                problems.append(f"{where}: unknown key {_shown(key)!r}")
        problems += [f"{where}: {key} is missing" for key in MOMENT_KEYS if key not in moment]
        for key, allowed in (("touchpoint", bank.touchpoints), ("tag", bank.moment_tags)):
            given = moment.get(key)
            if key in moment and not (isinstance(given, str) and given in allowed):
                problems.append(f"{where}: {key} must be one of {', '.join(allowed)}")
        text = moment.get("text")
        if "text" in moment:
            if not isinstance(text, str):
                problems.append(f"{where}: text must be a string")
            elif len(text) > max_length:
                problems.append(f"{where}: text too long: at most {max_length} characters")
        if problems:
            messages += problems
            continue
        cleaned.append(
            {"touchpoint": moment["touchpoint"], "tag": moment["tag"], "text": text.strip()}
        )
    if messages:
        raise _Invalid(*messages)
    return cleaned


def _has_operator(value: object) -> bool:
    """True for a mapping with a key like "$gt" or "$where" (a MongoDB operator)."""
    return isinstance(value, Mapping) and any(
        isinstance(key, str) and key.lstrip().startswith("$") for key in value
    )


def _shown(key: object) -> str:
    name = key if isinstance(key, str) else repr(key)
    return name if len(name) <= _FIELD_SHOWN else name[:_FIELD_SHOWN] + "…"
