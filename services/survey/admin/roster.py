"""The roster: importing a CRM export (CSV or JSON rows, read by `roster_file`) into a program.

One row is one contact–seller assignment. Good rows are imported and bad rows reported
with their row number and column; importing the same file again changes nothing. Writes
are upserts keyed by the unique indexes, a thousand rows per round trip, compared first
with one read of the program's documents (its keys, ids and a digest of their values), so
the memory in use is one batch plus the keys of the program and of the file. If the
database fails part-way, the error names the rows imported and a re-import finishes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError

from services.survey.admin.accounts import mark_tallies_stale, refresh_after_import
from services.survey.admin.programs import get_program
from services.survey.admin.roster_file import (
    RosterFileError,
    RosterRow,
    RowError,
    parse_row,
    read_roster_csv,
)
from services.survey.admin.schemas import (
    RosterEnvelopeSchema,
    RosterRowSchema,
    flat_messages,
    invalid_input_message,
)
from services.survey.errors import ApiError, ValidationFailed
from services.survey.request_body import parse_json_body
from shared.ids import new_id
from shared.store import (
    BulkWriteError,
    ConnectionFailure,
    Database,
    OperationFailure,
    PyMongoError,
)
from shared.store import roster as roster_store

log = logging.getLogger(__name__)

BATCH_ROWS = 1000
MAX_REPORTED_ERRORS = 1000
MAX_SHOWN_ERRORS = 50  # in the details of a 400 that refuses the whole roster
MAX_SHAPE_ERROR_ROWS = 20  # JSON rows of the wrong shape: checking stops at this many


class RosterImportInterrupted(ApiError):
    """The database failed part-way through an import: the rows named as imported are, and
    importing the same file again finishes the job (it writes only what is missing)."""

    status, code = 503, "import_interrupted"


@dataclass
class RosterReport:
    """What an import did, in the shape of API.md."""

    accounts_created: int = 0
    accounts_updated: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0
    sellers_created: int = 0
    sellers_updated: int = 0
    assignments_created: int = 0
    assignments_updated: int = 0
    assignments_removed: int = 0
    rows_imported: int = 0
    rows_rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_truncated: bool = False
    warnings: list[RowError] = field(default_factory=list)  # rows imported with a change

    def warn(self, warnings: Sequence[RowError]) -> None:
        room = MAX_REPORTED_ERRORS - len(self.warnings)
        self.warnings.extend(warnings[: max(room, 0)])

    def reject(self, errors: Sequence[RowError]) -> None:
        self.rows_rejected += 1
        room = MAX_REPORTED_ERRORS - len(self.errors)
        if len(errors) > room:
            self.errors_truncated = True
        self.errors.extend(errors[: max(room, 0)])


# --- importing -----------------------------------------------------------------------------

# The values an import writes and compares, per collection (besides the key fields); an
# optional one is compared only when the row gives it.
_COMPARED: dict[str, tuple[str, ...]] = {
    "accounts": ("org_id", "name", "annual_revenue", "owner_email", "natural_key"),
    "sellers": ("org_id", "name", "natural_key"),
    "contacts": (
        "org_id",
        "account_id",
        "account_external_id",
        "name",
        "role",
        "language",
        "primary_seller_email",
        "natural_key",
    ),
    "assignments": ("org_id", "position", "natural_key"),
}
_OPTIONAL: dict[str, tuple[str, ...]] = {"accounts": ("segment",)}


def _digest(values: Iterable[object]) -> bytes:
    # 16 bytes stand for a document's values, so the program's documents need not stay in memory.
    return hashlib.blake2b(repr(tuple(values)).encode(), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class _Stored:
    """A document already in the program: its id, its compared values' digest, its optionals."""

    id: str
    digest: bytes
    optional: tuple[object, ...]


class _WriteFailed(Exception):
    """The database accepted a write but does not give it back: the import cannot go on."""


@dataclass
class _Pending:
    row: RosterRow
    position: int
    new_account: bool
    new_contact: bool
    new_seller: bool


