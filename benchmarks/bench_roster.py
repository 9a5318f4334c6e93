"""Roster import into the local MongoDB-compatible server (or MONGO_URL), through the service function.

    bench roster.import_rows_per_s: <n> /s     rows of a fresh roster imported per second
    bench roster.import_s: <s> s                the whole fresh roster (--rows rows)
    bench roster.reimport_s: <s> s              the same file again (compares, writes nothing)
    bench roster.json_bad_rows_100k_s: <s> s    100,000 empty JSON rows refused (a 400)
    bench roster.import_10k_rows_s: <s> s       with --rows 10000: the whole fresh roster

The server is the embedded default, as `make dev` runs it (the memory engine with its
durable snapshot), or MONGO_URL.

With `--engine sqlite` the names start `roster.sqlite.`: the wire server on its SQLite
engine, the embedded default of `make dev`, in a temporary directory.

Run: `python -m benchmarks.bench_roster [--rows 10000] [--engine sqlite]`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pymongo

from deploy.local.mongo_server import LocalMongo, embedded_default
from loadtests.seed import roster_rows
from services.survey.admin.programs import create_program
from services.survey.admin.roster import import_roster_csv, roster_json_rows
from services.survey.errors import ValidationFailed
from shared.store import ensure_indexes


@contextlib.contextmanager
def server(engine: str) -> Iterator[str]:
    """The URI of the server to measure: MONGO_URL or the embedded default (the memory
    engine with its snapshot, as `make dev` runs it), or SQLite."""
    if engine != "sqlite":
        with embedded_default() as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as directory:
        local = LocalMongo(engine="sqlite", path=str(Path(directory) / "bench.sqlite")).start()
        try:
            yield local.uri
        finally:
            local.stop()


def json_bad_rows_seconds(rows: int = 100_000) -> float:
    """How long 100,000 empty JSON rows take to be refused."""
    body = json.dumps({"rows": [{}] * rows}).encode()
    started = time.perf_counter()
    try:
        roster_json_rows(body)
    except ValidationFailed:
        return time.perf_counter() - started
    raise AssertionError("empty rows were accepted")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--engine", choices=("default", "sqlite"), default="default")
    args = parser.parse_args(argv)
    prefix = "roster.sqlite" if args.engine == "sqlite" else "roster"
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
    with server(args.engine) as url:
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
        # A fresh database: the whole collections are the import's (count_documents would
        # pass the local server's 50,000-document aggregation budget at 100,000 rows).
        stored = db.contacts.estimated_document_count(), db.assignments.estimated_document_count()
        assert stored == (report.contacts_created, report.assignments_created), stored
        print(
            f"# {args.engine}: {len(rows)} rows: {report.contacts_created} contacts, "
            f"{report.assignments_created} assignments, {report.accounts_created} accounts, "
            f"first import {first:.1f} s, re-import {second:.1f} s"
        )
        print(f"bench {prefix}.import_rows_per_s: {len(rows) / first:.0f} /s")
        print(f"bench {prefix}.import_s: {first:.1f} s")
        print(f"bench {prefix}.reimport_s: {second:.2f} s")
        if len(rows) == 10_000:
            print(f"bench {prefix}.import_10k_rows_s: {first:.1f} s")
        db.client.drop_database(db.name)
    print(f"bench roster.json_bad_rows_100k_s: {json_bad_rows_seconds():.2f} s")


if __name__ == "__main__":
    main()
