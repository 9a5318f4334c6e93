"""Roster files for console tests: N accounts of one contact and one seller each, with some
rows made bad on purpose (each bad row names the row and column the import must report)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from services.survey.admin.roster_file import REQUIRED_COLUMNS

# row number in the file (the header is row 1) -> (column, the bad value)
BAD_VALUES = {
    "contact_email": "not-an-email",
    "annual_revenue": "lots",
    "contact_role": "boss",
}


def roster_file(accounts: int, *, bad_rows: Iterable[int] = (), sellers: int = 7) -> bytes:
    """A CSV roster of `accounts` accounts (ACC-0000 "Account 0000", revenue 1000 + i); the
    given file rows (2 = first data row) get one bad value each, in turn from BAD_VALUES."""
    bad = dict(zip(sorted(bad_rows), list(BAD_VALUES.items()) * 100, strict=False))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REQUIRED_COLUMNS)
    for i in range(accounts):
        values = {
            "account_id": f"ACC-{i:04d}",
            "account_name": f"Account {i:04d}",
            "annual_revenue": str(1000 + i),
            "contact_email": f"buyer{i}@account{i}.example",
            "contact_name": f"Buyer {i}",
            "contact_role": ("decision_maker", "influencer", "user")[i % 3],
            "seller_email": f"seller{i % sellers}@vendor.example",
            "seller_name": f"Seller {i % sellers}",
        }
        if i + 2 in bad:
            column, value = bad[i + 2]
            values[column] = value
        writer.writerow([values[c] for c in REQUIRED_COLUMNS])
    return out.getvalue().encode()