class _Import:
    """One import into one program: cross-row checks, then batched upserts."""

    def __init__(self, *, db: Database, org_id: str, program: Mapping[str, Any], batch_rows: int):
        self.db = db
        self.org_id = org_id
        self.program_id = program["_id"]
        settings = program.get("settings") or {}
        self.languages: list[str] = list(settings.get("languages") or ["en"])
        self.batch_rows = batch_rows
        self.report = RosterReport()
        self.now = datetime.now(UTC)
        self.account_ids: dict[str, str] = {}  # external id -> _id, once known
        self.accounts_seen: set[str] = set()
        self.sellers_seen: set[str] = set()
        self.contact_first: dict[str, tuple[str, int]] = {}  # email -> (account, first row)
        self.sellers_of: dict[str, list[str]] = {}  # contact email -> sellers, in file order
        self.batch: list[_Pending] = []
        self.stored: dict[str, dict[tuple[str, ...], _Stored]] = {}  # read once per collection
        # Where the import stands, for an honest answer if the database fails part-way.
        self.first_row: int | None = None
        self.last_row: int | None = None  # the last row read
        self.done_through: int | None = None  # every row up to here is imported
        self.wrote = False

    def _read(self, number: int) -> None:
        if self.first_row is None:
            self.first_row = number
        self.last_row = number

    def add(self, number: int, values: Mapping[str, object], *, decimal_comma: bool) -> None:
        self._read(number)
        row, errors = parse_row(
            number, values, languages=self.languages, decimal_comma=decimal_comma
        )
        if row is None:
            self.report.reject(errors)
            return
        first = self.contact_first.get(row.contact_email)
        if first is not None and first[0] != row.account_id:
            self.report.reject(
                [
                    RowError(
                        number,
                        "account_id",
                        f"{row.contact_email} is listed under account {first[0]} on row {first[1]}",
                    )
                ]
            )
            return
        self.report.rows_imported += 1
        self.report.warn(row.warnings)
        sellers = self.sellers_of.setdefault(row.contact_email, [])
        if row.seller_email in sellers:
            return  # the same assignment twice: nothing more to write
        sellers.append(row.seller_email)
        pending = _Pending(
            row=row,
            position=len(sellers) - 1,
            new_account=row.account_id not in self.accounts_seen,
            new_contact=first is None,
            new_seller=row.seller_email not in self.sellers_seen,
        )
        self.accounts_seen.add(row.account_id)
        self.sellers_seen.add(row.seller_email)
        if first is None:
            self.contact_first[row.contact_email] = (row.account_id, number)
        self.batch.append(pending)
        if len(self.batch) >= self.batch_rows:
            self.flush()

    def reject(self, error: RowError) -> None:
        self._read(error.row)
        self.report.reject([error])

    def flush(self) -> None:
        """Write the batch: accounts, sellers, contacts, then assignments."""
        batch, self.batch = self.batch, []
        if batch:
            self._write(batch)
        self.done_through = self.last_row

    def _write(self, batch: list[_Pending]) -> None:
        report = self.report
        on_insert = self._on_insert
        created, updated, ids = self._sync(
            "accounts",
            ("external_id",),
            {
                (p.row.account_id,): (self._account_values(p.row), on_insert())
                for p in batch
                if p.new_account
            },
        )
        report.accounts_created += created
        report.accounts_updated += updated
        self.account_ids.update({key[0]: _id for key, _id in ids.items() if _id is not None})
        self._resolve_accounts({p.row.account_id for p in batch})
        created, updated, _ = self._sync(
            "sellers",
            ("email",),
            {
                (p.row.seller_email,): (
                    {"org_id": self.org_id, "name": p.row.seller_name},
                    {**on_insert(), "language": self.languages[0]},
                )
                for p in batch
                if p.new_seller
            },
        )
        report.sellers_created += created
        report.sellers_updated += updated
        created, updated, _ = self._sync(
            "contacts",
            ("email",),
            {
                (p.row.contact_email,): (self._contact_values(p.row), on_insert())
                for p in batch
                if p.new_contact
            },
        )
        report.contacts_created += created
        report.contacts_updated += updated
        created, updated, _ = self._sync(
            "assignments",
            ("contact_email", "seller_email"),
            {
                (p.row.contact_email, p.row.seller_email): (
                    {"org_id": self.org_id, "position": p.position},
                    {"created_at": self.now},
                )
                for p in batch
            },
        )
        report.assignments_created += created
        report.assignments_updated += updated

    def _will_write(self) -> None:
        # before the first write: the accounts table counts again unless the import completes
        if not self.wrote:
            mark_tallies_stale(db=self.db, org_id=self.org_id, program_id=self.program_id)
        self.wrote = True

    def _on_insert(self) -> dict[str, Any]:
        return {"_id": new_id(), "created_at": self.now}

    def _stored_in(
        self, collection: str, key_fields: tuple[str, ...]
    ) -> dict[tuple[str, ...], _Stored]:
        """The program's documents of a collection by key, read once in one pass.

        One scan instead of a lookup per batch: the local server answers `$in` by testing
        every document against every key (and its SQLite engine refuses more than ~500 keys).
        """
        stored = self.stored.get(collection)
        if stored is None:
            compared, optional = _COMPARED[collection], _OPTIONAL.get(collection, ())
            fields = (*key_fields, *compared, *optional)
            found = roster_store.program_documents(
                db=self.db, family=collection, program_id=self.program_id, fields=fields
            )
            stored = {
                tuple(doc.get(f) for f in key_fields): _Stored(
                    doc["_id"],
                    _digest(doc.get(name) for name in compared),
                    tuple(doc.get(name) for name in optional),
                )
                for doc in found
            }
            self.stored[collection] = stored
        return stored

    def _sync(
        self,
        collection: str,
        key_fields: tuple[str, ...],
        wanted: Mapping[tuple[str, ...], tuple[dict[str, Any], dict[str, Any]]],
    ) -> tuple[int, int, dict[tuple[str, ...], str | None]]:
        """Upsert what is new, update what differs, leave the rest: (created, updated, ids).

        One bulk write per batch; comparing here, not trusting the server's nModified,
        keeps a re-import at zero writes.
        """
        if not wanted:
            return 0, 0, {}
        stored = self._stored_in(collection, key_fields)
        compared, optional = _COMPARED[collection], _OPTIONAL.get(collection, ())
        upserts: list[roster_store.Upsert] = []
        changed: dict[str, dict[str, Any]] = {}
        key_of: dict[str, tuple[str, ...]] = {}  # natural key -> key, of the new documents
        ids: dict[tuple[str, ...], str | None] = {}
        for key, (values, insert_values) in wanted.items():
            want = {**values, "natural_key": "|".join((self.program_id, *key))}
            current = stored.get(key)
            if current is None:
                on_insert = {
                    **insert_values,
                    "program_id": self.program_id,
                    **dict(zip(key_fields, key, strict=True)),
                }
                upserts.append(roster_store.Upsert(want["natural_key"], want, on_insert))
                key_of[want["natural_key"]] = key
                ids[key] = insert_values.get("_id")
                continue
            ids[key] = current.id
            same = current.digest == _digest(want.get(name) for name in compared) and all(
                want[name] == value
                for name, value in zip(optional, current.optional, strict=True)
                if name in want
            )
            if not same:
                changed[current.id] = want
        if not upserts and not changed:
            return 0, 0, ids
        self._will_write()
        inserted = roster_store.write(
            db=self.db, family=collection, upserts=upserts, updates=changed
        )
        for natural_key, key in key_of.items():
            if natural_key not in inserted:
                ids[key] = None  # inserted meanwhile by someone else: its id is not ours
        return len(inserted), len(changed) + len(key_of) - len(inserted), ids

    def _account_values(self, row: RosterRow) -> dict[str, Any]:
        values: dict[str, Any] = {
            "org_id": self.org_id,
            "name": row.account_name,
            "annual_revenue": row.annual_revenue,
            # The account's first seller in the roster owns it (alerts go there).
            "owner_email": row.seller_email,
        }
        if row.segment is not None:
            values["segment"] = row.segment
        return values

    def _contact_values(self, row: RosterRow) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "account_id": self.account_ids[row.account_id],
            "account_external_id": row.account_id,
            "name": row.contact_name,
            "role": row.contact_role,
            "language": row.language or self.languages[0],
            # The first seller on the contact's rows is the primary seller.
            "primary_seller_email": row.seller_email,
        }

    def _resolve_accounts(self, external_ids: set[str]) -> None:
        # Only accounts another import inserted between our read and our write are unknown.
        for external_id in external_ids - self.account_ids.keys():
            found = roster_store.id_of(
                db=self.db, family="accounts", natural_key=f"{self.program_id}|{external_id}"
            )
            if found is None:
                raise _WriteFailed(f"account {external_id!r} was written but cannot be read back")
            self.account_ids[external_id] = found

    def finish(self) -> RosterReport:
        """Write what is left and drop the assignments the file no longer lists for its contacts."""
        self.flush()
        if self.sellers_of:
            stale = [
                a["_id"]
                for a in roster_store.list_assignments(
                    db=self.db, program_id=self.program_id, fields=("contact_email", "seller_email")
                )
                if a["contact_email"] in self.sellers_of
                and a["seller_email"] not in self.sellers_of[a["contact_email"]]
            ]
            if stale:
                self._will_write()
                self.report.assignments_removed = roster_store.delete_assignments(
                    db=self.db, assignment_ids=stale
                )
        return self.report

    def interrupted(self, exc: Exception) -> RosterImportInterrupted:
        """The answer when the database fails part-way: which rows are imported, what to do."""
        problem = _database_problem(exc)
        again = (
            "import the same file again to finish: what is already imported is not written twice"
        )
        first, done = self.first_row, self.done_through
        if not self.wrote:
            message = f"the roster was not imported ({problem}); nothing was changed"
            rows = ["none imported"]
        elif done is not None and done == self.last_row and not self.batch:
            message = (
                f"every row is imported, but removing the assignments the file no longer lists "
                f"failed ({problem}); {again}"
            )
            rows = [f"{first}-{done}: imported"]
        elif done is None:
            message = (
                f"the import stopped part-way ({problem}): no row is completely imported yet; "
                f"rows from {first} on are not imported, or only in part; {again}"
            )
            rows = [f"{first} on: not imported, or only in part"]
        else:
            message = (
                f"the import stopped part-way ({problem}): rows {first}-{done} are imported, "
                f"rows after {done} are not, or only in part; {again}"
            )
            rows = [f"{first}-{done}: imported", f"{done + 1} on: not imported, or only in part"]
        return RosterImportInterrupted(
            message,
            details={"rows": rows, "database": [problem]},
            extra={"last_row_imported": done if self.wrote else None},
        )


