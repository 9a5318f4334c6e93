"""Reading a roster: a CRM export (CSV, as Excel and CRMs write it, or JSON rows) checked
as a whole (encoding, delimiter, header) and row by row (each value, with its row and column).

Nothing here writes: `roster.py` imports what this module reads.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from services.survey.errors import ValidationFailed
from shared.vocabulary import ROLES

REQUIRED_COLUMNS = (
    "account_id",
    "account_name",
    "annual_revenue",
    "contact_email",
    "contact_name",
    "contact_role",
    "seller_email",
    "seller_name",
)
OPTIONAL_COLUMNS = ("language", "segment")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

MAX_REVENUE = 1e15  # beyond any company; also keeps integers inside BSON's 64 bits
_DELIMITERS = (",", ";", "\t", "|")
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# In one value: identifiers take no control character at all, names keep tab and line breaks.
_CONTROL_IN_ID = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_NAME = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NAME_COLUMNS = ("account_name", "contact_name", "seller_name")
_LIMITS = {"account_id": 100, "segment": 100, "contact_email": 254, "seller_email": 254}
_NAME_LIMIT = 200


class RosterFileError(ValidationFailed):
    """The file as a whole cannot be read as a roster: nothing is imported."""


@dataclass(frozen=True)
class RowError:
    """One problem with one value of one row."""

    row: int
    column: str
    message: str


@dataclass(frozen=True)
class RosterRow:
    """A valid roster row, normalised (emails lower-case, role a known word)."""

    row: int
    account_id: str
    account_name: str
    annual_revenue: int | float
    contact_email: str
    contact_name: str
    contact_role: str
    seller_email: str
    seller_name: str
    language: str | None = None
    segment: str | None = None
    warnings: tuple[RowError, ...] = ()  # imported anyway, e.g. a language not offered


# --- reading the file ----------------------------------------------------------------------


def decode_roster(data: bytes) -> str:
    """The text of an uploaded roster: UTF-8 (with or without BOM), UTF-16 or Windows-1252.

    A file that is none of these, or holds control characters, is refused as binary.
    """
    if not data or not data.strip():
        raise RosterFileError("the roster file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export.
        text = _decode(data, "utf-16")
    elif b"\x00" in data:
        raise RosterFileError("the roster is not a CSV file (it is binary): export it as CSV")
    else:
        text = _decode(data, "utf-8-sig") if _is_utf8(data) else _decode(data, "cp1252")
    if _CONTROL.search(text):
        raise RosterFileError("the roster is not a CSV file (it is binary): export it as CSV")
    if not text.strip():
        raise RosterFileError("the roster file is empty")
    return text.removeprefix("\ufeff")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise RosterFileError(
            "the roster is not a CSV file (it is binary): export it as CSV (UTF-8)"
        ) from None


def column_name(header: str) -> str:
    """A header cell as a column name: "Contact Email " gives "contact_email"."""
    name = unicodedata.normalize("NFKC", header).strip().strip('"').strip().lower()
    return re.sub(r"[\s\-]+", "_", name)


def _sniff_delimiter(first_line: str) -> str:
    # The header names known columns: the delimiter that splits out most of them wins.
    def known(delimiter: str) -> tuple[int, int]:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        return sum(column_name(c) in COLUMNS for c in cells), len(cells)

    return max(_DELIMITERS, key=known)


@dataclass(frozen=True)
class RosterCsv:
    """A checked CSV roster: its delimiter, column positions and where the data starts."""

    text: str
    delimiter: str
    columns: Mapping[str, int]
    width: int
    skip: int  # records before the first data row (the header, and a "sep=" line)
    data_rows: int
    decimal_comma: bool

    def rows(self) -> Iterator[tuple[int, dict[str, str] | RowError]]:
        """(row number, values by column) for every non-blank data row; too many cells is an error."""
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        for index, record in enumerate(reader, start=1):
            if index <= self.skip or not any(cell.strip() for cell in record):
                continue
            extra = [c for c in record[self.width :] if c.strip()]
            if extra:
                yield (
                    index,
                    RowError(index, "", f"{len(record)} cells but the header has {self.width}"),
                )
                continue
            yield (
                index,
                {
                    name: record[position] if position < len(record) else ""
                    for name, position in self.columns.items()
                },
            )


def read_roster_csv(data: bytes) -> RosterCsv:
    """Check an uploaded CSV roster as a whole (encoding, delimiter, header, syntax).

    Raises RosterFileError naming the problem; nothing has been imported then.
    """
    text = decode_roster(data)
    lines = text.splitlines()
    skip = 0
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    header_line = lines[first]
    match = re.fullmatch(r'\s*"?sep=(.)"?\s*', header_line, flags=re.IGNORECASE)
    try:
        if match:
            # Excel's "sep=;" hint line before the header.
            delimiter = match.group(1)
            first += 1
            header_line = lines[first] if first < len(lines) else ""
        else:
            delimiter = _sniff_delimiter(header_line)
        header = next(csv.reader([header_line], delimiter=delimiter), [])
    except csv.Error as exc:
        problem = _csv_problem(exc)
        raise RosterFileError(
            f"line {first + 1} (the header): the CSV cannot be read ({problem})",
            details={"header": [f"line {first + 1}: {problem}"]},
        ) from None
    skip = first + 1
    columns: dict[str, int] = {}
    for position, cell in enumerate(header):
        name = column_name(cell)
        if name in COLUMNS:
            if name in columns:
                raise RosterFileError(
                    f"column {name} appears twice in the header", details={name: ["repeated"]}
                )
            columns[name] = position
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise RosterFileError(
            f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
            details={name: ["missing column"] for name in missing},
        )
    data_rows = _count_data_rows(text, delimiter, skip)
    if data_rows == 0:
        raise RosterFileError("the roster has a header but no rows")
    return RosterCsv(
        text=text,
        delimiter=delimiter,
        columns=columns,
        width=len(header),
        skip=skip,
        data_rows=data_rows,
        decimal_comma=delimiter == ";",
    )


def _count_data_rows(text: str, delimiter: str, skip: int) -> int:
    # A full pass before any write, so a syntax error refuses the file before anything changes.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    count = 0
    index = 0
    try:
        for index, record in enumerate(reader, start=1):
            if index > skip and any(cell.strip() for cell in record):
                count += 1
    except csv.Error as exc:
        problem = _csv_problem(exc)
        raise RosterFileError(
            f"row {index + 1}: the CSV cannot be read ({problem})",
            details={"row": [f"row {index + 1}: {problem}"]},
        ) from None
    return count


def _csv_problem(exc: csv.Error) -> str:
    # Python's words for its field size limit, in the user's.
    if "field larger than field limit" in str(exc):
        return f"a cell is longer than {csv.field_size_limit():,} characters"
    return str(exc)


# --- one row -------------------------------------------------------------------------------


def parse_revenue(value: object, *, decimal_comma: bool = False) -> int | float:
    """Annual revenue as a number >= 0; spreadsheets' grouping and currency signs are accepted.

    `decimal_comma` is the convention of `;`-separated exports ("1.200.000,50").
    """
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int | float):
        number: int | float = value
    else:
        text = str(value).strip()
        if not text:
            raise ValueError("is required")
        number = _number_from_text(text, decimal_comma=decimal_comma)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    if number < 0:
        raise ValueError(f"must not be negative: {_shown(value)}")
    if number > MAX_REVENUE:
        raise ValueError(f"is larger than any company's revenue: {_shown(value)}")
    if isinstance(number, float) and number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def _number_from_text(text: str, *, decimal_comma: bool) -> int | float:
    if text.isascii() and text.isdigit():
        return int(text)  # the usual case, without the regexes
    cleaned = re.sub(r"[\s\u00a0\u202f'_$€£¥]", "", text).replace("\u2212", "-")
    for code in ("EUR", "USD", "GBP", "CHF"):
        cleaned = cleaned.removeprefix(code).removesuffix(code)
    sign = -1 if cleaned.startswith("-") else 1
    digits = cleaned.lstrip("+-")
    thousands, decimal = (".", ",") if decimal_comma else (",", ".")
    t, d = re.escape(thousands), re.escape(decimal)
    if re.fullmatch(rf"\d{{1,3}}({t}\d{{3}})+({d}\d+)?|\d+({d}\d+)?", digits):
        normal = digits.replace(thousands, "").replace(decimal, ".")
        return sign * (float(normal) if "." in normal else int(normal))
    try:
        return sign * float(digits)
    except ValueError:
        raise ValueError(f"not a number: {_shown(text)}") from None


def _shown(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:40] + "…")


def role_word(value: str) -> str:
    """A role as written in a spreadsheet ("Decision Maker") as its word ("decision_maker")."""
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


@dataclass
class _RowReader:
    """One row's values, read column by column; each problem is noted once, by column."""

    row: int
    values: Mapping[str, object]
    errors: list[RowError] = field(default_factory=list)

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row, column, message))

    def text(self, column: str, *, required: bool = True) -> str:
        """The value, or "" once its problem is reported (so no second error names it)."""
        raw = self.values.get(column)
        value = "" if raw is None else str(raw).strip()
        limit = _LIMITS.get(column, _NAME_LIMIT)
        control = (_CONTROL_IN_NAME if column in _NAME_COLUMNS else _CONTROL_IN_ID).search(value)
        if not value and required:
            self.fail(column, "is required")
        elif len(value) > limit:
            self.fail(column, f"is longer than {limit} characters")
        elif control:
            self.fail(column, f"contains the control character U+{ord(control.group()):04X}")
        else:
            return value
        return ""

    def email(self, column: str) -> str:
        value = self.text(column).lower()
        if value and not _EMAIL.match(value):
            self.fail(column, f"not a valid email address: {_shown(value)}")
        return value


