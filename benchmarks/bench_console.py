"""The console's open-wave figures on a program of 2,000 accounts (or MONGO_URL).

    bench console.response_rates_ms: <ms>      monitoring.response_rates (by side, account,
                                               seller) of a wave of 2,000 accounts, 2,000
                                               buyer contacts and 400 sellers (median of 5)
    bench console.silent_decision_makers_ms: <ms>  monitoring.not_answered with the
                                               silent decision makers filter (median of 5)
    bench console.rates_vs_raw_find: <x> x     response_rates / a raw find of the wave's
                                               invitations (same fields) on the same server

A third of the buyers and sellers have completed (set through the store's own move). Seeding
is not timed. Run: `python -m benchmarks.bench_console`.
"""

from __future__ import annotations

import csv
import io
import statistics
import time
import uuid
from collections.abc import Callable

import pymongo

from benchmarks.bench_launch import _later, prepare
from deploy.local.mongo_server import mongo_url_or_local
from services.survey.admin import monitoring
from services.survey.admin.programs import create_program
from services.survey.admin.roster import import_roster_csv
from services.survey.admin.roster_file import REQUIRED_COLUMNS
from services.survey.admin.waves import create_wave, launch_wave
from services.survey.organisations import ensure_organisation
from shared.bus import InProcessBus
from shared.settings import Settings
from shared.store import invitations as invitation_store

ACCOUNTS = 2_000
CONTACTS_PER_ACCOUNT = 1
SELLERS = 400
RUNS = 5


def roster_file() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REQUIRED_COLUMNS)
    roles = ("decision_maker", "user")
    for a in range(ACCOUNTS):
        for c in range(CONTACTS_PER_ACCOUNT):
            n = a * CONTACTS_PER_ACCOUNT + c
            s = a % SELLERS
            writer.writerow(
                [
                    f"ACC-{a:04d}",
                    f"Account {a}",
                    100_000 + a,
                    f"buyer{n}@account{a}.example",
                    f"Buyer {n}",
                    roles[a % 2],
                    f"seller{s}@vendor.example",
                    f"Seller {s}",
                ]
            )
    return out.getvalue().encode()


def _median_ms(run: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    with mongo_url_or_local() as uri:
        client = pymongo.MongoClient(uri, tz_aware=True)
        try:
            db = client[f"bench_console_{uuid.uuid4().hex[:8]}"]
            prepare(db)
            org_id = ensure_organisation(db=db, name="bench")
            program = create_program(db=db, org_id=org_id, name="Bench program")
            import_roster_csv(db=db, org_id=org_id, program_id=program["_id"], data=roster_file())
            wave = create_wave(
                db=db, org_id=org_id, program_id=program["_id"], name="W", closes_at=_later()
            )
            bus = InProcessBus(Settings(mongo_url=uri))
            launch_wave(db=db, bus=bus, org_id=org_id, wave_id=wave["_id"], delivery="none")
            rows = invitation_store.progress_rows(db=db, org_id=org_id, wave_id=wave["_id"])
            for row in rows[::3]:
                invitation_store.mark_completed(db=db, invitation_id=row["_id"], now=_later())
            scope = {"db": db, "org_id": org_id, "wave_id": wave["_id"]}
            rates = monitoring.response_rates(**scope)
            assert len(rates["accounts"]) == ACCOUNTS, len(rates["accounts"])
            assert rates["sides"]["buyers"]["invited"] == ACCOUNTS * CONTACTS_PER_ACCOUNT
            rates_ms = _median_ms(lambda: monitoring.response_rates(**scope))
            silent_ms = _median_ms(
                lambda: monitoring.not_answered(**scope, silent_decision_makers=True)
            )
            fields = {"side": 1, "status": 1, "person_email": 1, "subjects": 1}
            raw_ms = _median_ms(lambda: list(db.invitations.find({"wave_id": wave["_id"]}, fields)))
        finally:
            for name in client.list_database_names():
                if name.startswith("bench_console_"):
                    client.drop_database(name)
            client.close()
    print(f"bench console.response_rates_ms: {rates_ms:.1f} ms", flush=True)
    print(f"bench console.silent_decision_makers_ms: {silent_ms:.1f} ms", flush=True)
    print(f"bench console.rates_vs_raw_find: {rates_ms / raw_ms:.2f} x", flush=True)
    print(f"# {len(rows)} invitations; raw find {raw_ms:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