def _database_problem(exc: Exception) -> str:
    """What went wrong in the database, in one short phrase (no topology dump)."""
    if isinstance(exc, ConnectionFailure):
        return "the database could not be reached"
    if isinstance(exc, BulkWriteError):
        first = (exc.details.get("writeErrors") or [{}])[0]
        return f"the database refused a write: {str(first.get('errmsg', exc))[:200]}"
    if isinstance(exc, OperationFailure):
        return (
            f"the database refused the request: {str((exc.details or {}).get('errmsg', exc))[:200]}"
        )
    return str(exc)[:200] or type(exc).__name__


def _run(
    importer: _Import,
    rows: Iterable[tuple[int, Mapping[str, object] | RowError]],
    *,
    decimal_comma: bool,
) -> RosterReport:
    """Feed the rows to the importer and finish; a database failure names what was done."""
    try:
        for number, values in rows:
            if isinstance(values, RowError):
                importer.reject(values)
            else:
                importer.add(number, values, decimal_comma=decimal_comma)
        report = _finished(importer)
    except (PyMongoError, _WriteFailed) as exc:
        log.warning("roster import interrupted", exc_info=exc)
        raise importer.interrupted(exc) from exc
    if importer.wrote:  # the console's accounts table sorts on each account's tallies
        refresh_after_import(db=importer.db, org_id=importer.org_id, program_id=importer.program_id)
    return report


