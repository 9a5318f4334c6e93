"""A wave's close (and its launch) at the size of a real program, on the embedded default.

The server is the one `make dev` runs: the local MongoDB-compatible server's memory engine
with its durable snapshot written every 5 s (deploy/local/snapshot.py), or MONGO_URL. A
program of N accounts with 5 buyer contacts each (deploy/local/synthetic.py) is imported,
a wave launched (timed), the buyers' and sellers' completed responses stored in bulk
(deploy/local/seeding.py: the documents a submit leaves; submitting 13,000 answers one by
one would take the better part of an hour), the provisional scores stored as the
completions would have left them (one recompute), then the wave is closed by the scoring
worker's `close_wave` (timed):

    bench launch.accounts_<N>_s: <s> s        launch_wave of the N-account wave
    bench close.accounts_<N>_s: <s> s          close_wave: final results, accounts, plans
    bench close.docs_per_account: <x>          `scores` documents the close wrote per account
    bench close.growth_<A>_to_<B>: <x> x       with several --accounts: the close's time ratio
                                               beside the size ratio (linear: the same)

Run: `python -m benchmarks.bench_close` (200 accounts), or
`python -m benchmarks.bench_close --accounts 200 2000` (the 2,000-account wave takes minutes
to seed: not part of `make bench`).
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime

import pymongo

from deploy.local.mongo_server import embedded_default
from deploy.local.seeding import seed_answered_wave
from services.scoring.worker import close_wave, recompute_provisional
from shared import clock
from shared.bus import ConsumerSpec, InProcessBus
from shared.settings import Settings
from shared.store import client_options, ensure_indexes, waves


def measure(uri: str, accounts: int) -> dict[str, float]:
    """Seed, launch (timed), answer, score provisionally, close (timed) one wave."""
    client = pymongo.MongoClient(uri, **client_options())
    db = client[f"bench_close_{uuid.uuid4().hex[:8]}"]
    try:
        ensure_indexes(db)
        settings = Settings(mongo_url=uri)
        bus = InProcessBus(settings)
        bus.consumer(ConsumerSpec("sink", ("#",), lambda event: None)).start()
        seeded = seed_answered_wave(db=db, bus=bus, settings=settings, accounts=accounts, bulk=True)
        wave_id = seeded.wave_id
        started = time.perf_counter()
        recompute_provisional(db, wave_id, as_of=clock.now(), new_accounts=True)
        provisional = time.perf_counter() - started
        waves.claim_closing(
            db=db, org_id=seeded.org_id, wave_id=wave_id, closed_by="bench", now=datetime.now(UTC)
        )
        written_before = db.scores.count_documents({"wave_id": wave_id})
        started = time.perf_counter()
        close_wave(db=db, bus=bus, wave_id=wave_id)
        closed = time.perf_counter() - started
        # what the close wrote: every document it upserted carries its `final` mark
        final_docs = db.scores.count_documents({"wave_id": wave_id, "final": True})
        bus.close()
        took = seeded.seconds
        print(
            f"# {accounts} accounts, {seeded.roster_rows} roster rows (import "
            f"{took['import']:.1f} s), {seeded.answered} responses answered in "
            f"{took['answers']:.1f} s, provisional scores {provisional:.1f} s "
            f"({written_before} documents), close {closed:.1f} s ({final_docs} documents "
            "written)",
            flush=True,
        )
        return {
            "launch": took["launch"],
            "close": closed,
            "docs_per_account": final_docs / accounts,
        }
    finally:
        client.drop_database(db.name)
        client.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, nargs="+", default=[200])
    args = parser.parse_args(argv)
    figures = {}
    with embedded_default() as uri:
        for accounts in args.accounts:
            figures[accounts] = found = measure(uri, accounts)
            print(f"bench launch.accounts_{accounts}_s: {found['launch']:.1f} s", flush=True)
            print(f"bench close.accounts_{accounts}_s: {found['close']:.1f} s", flush=True)
            print(f"bench close.docs_per_account: {found['docs_per_account']:.2f}", flush=True)
    sizes = sorted(figures)
    for small, big in zip(sizes, sizes[1:], strict=False):
        ratio = figures[big]["close"] / figures[small]["close"]
        print(
            f"bench close.growth_{small}_to_{big}: {ratio:.1f} x "
            f"(accounts x{big / small:.0f}; {figures[small]['close']:.1f} s -> "
            f"{figures[big]['close']:.1f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
