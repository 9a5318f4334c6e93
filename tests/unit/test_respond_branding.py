"""The organisation's accent colour on the survey pages: used only when it stays readable."""

from __future__ import annotations

import pytest

from services.survey.respond.branding import contrast_with_white, page_accent


def test_white_on_black_is_21_to_1_and_on_white_1_to_1():
    assert contrast_with_white("#000000") == pytest.approx(21.0)
    assert contrast_with_white("#ffffff") == pytest.approx(1.0)


@pytest.mark.parametrize(
    "given, used",
    [
        ("#0B4F8A", "#0b4f8a"),  # dark blue: white text reads well
        ("#c8102e", "#c8102e"),  # a strong red, 5.9:1
        ("#ffcc00", None),  # yellow: white text would be unreadable
        ("#777777", None),  # 4.48:1, just under AA
        ("red", None),
        ("#12345", None),
        (None, None),
        ("#0b4f8a;}body{display:none", None),
    ],
)
def test_the_accent_is_used_only_when_readable_and_well_formed(given, used):
    assert page_accent(given) == used