def _finished(importer: _Import) -> RosterReport:
    report = importer.finish()
    if report.rows_imported == 0 and report.rows_rejected:
        first = report.errors[0]
        truncated = report.errors_truncated or len(report.errors) > MAX_SHOWN_ERRORS
        details: dict[str, list[str]] = {}
        for error in report.errors[:MAX_SHOWN_ERRORS]:
            details.setdefault(error.column or "row", []).append(
                f"row {error.row}: {error.message}"
            )
        raise ValidationFailed(
            f"no row could be imported; row {first.row}"
            f"{', ' + first.column if first.column else ''}: {first.message}",
            details=details,
            extra={"errors_truncated": True} if truncated else None,
        )
    return report


@dataclass(frozen=True)
class RosterUpload:
    """An uploaded roster as received: CSV bytes, or the raw JSON body `{"rows": [...]}`."""

    data: bytes
    is_json: bool = False


def import_roster(
    *, db: Database, org_id: str, program_id: str, upload: RosterUpload
) -> RosterReport:
    """Import an uploaded roster into the organisation's program (404 before any parsing)."""
    get_program(db=db, org_id=org_id, program_id=program_id)
    if not upload.is_json:
        return import_roster_csv(db=db, org_id=org_id, program_id=program_id, data=upload.data)
    return import_roster_rows(
        db=db, org_id=org_id, program_id=program_id, rows=roster_json_rows(upload.data)
    )


