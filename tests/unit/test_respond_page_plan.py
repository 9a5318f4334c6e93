"""The buyer's pages: grouped sections (at most 7 steps), the stated time, and the stated
requirement, which comes from the same rule the submit check applies."""

from __future__ import annotations

import math

import pytest

from services.survey.respond import screens
from services.survey.respond.wording import words
from shared.questionnaire import BankError, load_bank, missing_for_submit, parse_bank
from shared.questionnaire.model import DEFAULT_BANK_PATH


def test_a_buyer_sees_at_most_7_steps_with_two_or_three_dimensions_a_page():
    bank = load_bank()
    assert len(screens.steps(bank)) <= 7
    for page in bank.pages:
        dimensions = [s for s in page if s in bank.dimensions]
        assert len(dimensions) in (0, 2, 3)
    assert [s for page in bank.pages for s in page] == [s.id for s in bank.sections]


def test_the_stated_time_is_the_items_and_pages_estimate():
    bank = load_bank()
    seconds = len(bank.items) * 4 + (len(bank.pages) + 3) * 3  # welcome, review, thanks
    assert bank.estimated_seconds() == seconds
    assert bank.what_it_takes()["minutes"] == math.ceil(seconds / 60)


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_stated_requirement_is_the_rule_submitting_checks(language):
    bank = load_bank()
    facts = bank.what_it_takes()
    sentence = words(language)["what_is_needed"].format(**facts)
    assert str(facts["needed"]) in sentence and str(facts["topics"]) in sentence
    # exactly what the sentence asks for is enough, one topic less is not
    enough = {"recommend": 5}
    for dimension in bank.dimensions[: facts["needed"]]:
        for item_id in bank.dimension_items()[dimension][: facts["answered"]]:
            enough[item_id] = 4
    assert missing_for_submit(enough, questionnaire=bank) == {}
    last = bank.dimension_items()[bank.dimensions[facts["needed"] - 1]][0]
    assert "dimensions" in missing_for_submit(
        {k: v for k, v in enough.items() if k != last}, questionnaire=bank
    )
    assert "recommend" in missing_for_submit(
        {k: v for k, v in enough.items() if k != "recommend"}, questionnaire=bank
    )


def test_a_bank_whose_pages_skip_or_reorder_a_section_is_refused():
    import yaml

    data = yaml.safe_load(DEFAULT_BANK_PATH.read_text(encoding="utf-8"))
    data["pages"] = [p for p in data["pages"] if "touchpoints" not in p]
    with pytest.raises(BankError, match="pages"):
        parse_bank(data)
    data["pages"] = [[s["id"]] for s in reversed(data["sections"])]
    with pytest.raises(BankError, match="pages"):
        parse_bank(data)