def parse_row(
    row: int,
    values: Mapping[str, object],
    *,
    languages: Sequence[str],
    decimal_comma: bool = False,
) -> tuple[RosterRow | None, list[RowError]]:
    """Check and normalise one row's values; the row, or every problem found in it."""
    read = _RowReader(row, values)
    account_id = read.text("account_id")
    account_name = read.text("account_name")
    revenue: int | float = 0
    try:
        revenue = parse_revenue(values.get("annual_revenue", ""), decimal_comma=decimal_comma)
    except ValueError as exc:
        read.fail("annual_revenue", str(exc))
    contact_email = read.email("contact_email")
    contact_name = read.text("contact_name")
    role = role_word(read.text("contact_role"))
    if role and role not in ROLES:
        shown = _shown(values.get("contact_role"))
        read.fail("contact_role", f"unknown role {shown}: use one of {', '.join(ROLES)}")
    seller_email = read.email("seller_email")
    seller_name = read.text("seller_name")
    if contact_email and contact_email == seller_email:
        read.fail("seller_email", "is the contact's own address")
    language = read.text("language", required=False).lower().replace("_", "-").split("-")[0] or None
    warnings: list[RowError] = []
    if language is not None and language not in languages:
        # not a reason to lose the contact: they get the program's first language
        warnings.append(
            RowError(
                row,
                "language",
                f"{_shown(values.get('language'))} is not a language of this program "
                f"({', '.join(languages)}): imported with {languages[0]}",
            )
        )
        language = languages[0] if languages else None
    segment = read.text("segment", required=False) or None
    if read.errors:
        return None, read.errors
    return (
        RosterRow(
            row=row,
            account_id=account_id,
            account_name=account_name,
            annual_revenue=revenue,
            contact_email=contact_email,
            contact_name=contact_name,
            contact_role=role,
            warnings=tuple(warnings),
            seller_email=seller_email,
            seller_name=seller_name,
            language=language,
            segment=segment,
        ),
        [],
    )
