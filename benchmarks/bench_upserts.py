"""Upserts on the local MongoDB-compatible server: keyed by `_id` or by a single-field unique
index, on the memory engine and the SQLite engine (or MONGO_URL, for comparison).

Batches of 500 upserts that insert, into a collection that grows to --documents:

    bench upserts.<engine>.<key>_ms_first: <ms> ms      per upsert, the first batch
    bench upserts.<engine>.<key>_ms_last: <ms> ms       per upsert, the last batch
    bench upserts.<engine>.<key>_update_ms: <ms> ms     per upsert of existing documents

`<key>` is `id` or `unique_field`. The keys Rapport's writers use follow from it
(docs/data-model.md). Run: `python -m benchmarks.bench_upserts [--documents 3000]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import pymongo
from pymongo import UpdateOne

from deploy.local.mongo_server import LocalMongo
from shared.store import client_options

BATCH = 500
PAYLOAD = {"values": list(range(30)), "text": "x" * 200}


def _per_upsert_ms(collection, key: str, start: int, stop: int) -> float:
    ops = [UpdateOne({key: f"w:{i}"}, {"$set": PAYLOAD}, upsert=True) for i in range(start, stop)]
    started = time.perf_counter()
    collection.bulk_write(ops, ordered=False)
    return (time.perf_counter() - started) / len(ops) * 1000


def measure(uri: str, engine: str, documents: int) -> None:
    client = pymongo.MongoClient(uri, **client_options())
    db = client[f"bench_upserts_{uuid.uuid4().hex[:8]}"]
    try:
        for label, key in (("id", "_id"), ("unique_field", "k")):
            collection = db[label]
            if key != "_id":
                collection.create_index(key, unique=True)
            batches = [
                _per_upsert_ms(collection, key, start, start + BATCH)
                for start in range(0, documents, BATCH)
            ]
            update = _per_upsert_ms(collection, key, 0, BATCH)
            print(f"# {engine} {label}: " + " ".join(f"{ms:.1f}" for ms in batches), flush=True)
            print(f"bench upserts.{engine}.{label}_ms_first: {batches[0]:.1f} ms", flush=True)
            print(f"bench upserts.{engine}.{label}_ms_last: {batches[-1]:.1f} ms", flush=True)
            print(f"bench upserts.{engine}.{label}_update_ms: {update:.1f} ms", flush=True)
    finally:
        client.drop_database(db.name)
        client.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=3000)
    args = parser.parse_args(argv)
    if os.environ.get("MONGO_URL"):
        measure(os.environ["MONGO_URL"], "mongodb", args.documents)
        return
    for engine in ("memory", "sqlite"):
        with tempfile.TemporaryDirectory() as directory:
            path = str(Path(directory) / "bench.sqlite") if engine == "sqlite" else None
            server = LocalMongo(engine=engine, path=path).start()
            try:
                measure(server.uri, engine, args.documents)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
