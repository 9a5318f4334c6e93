"""`make dev`'s durable snapshot at the size of a real program: how long writing it and
starting again from it take.

A program of N accounts (5 buyer contacts each), its wave launched, answered and scored
provisionally (deploy/local/seeding.py, bulk answers), on the local server as `make dev`
runs it (memory engine, snapshot every 5 s). Then the server is stopped (it writes a last
snapshot) and started again from that file:

    bench snapshot.accounts_<N>_documents: <n>     documents in the snapshot
    bench snapshot.accounts_<N>_mb: <mb> MB        its size on disk
    bench snapshot.accounts_<N>_stop_s: <s> s      a clean stop (the last snapshot written)
    bench snapshot.accounts_<N>_start_s: <s> s     a start until the server answers (loaded)

Run: `python -m benchmarks.bench_snapshot [--accounts 2000]` (minutes at 2,000: seeding).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pymongo

from deploy.local.mongo_server import LocalMongo
from deploy.local.seeding import seed_answered_wave
from services.scoring.worker import recompute_provisional
from shared import clock
from shared.bus import ConsumerSpec, InProcessBus
from shared.settings import Settings
from shared.store import client_options, ensure_indexes


def _counts(uri: str) -> dict[str, int]:
    client = pymongo.MongoClient(uri, **client_options())
    try:
        db = client["rapport"]
        # documents by collection; an empty collection is not kept (the services' start
        # creates every collection's indexes again: shared.store.ensure_indexes)
        counts = {name: db[name].estimated_document_count() for name in db.list_collection_names()}
        return {name: n for name, n in counts.items() if n}
    finally:
        client.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=200)
    args = parser.parse_args(argv)
    n = args.accounts
    with tempfile.TemporaryDirectory() as directory:
        snapshot = str(Path(directory) / "rapport.snapshot")
        server = LocalMongo(engine="memory", snapshot=snapshot).start()
        port = server.port
        try:
            client = pymongo.MongoClient(server.uri, **client_options())
            db = client["rapport"]
            ensure_indexes(db)
            settings = Settings(mongo_url=server.uri)
            bus = InProcessBus(settings)
            bus.consumer(ConsumerSpec("sink", ("#",), lambda event: None)).start()
            seeded = seed_answered_wave(db=db, bus=bus, settings=settings, accounts=n, bulk=True)
            recompute_provisional(db, seeded.wave_id, as_of=clock.now(), new_accounts=True)
            bus.close()
            client.close()
            before = _counts(server.uri)
        finally:
            started = time.perf_counter()
            server.stop(timeout=600)
            stopped = time.perf_counter() - started
        size_mb = Path(snapshot).stat().st_size / 1e6
        started = time.perf_counter()
        again = LocalMongo(engine="memory", snapshot=snapshot, port=port).start(timeout=1800)
        loaded = time.perf_counter() - started
        try:
            after = _counts(again.uri)
        finally:
            again.stop(timeout=600)
    print(f"# {n} accounts: {before}", flush=True)
    print(f"bench snapshot.accounts_{n}_documents: {sum(before.values())}", flush=True)
    print(f"bench snapshot.accounts_{n}_mb: {size_mb:.1f} MB", flush=True)
    print(f"bench snapshot.accounts_{n}_stop_s: {stopped:.1f} s", flush=True)
    print(f"bench snapshot.accounts_{n}_start_s: {loaded:.1f} s", flush=True)
    assert after == before, (before, after)


if __name__ == "__main__":
    main()
