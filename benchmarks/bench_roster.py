"""Roster import into the local MongoDB-compatible server (or MONGO_URL), through the service function.

    bench roster.import_rows_per_s: <n> /s     rows of a fresh roster imported per second
    bench roster.reimport_s: <s> s              the same file again (compares, writes nothing)

Run: `python -m benchmarks.bench_roster [--rows 5000]`.
"""

from __future__ import annotations

import argparse
import csv
import io
import time

import pymongo

from deploy.local.mongo_server import mongo_url_or_local
from loadtests.seed import roster_rows
from services.survey.admin.programs import create_program
from services.survey.admin.roster import import_roster_csv
from shared.store import ensure_indexes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args(argv)
    contacts_per_account = 5
    rows = roster_rows(
        accounts=max(1, args.rows // 6), contacts_per_account=contacts_per_account, sellers=50
    )
    rows = rows[: args.rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    data = buffer.getvalue().encode()
    with mongo_url_or_local() as url:
        db = pymongo.MongoClient(url)[f"bench_roster_{int(time.time())}"]
        ensure_indexes(db)
        program = create_program(db=db, org_id="bench", name="Bench")
        started = time.perf_counter()
        report = import_roster_csv(db=db, org_id="bench", program_id=program["_id"], data=data)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = import_roster_csv(db=db, org_id="bench", program_id=program["_id"], data=data)
        second = time.perf_counter() - started
        assert again.accounts_created == again.contacts_created == 0, again
        print(
            f"# {len(rows)} rows: {report.contacts_created} contacts, {report.accounts_created} accounts, "
            f"first import {first:.1f} s, re-import {second:.1f} s"
        )
        print(f"bench roster.import_rows_per_s: {len(rows) / first:.0f} /s")
        print(f"bench roster.reimport_s: {second:.2f} s")
        db.client.drop_database(db.name)


if __name__ == "__main__":
    main()
