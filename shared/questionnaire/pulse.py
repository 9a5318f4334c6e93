"""The pulse questionnaire: the items of a bank marked `pulse`, on the bank's `pulse_pages`."""

from __future__ import annotations

import dataclasses

from shared.questionnaire.model import Questionnaire, Section


def pulse_version(bank: Questionnaire) -> Questionnaire:
    """The bank with only its pulse items (one per dimension, so k = 1 for each)."""
    if bank.kind == "pulse":
        return bank
    sections = tuple(
        Section(s.id, s.title, s.intro, tuple(i for i in s.items if i.pulse)) for s in bank.sections
    )
    sections = tuple(s for s in sections if s.items)
    kept = {s.id for s in sections}
    pages = tuple(
        tuple(x for x in page if x in kept)
        for page in (bank.pulse_pages or bank.pages)
        if any(x in kept for x in page)
    )
    return dataclasses.replace(bank, sections=sections, pages=pages, pulse_pages=(), kind="pulse")
