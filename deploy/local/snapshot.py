"""A durable snapshot of the local server's memory engine: what `make dev` keeps under var/.

The memory engine holds each collection in persistent (copy-on-write) maps, so capturing
all of them is a handful of reference copies taken on the server's event loop between two
requests; the documents are then encoded and written on a worker thread while the server
keeps serving. The file is written to a temporary name, flushed to disk and renamed over
the previous one, so a crash leaves the previous snapshot whole. At start the snapshot is
loaded before the server accepts connections: indexes first, then the documents in
batches (a batch insert checks unique keys through the indexes, not by scanning).

What a crash of `make dev` can lose: the writes since the last snapshot: at most `every_s`
seconds (5 s by default, RAPPORT_DEV_SNAPSHOT_S), longer on a big database where writing
a snapshot takes a while (the pause between two is at least 4 times the last one's time),
plus the writes made while the last snapshot was being written. A clean stop (Ctrl-C,
SIGTERM) writes a last snapshot and loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("rapport.snapshot")
FORMAT = 1
LOAD_BATCH = 1000
BUSY_FACTOR = 4.0  # wait at least 4x the last write's time between two writes


class Snapshots:
    """Load and write the snapshot of one MemoryEngine at `path`."""

    def __init__(self, engine: Any, path: str | Path, every_s: float = 5.0) -> None:
        self.engine = engine
        self.path = Path(path)
        self.every_s = every_s
        self._written: dict[tuple[str, str], Any] = {}  # the maps of the last snapshot
        self.last_write_s = 0.0

    async def load(self) -> int:
        """Load the snapshot, if there is one, into the (empty) engine; returns how many
        documents it held."""
        if not self.path.exists():
            return 0
        with self.path.open("rb") as f:
            data = pickle.load(f)  # noqa: S301 - our own file under var/
        if data.get("format") != FORMAT:
            raise RuntimeError(f"{self.path}: snapshot format {data.get('format')} unknown")
        count = 0
        for (db_name, coll_name), found in data["collections"].items():
            for index in found["indexes"]:
                await self.engine.create_index(
                    db_name,
                    coll_name,
                    list(index["key"].items()),
                    unique=bool(index.get("unique")),
                    sparse=bool(index.get("sparse")),
                    name=index["name"],
                )
            docs = found["documents"]
            for start in range(0, len(docs), LOAD_BATCH):
                await self.engine.insert_documents(
                    db_name, coll_name, docs[start : start + LOAD_BATCH]
                )
            count += len(docs)
        self._written = self._capture()
        return count

    def _capture(self) -> dict[tuple[str, str], Any]:
        """Every collection's map as it is now (copies share the persistent roots: O(1))."""
        storage = self.engine._storage  # noqa: SLF001 - mongoeco pinned in pyproject.toml
        return {
            (db_name, coll_name): collection.copy()
            for db_name, collections in storage.items()
            for coll_name, collection in collections.items()
        }

    def _changed(self, captured: dict[tuple[str, str], Any]) -> bool:
        if captured.keys() != self._written.keys():
            return True
        return any(
            captured[name]._values is not self._written[name]._values  # noqa: SLF001
            for name in captured
        )

    async def _indexes(self, captured: dict[tuple[str, str], Any]) -> dict[tuple[str, str], list]:
        found = {}
        for db_name, coll_name in captured:
            listed = await self.engine.list_indexes(db_name, coll_name)
            found[(db_name, coll_name)] = [i for i in listed if i["name"] != "_id_"]
        return found

    def _write(self, captured: dict[tuple[str, str], Any], indexes: dict) -> None:
        decode = self.engine._decode_storage_document  # noqa: SLF001
        collections = {
            name: {
                "indexes": indexes[name],
                "documents": [decode(p, preserve_bson_wrappers=False) for p in found.values()],
            }
            for name, found in captured.items()
        }
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("wb") as f:
            pickle.dump({"format": FORMAT, "collections": collections}, f, protocol=5)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    async def write_if_changed(self) -> bool:
        """Write a snapshot if any collection changed since the last one; True if written."""
        captured = self._capture()
        if not self._changed(captured):
            return False
        indexes = await self._indexes(captured)
        started = time.perf_counter()
        await asyncio.to_thread(self._write, captured, indexes)
        self.last_write_s = time.perf_counter() - started
        self._written = captured
        return True

    def pause_s(self) -> float:
        """The time until the next snapshot: `every_s`, or longer when writing one takes
        long (the writer shares the server's interpreter: at most a fifth of its time)."""
        return max(self.every_s, BUSY_FACTOR * self.last_write_s)

    async def _write_logged(self) -> None:
        try:
            await self.write_if_changed()
        except Exception:  # a failed snapshot is retried at the next tick
            log.exception("snapshot not written")

    async def run(self, stop: asyncio.Event) -> None:
        """Write a snapshot every `pause_s()` seconds when something changed, and a last one
        once `stop` is set (also of what changed while the previous one was written)."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.pause_s())
            except TimeoutError:
                pass
            await self._write_logged()
        await self._write_logged()
