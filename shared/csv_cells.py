"""The cells of every CSV file Rapport writes, safe to open in a spreadsheet.

A spreadsheet runs a cell starting with `=`, `+`, `-`, `@`, tab or carriage return as a
formula (OWASP "CSV injection"), so such text gets a leading `'` (API.md 1.1). Only text
is quoted: numbers that Rapport computed (a gap of -12.5) stay numbers, while text that
merely looks like one ("-3.5" typed as an account id) is quoted like any other text.
Booleans are `true` / `false`, missing values an empty cell.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object, *, float_format: str = ".4g") -> str:
    """One value as the text of a CSV cell that no spreadsheet runs as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: True is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(value, float_format)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


class CsvWriter:
    """`csv.writer` whose every cell goes through `csv_cell`: the one way Rapport writes CSV."""

    def __init__(self, out: _Writable, *, float_format: str = ".4g", **options: Any) -> None:
        self._writer = csv.writer(out, **options)
        self._float_format = float_format

    def writerow(self, values: Iterable[object]) -> None:
        """Write one row of values."""
        self._writer.writerow(csv_cell(v, float_format=self._float_format) for v in values)
