"""The Rapport questionnaire: the item bank, its wording per side and language, and answers.

Plain data and checks, no I/O beyond reading the item bank YAML.
"""

from shared.questionnaire.answers import (
    AnswerError,
    answered_dimensions,
    merge_answers,
    missing_for_submit,
    validate_answers,
)
from shared.questionnaire.model import (
    DEFAULT_BANK_PATH,
    BankError,
    Item,
    Questionnaire,
    Scale,
    Section,
    SubmitRule,
    load_bank,
    parse_bank,
)

__all__ = [
    "DEFAULT_BANK_PATH",
    "AnswerError",
    "BankError",
    "Item",
    "Questionnaire",
    "Scale",
    "Section",
    "SubmitRule",
    "answered_dimensions",
    "load_bank",
    "merge_answers",
    "missing_for_submit",
    "parse_bank",
    "validate_answers",
]
