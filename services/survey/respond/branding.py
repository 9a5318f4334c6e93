"""The organisation's accent colour on respondent pages, only where text on it stays readable."""

from __future__ import annotations

import re

_HEX = re.compile(r"^#([0-9a-fA-F]{6})$")
_MIN_CONTRAST = 4.5  # WCAG AA for normal text: white text and links on the accent


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_with_white(hex_colour: str) -> float:
    """The WCAG contrast ratio of white on this colour."""
    return 1.05 / (_luminance(hex_colour) + 0.05)


def page_accent(accent_color: str | None) -> str | None:
    """The accent as `#rrggbb` when white text on it (and it on white) reads at AA; else None
    (the pages keep their own colour rather than become unreadable)."""
    if not accent_color or not _HEX.match(accent_color.strip()):
        return None
    colour = accent_color.strip().lower()
    return colour if contrast_with_white(colour) >= _MIN_CONTRAST else None