def roster_json_rows(data: bytes) -> list[dict[str, Any]]:
    """The rows of a JSON roster body, each checked by RosterRowSchema (400 naming the field).

    Checking stops at the MAX_SHAPE_ERROR_ROWS-th row of the wrong shape, so that a body of
    100,000 bad rows is answered at once, naming the first ones (`errors_truncated`).
    """
    body = parse_json_body(data)  # the 400s every JSON body gets, numbers and text included
    try:
        raw_rows = RosterEnvelopeSchema().load(body)["rows"]
    except ValidationError as exc:
        details = flat_messages(exc.messages)
        raise ValidationFailed(invalid_input_message(details), details=details) from None
    schema = RosterRowSchema()
    rows: list[dict[str, Any]] = []
    details = {}
    bad_rows = 0
    index = 0
    for index, raw in enumerate(raw_rows):
        try:
            rows.append(schema.load(raw))
        except ValidationError as exc:
            bad_rows += 1
            details.update(flat_messages(exc.messages, f"rows.{index}"))
            if bad_rows == MAX_SHAPE_ERROR_ROWS:
                break
    if details:
        unchecked = len(raw_rows) - index - 1
        message = invalid_input_message(details)
        if unchecked:
            message += f"; the rows after rows.{index} were not checked"
        # Said only when it holds, so that the usual error keeps its three fields.
        extra = {"errors_truncated": True} if unchecked else None
        raise ValidationFailed(message, details=details, extra=extra)
    return rows


def import_roster_csv(
    *, db: Database, org_id: str, program_id: str, data: bytes, batch_rows: int = BATCH_ROWS
) -> RosterReport:
    """Import a CSV roster file; a file that cannot be read as a whole changes nothing.

    Raises RosterFileError (a 400) for an empty, binary or unreadable file or a missing
    column, ValidationFailed when no row at all is valid, and RosterImportInterrupted (a
    503 naming the rows imported) when the database fails part-way.
    """
    program = get_program(db=db, org_id=org_id, program_id=program_id)
    roster = read_roster_csv(data)
    importer = _Import(db=db, org_id=org_id, program=program, batch_rows=batch_rows)
    return _run(importer, roster.rows(), decimal_comma=roster.decimal_comma)


def import_roster_rows(
    *,
    db: Database,
    org_id: str,
    program_id: str,
    rows: Sequence[Mapping[str, object]],
    batch_rows: int = BATCH_ROWS,
) -> RosterReport:
    """Import roster rows given as JSON objects (already checked by RosterRowSchema).

    Row numbers in the report count from 1.
    """
    program = get_program(db=db, org_id=org_id, program_id=program_id)
    if not rows:
        raise RosterFileError("the roster has no rows", details={"rows": ["is empty"]})
    importer = _Import(db=db, org_id=org_id, program=program, batch_rows=batch_rows)
    return _run(importer, enumerate(rows, start=1), decimal_comma=False)
