"""A program's roster as a CSV file in the import's own columns (so it imports back as is),
every cell made safe for spreadsheets by `shared.csv_cells`."""

from __future__ import annotations

import io
from collections.abc import Iterator

from services.survey.admin.programs import get_program
from services.survey.admin.roster_file import COLUMNS
from shared.csv_cells import CsvWriter
from shared.store import Database
from shared.store import roster as roster_store


def roster_csv(*, db: Database, org_id: str, program_id: str) -> Iterator[str]:
    """The program's roster, one line of CSV text at a time: the header, then one row per
    contact-seller assignment, by account id, contact email and seller position."""
    get_program(db=db, org_id=org_id, program_id=program_id)  # 404 before any line

    def read(family: str, *fields: str) -> list[dict]:
        return list(
            roster_store.program_documents(
                db=db, family=family, program_id=program_id, fields=fields
            )
        )

    accounts = {
        a["_id"]: a for a in read("accounts", "external_id", "name", "annual_revenue", "segment")
    }
    contacts = {
        c["email"]: c for c in read("contacts", "email", "name", "role", "language", "account_id")
    }
    sellers = {s["email"]: s.get("name") or "" for s in read("sellers", "email", "name")}
    rows = []
    for assignment in read("assignments", "contact_email", "seller_email", "position"):
        contact = contacts.get(assignment["contact_email"])
        account = accounts.get(contact["account_id"]) if contact else None
        if contact is None or account is None:
            continue
        rows.append(
            (
                account["external_id"],
                contact["email"],
                assignment.get("position", 0),
                account,
                contact,
                assignment["seller_email"],
            )
        )
    rows.sort(key=lambda r: r[:3])
    out = io.StringIO()
    writer = CsvWriter(out, float_format="", lineterminator="\r\n")

    def line(values: list[object]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow(values)
        return out.getvalue()

    yield line(list(COLUMNS))
    for external_id, email, _, account, contact, seller_email in rows:
        yield line(
            [
                external_id,
                account.get("name") or "",
                account.get("annual_revenue"),
                email,
                contact.get("name") or "",
                contact.get("role") or "other",
                seller_email,
                sellers.get(seller_email, ""),
                contact.get("language"),
                account.get("segment"),
            ]
        )
