"""Wave launch benchmark against the local MongoDB-compatible server (or MONGO_URL).

    bench launch.2k_contacts: <s> s                 launch_wave (delivery email) of a wave
                                                    of 2,000 buyer contacts and 400 sellers:
                                                    2,400 invitations, 5 outbox events
    bench launch.overhead_vs_raw_insert: <x> x      that time / a raw pymongo insert_many of
                                                    the same 2,400 documents (batches of 500)
    bench launch.overhead_vs_raw_upsert: <x> x      that time / raw bulk UpdateOne upserts of
                                                    the same documents keyed on a unique field,
                                                    the fastest raw write path on the stand-in

The stand-in's costs (DESIGN.md): every insert scans the collection (insert_many is
superlinear), a compound unique index is checked by a scan per insert, while an upsert
keyed on a single-field unique index is a lookup. The roster is therefore seeded into
collections carrying single-field indexes instead of their compound unique ones (with
those, seeding alone takes minutes); the launch is timed against the declared indexes of
what it writes (invitations, outbox, waves). Seeding is not timed.

Run: `python -m benchmarks.bench_launch` (or `make bench`).
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from typing import Any

import pymongo
from pymongo import IndexModel, UpdateOne

from deploy.local.mongo_server import mongo_url_or_local
from services.survey.admin.programs import create_program
from services.survey.admin.roster import import_roster_csv
from services.survey.admin.roster_file import REQUIRED_COLUMNS
from services.survey.admin.waves import (
    build_invitations,
    create_wave,
    launch_wave,
    load_launch_roster,
)
from services.survey.organisations import ensure_organisation
from shared.bus import InProcessBus
from shared.settings import Settings
from shared.store import INDEXES

ACCOUNTS = 400
CONTACTS_PER_ACCOUNT = 5  # 2,000 contacts
SELLERS = 400
RAW_BATCH = 500
ROSTER_COLLECTIONS = {
    "accounts": "external_id",
    "contacts": "email",
    "sellers": "email",
    "assignments": "contact_email",
}


def roster_file() -> bytes:
    """400 accounts of 5 contacts; each contact has a primary seller, every 4th a second one."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REQUIRED_COLUMNS)
    roles = ("decision_maker", "influencer", "user", "other", "user")
    for a in range(ACCOUNTS):
        for c in range(CONTACTS_PER_ACCOUNT):
            n = a * CONTACTS_PER_ACCOUNT + c
            sellers = [n % SELLERS] + ([(n + 7) % SELLERS] if n % 4 == 0 else [])
            for s in sellers:
                writer.writerow(
                    [
                        f"ACC-{a:04d}",
                        f"Account {a}",
                        100_000 + 1_000 * a,
                        f"buyer{n}@account{a}.example",
                        f"Buyer {n}",
                        roles[c],
                        f"seller{s}@vendor.example",
                        f"Seller {s}",
                    ]
                )
    return out.getvalue().encode()


def prepare(db) -> None:
    """Declared indexes for what the launch writes; single-field ones for the roster (see above)."""
    for name, indexes in INDEXES.items():
        if name not in ROSTER_COLLECTIONS:
            db[name].create_indexes([ix.model() for ix in indexes])
    for name, field in ROSTER_COLLECTIONS.items():
        # Only the selective field: with a program_id index the stand-in's planner scans.
        db[name].create_indexes([IndexModel([(field, 1)])])


def seeded_wave(db) -> dict[str, Any]:
    org_id = ensure_organisation(db=db, name="bench")
    program = create_program(db=db, org_id=org_id, name="Bench program")
    report = import_roster_csv(db=db, org_id=org_id, program_id=program["_id"], data=roster_file())
    assert report.contacts_created == ACCOUNTS * CONTACTS_PER_ACCOUNT, report
    assert report.sellers_created == SELLERS, report
    wave = create_wave(
        db=db,
        org_id=org_id,
        program_id=program["_id"],
        name="Bench wave",
        closes_at=_later(),
    )
    return {"org_id": org_id, "program": program, "wave": wave}


def _later():
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(days=30)


def raw_documents(db, seeded: dict[str, Any]) -> list[dict[str, Any]]:
    """The same invitation documents the launch wrote, with new ids, for the raw baselines."""
    roster = load_launch_roster(db=db, org_id=seeded["org_id"], program=seeded["program"])
    wave = {**seeded["wave"], "_id": uuid.uuid4().hex}
    return build_invitations(wave=wave, roster=roster, now=_later())


def time_raw_insert(client, docs: list[dict[str, Any]]) -> float:
    collection = client[f"bench_raw_{uuid.uuid4().hex[:8]}"]["invitations"]
    docs = [{**d, "_id": uuid.uuid4().hex} for d in docs]
    started = time.perf_counter()
    for start in range(0, len(docs), RAW_BATCH):
        collection.insert_many(docs[start : start + RAW_BATCH], ordered=False)
    return time.perf_counter() - started


def time_raw_upsert(client, docs: list[dict[str, Any]]) -> float:
    collection = client[f"bench_raw_{uuid.uuid4().hex[:8]}"]["invitations"]
    collection.create_index("invitation_key", unique=True)
    docs = [{**d, "_id": uuid.uuid4().hex} for d in docs]
    started = time.perf_counter()
    for start in range(0, len(docs), RAW_BATCH):
        collection.bulk_write(
            [
                UpdateOne({"invitation_key": d["invitation_key"]}, {"$setOnInsert": d}, upsert=True)
                for d in docs[start : start + RAW_BATCH]
            ],
            ordered=False,
        )
    return time.perf_counter() - started


def main() -> None:
    """Seed, launch once (timed), then time the raw baselines on the same server."""
    with mongo_url_or_local() as uri:
        client = pymongo.MongoClient(uri, tz_aware=True)
        try:
            db = client[f"bench_launch_{uuid.uuid4().hex[:8]}"]
            prepare(db)
            seeded = seeded_wave(db)
            settings = Settings(mongo_url=uri)
            bus = InProcessBus(settings, declare={"notify": ("invitations.created",)})
            started = time.perf_counter()
            report = launch_wave(
                db=db,
                bus=bus,
                org_id=seeded["org_id"],
                wave_id=seeded["wave"]["_id"],
                delivery="email",
            )
            launch = time.perf_counter() - started
            invited = report.invited_buyers + report.invited_sellers
            assert (report.invited_buyers, report.invited_sellers) == (2_000, 400), report
            assert report.events_published == 5 and report.events_pending == 0, report
            docs = raw_documents(db, seeded)
            assert len(docs) == invited
            raw_insert = time_raw_insert(client, docs)
            raw_upsert = time_raw_upsert(client, docs)
        finally:
            for name in client.list_database_names():
                if name.startswith(("bench_launch_", "bench_raw_")):
                    client.drop_database(name)
            client.close()
    print(f"bench launch.2k_contacts: {launch:.2f} s", flush=True)
    print(f"bench launch.overhead_vs_raw_insert: {launch / raw_insert:.2f} x", flush=True)
    print(f"bench launch.overhead_vs_raw_upsert: {launch / raw_upsert:.2f} x", flush=True)
    print(
        f"# {invited} invitations; raw insert_many {raw_insert:.2f} s, "
        f"raw keyed upserts {raw_upsert:.2f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
