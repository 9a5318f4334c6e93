"""Reading roster files and checking rows, without a database."""

from __future__ import annotations

import csv
import io
import time
import tracemalloc

import pytest

from services.survey.admin.roster_file import (
    RosterFileError,
    RowError,
    column_name,
    parse_revenue,
    parse_row,
    read_roster_csv,
)

HEADER = "account_id,account_name,annual_revenue,contact_email,contact_name,contact_role,seller_email,seller_name"
GOOD = "A-1,Acme,1000000,joe@acme.example,Joe Buyer,decision_maker,sue@vendor.example,Sue Seller"
LANGUAGES = ("en", "de")


def rows_of(data: bytes) -> list[tuple[int, object]]:
    return list(read_roster_csv(data).rows())


def values(**overrides: object) -> dict[str, object]:
    row = dict(zip(HEADER.split(","), GOOD.split(","), strict=True))
    row.update(overrides)
    return row


def test_a_plain_csv_gives_its_rows_numbered_as_a_spreadsheet_shows_them():
    data = f"{HEADER}\n{GOOD}\n{GOOD.replace('joe', 'amy')}\n".encode()
    rows = rows_of(data)
    assert [number for number, _ in rows] == [2, 3]
    assert rows[1][1]["contact_email"] == "amy@acme.example"


def test_a_utf8_bom_semicolons_and_quoted_fields_as_excel_exports_them():
    text = (
        "\ufeffAccount ID;Account Name;Annual Revenue;Contact Email;Contact Name;Contact Role;"
        "Seller Email;Seller Name;Language\r\n"
        '"A-1";"Müller; Söhne GmbH";"1.200.000,50";joe@acme.example;"Joe ""JJ"" Buyer";'
        "Decision Maker;sue@vendor.example;Sue;de-AT\r\n"
    )
    roster = read_roster_csv(text.encode("utf-8"))
    assert roster.delimiter == ";"
    ((number, raw),) = list(roster.rows())
    assert number == 2
    assert raw["account_name"] == "Müller; Söhne GmbH"
    assert raw["contact_name"] == 'Joe "JJ" Buyer'
    row, errors = parse_row(number, raw, languages=LANGUAGES, decimal_comma=roster.decimal_comma)
    assert errors == []
    assert row.annual_revenue == 1_200_000.5
    assert row.contact_role == "decision_maker"
    assert row.language == "de"


def test_a_quoted_cell_may_hold_a_line_break():
    data = f'{HEADER}\nA-1,"Acme\nHoldings",5,joe@acme.example,Joe,user,sue@vendor.example,Sue\n{GOOD}\n'
    rows = rows_of(data.encode())
    assert rows[0][1]["account_name"] == "Acme\nHoldings"
    assert [n for n, _ in rows] == [2, 3]


def test_utf16_and_windows_1252_files_are_read():
    text = f"{HEADER}\n{GOOD.replace('Acme', 'Acmé')}\n"
    for data in (text.encode("utf-16"), text.encode("cp1252")):
        ((_, raw),) = rows_of(data)
        assert raw["account_name"] == "Acmé"


def test_excels_sep_line_chooses_the_delimiter():
    data = f"sep=|\n{HEADER.replace(',', '|')}\n{GOOD.replace(',', '|')}\n".encode()
    roster = read_roster_csv(data)
    assert roster.delimiter == "|"
    assert [n for n, _ in roster.rows()] == [3]


def test_columns_may_come_in_any_order_and_extra_columns_are_ignored():
    header = "notes,seller_name,seller_email,contact_role,contact_name,contact_email,annual_revenue,account_name,account_id"
    line = "hello,Sue,sue@vendor.example,user,Joe,joe@acme.example,10,Acme,A-1"
    ((_, raw),) = rows_of(f"{header}\n{line}\n".encode())
    assert raw["account_id"] == "A-1" and raw["seller_name"] == "Sue"
    assert "notes" not in raw


def test_blank_lines_are_skipped_but_still_counted():
    rows = rows_of(f"{HEADER}\n\n{GOOD}\n,,,,,,,\n".encode())
    assert [n for n, _ in rows] == [3]


def test_header_names_are_normalised():
    assert column_name(" Contact Email ") == "contact_email"
    assert column_name("contact-role") == "contact_role"
    assert column_name('"Account_ID"') == "account_id"


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"", "empty"),
        (b"   \r\n\r\n", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"PK\x03\x04\x14\x00\x06\x00", "binary"),
        (bytes(range(256)) * 4, "binary"),
        (f"{HEADER}\n".encode(), "no rows"),
    ],
    ids=["empty", "blank", "bom-only", "png", "xlsx", "bytes", "header-only"],
)
def test_files_that_are_not_a_roster_are_refused_as_a_whole(data, problem):
    with pytest.raises(RosterFileError) as caught:
        read_roster_csv(data)
    assert problem in caught.value.message
    assert caught.value.status == 400


def test_a_missing_column_is_named():
    header = HEADER.replace(",contact_role", "")
    with pytest.raises(RosterFileError) as caught:
        read_roster_csv(f"{header}\nx\n".encode())
    assert caught.value.message == "missing column: contact_role"
    assert caught.value.details == {"contact_role": ["missing column"]}


def test_a_repeated_column_is_refused():
    with pytest.raises(RosterFileError, match="contact_email appears twice"):
        read_roster_csv(f"{HEADER},contact_email\n{GOOD},x@y.example\n".encode())


def test_a_row_with_more_cells_than_the_header_is_a_row_error():
    rows = rows_of(f"{HEADER}\n{GOOD},surprise\n{GOOD}\n".encode())
    error = rows[0][1]
    assert error.row == 2 and "9 cells" in error.message
    assert isinstance(rows[1][1], dict)


def test_a_cell_too_large_for_csv_refuses_the_file_before_anything_is_imported():
    huge = "x" * 200_000
    with pytest.raises(RosterFileError, match="row 3"):
        read_roster_csv(
            f'{HEADER}\n{GOOD}\nA,"{huge}",1,a@b.example,A,user,c@d.example,C\n'.encode()
        )


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("contact_email", "joe.acme.example", "not a valid email address"),
        ("contact_email", "joe@", "not a valid email address"),
        ("seller_email", "sue at vendor", "not a valid email address"),
        ("contact_role", "boss", "unknown role 'boss'"),
        ("annual_revenue", "-5", "must not be negative"),
        ("annual_revenue", "lots", "not a number"),
        ("annual_revenue", "", "is required"),
        ("account_id", "  ", "is required"),
        ("contact_name", "", "is required"),
        ("account_name", "A" * 201, "longer than 200"),
    ],
)
def test_a_bad_value_names_its_row_column_and_reason(column, value, message):
    row, errors = parse_row(7, values(**{column: value}), languages=LANGUAGES)
    assert row is None
    assert [(e.row, e.column) for e in errors] == [(7, column)]
    assert message in errors[0].message


@pytest.mark.parametrize(
    "column, value, code",
    [
        ("account_id", "\x00", "U+0000"),
        ("account_id", "a\x00b", "U+0000"),
        ("account_id", "A\t1", "U+0009"),
        ("account_name", "Acme\x07", "U+0007"),
        ("contact_email", "joe\x00@acme.example", "U+0000"),
        ("contact_name", "Joe\x1bBuyer", "U+001B"),
        ("contact_role", "user\x00", "U+0000"),
        ("seller_email", "sue@vendor\x7f.example", "U+007F"),
        ("seller_name", "Sue\x9bSeller", "U+009B"),
        ("segment", "Tier\x001", "U+0000"),
        ("language", "de\x00", "U+0000"),
    ],
)
def test_a_control_character_in_an_identifier_or_name_is_one_error_naming_row_and_column(
    column, value, code
):
    row, errors = parse_row(4, values(**{column: value}), languages=LANGUAGES)
    assert row is None
    assert errors == [RowError(4, column, f"contains the control character {code}")]


def test_a_name_may_keep_a_tab_or_a_line_break():
    row, errors = parse_row(2, values(account_name="Acme\nHoldings\tGmbH"), languages=LANGUAGES)
    assert errors == []
    assert row.account_name == "Acme\nHoldings\tGmbH"


def test_a_header_longer_than_the_csv_field_limit_is_refused_naming_the_line():
    with pytest.raises(RosterFileError) as caught:
        read_roster_csv(("\n" + "h" * 200_000 + f"\n{GOOD}\n").encode())
    assert caught.value.message == (
        "line 2 (the header): the CSV cannot be read (a cell is longer than 131,072 characters)"
    )
    assert caught.value.details == {"header": ["line 2: a cell is longer than 131,072 characters"]}


def test_every_bad_value_of_a_row_is_reported():
    _, errors = parse_row(
        3, values(contact_email="x", contact_role="boss", annual_revenue="-1"), languages=LANGUAGES
    )
    assert {e.column for e in errors} == {"contact_email", "contact_role", "annual_revenue"}


def test_a_contact_cannot_be_their_own_seller():
    _, errors = parse_row(2, values(seller_email="joe@acme.example"), languages=LANGUAGES)
    assert [e.column for e in errors] == ["seller_email"]


def test_a_good_row_is_normalised():
    row, errors = parse_row(
        2,
        values(contact_email=" Joe@ACME.example ", contact_role="Influencer", segment=" Tier 1 "),
        languages=LANGUAGES,
    )
    assert errors == []
    assert row.contact_email == "joe@acme.example"
    assert row.contact_role == "influencer"
    assert row.segment == "Tier 1"
    assert row.language is None


@pytest.mark.parametrize(
    "text, decimal_comma, expected",
    [
        ("1000000", False, 1_000_000),
        ("1,000,000", False, 1_000_000),
        ("1,000,000.75", False, 1_000_000.75),
        ("$ 2,500", False, 2500),
        ("1 200 000", False, 1_200_000),
        ("1e6", False, 1_000_000),
        ("0", False, 0),
        ("1.200.000,50", True, 1_200_000.5),
        ("1200,5", True, 1200.5),
        ("1.200", True, 1200),
        ("EUR 3.000", True, 3000),
        (1234.5, False, 1234.5),
        (99, False, 99),
    ],
)
def test_revenue_as_spreadsheets_write_it(text, decimal_comma, expected):
    assert parse_revenue(text, decimal_comma=decimal_comma) == expected


@pytest.mark.parametrize(
    "value", ["abc", "1,2,3,4", "nan", "inf", True, "--5", "1.2.3", 10**20, "1e400", "2e15"]
)
def test_revenue_that_is_not_a_number_is_refused(value):
    with pytest.raises(ValueError):
        parse_revenue(value)


@pytest.mark.parametrize("value", ["-1", "-0.5", -3, "−200"])
def test_negative_revenue_is_refused(value):
    with pytest.raises(ValueError, match="negative"):
        parse_revenue(value)


def test_fifty_thousand_rows_parse_quickly_in_bounded_memory():
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER.split(","))
    for i in range(50_000):
        writer.writerow(
            [
                f"A-{i // 5}",
                f"Account {i // 5}",
                100_000 + i,
                f"buyer{i}@acct{i // 5}.example",
                f"Buyer {i}",
                ("decision_maker", "influencer", "user", "other")[i % 4],
                f"seller{i % 400}@vendor.example",
                f"Seller {i % 400}",
            ]
        )
    data = out.getvalue().encode()
    started = time.perf_counter()
    tracemalloc.start()
    roster = read_roster_csv(data)
    good = 0
    for number, raw in roster.rows():
        row, errors = parse_row(number, raw, languages=LANGUAGES)
        good += row is not None
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert good == 50_000
    assert roster.data_rows == 50_000
    # The decoded text (~5 MB) plus one row at a time: rows are never all held at once.
    assert peak < 8 * len(data), peak
    assert elapsed < 20, elapsed


def test_a_language_not_offered_gets_the_programs_first_with_a_warning():
    row, errors = parse_row(7, values(language="fr"), languages=LANGUAGES)
    assert errors == [] and row is not None
    assert row.language == LANGUAGES[0]
    assert [(w.row, w.column) for w in row.warnings] == [(7, "language")]
    assert "'fr' is not a language of this program" in row.warnings[0].message
    assert f"imported with {LANGUAGES[0]}" in row.warnings[0].message
