"""The local MongoDB-compatible server of DESIGN.md: mongoeco's wire server.

Run ``python -m deploy.local.mongo_server --engine memory`` (tests),
``--engine memory --snapshot var/rapport.snapshot`` (``make dev``: the memory engine with a
durable snapshot, deploy/local/snapshot.py) or ``--engine sqlite --path var/rapport.sqlite``. It prints
``ready <uri>`` once it accepts connections, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

READY = "ready "


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def serve(
    *,
    engine: str,
    path: str | None,
    host: str,
    port: int,
    snapshot: str | None = None,
    snapshot_every_s: float = 5.0,
) -> None:
    """Serve until SIGTERM/SIGINT. With the memory engine and `snapshot`, the data is loaded
    from that file at start and written back to it (deploy/local/snapshot.py)."""
    from mongoeco.wire.proxy import AsyncMongoEcoProxyServer

    snapshots = None
    if engine == "sqlite":
        from mongoeco.engines.sqlite import SQLiteEngine

        Path(path or "var/rapport.sqlite").parent.mkdir(parents=True, exist_ok=True)
        storage = SQLiteEngine(path or "var/rapport.sqlite")
    else:
        from mongoeco.engines.memory import MemoryEngine

        storage = MemoryEngine()
        if snapshot:
            from deploy.local.snapshot import Snapshots

            Path(snapshot).parent.mkdir(parents=True, exist_ok=True)
            snapshots = Snapshots(storage, snapshot, every_s=snapshot_every_s)
            await snapshots.load()
    server = AsyncMongoEcoProxyServer(engine=storage, host=host, port=port)
    address = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    writer = asyncio.create_task(snapshots.run(stop)) if snapshots else None
    print(f"{READY}{address.uri}", flush=True)
    await stop.wait()
    if writer is not None:
        await writer  # the last snapshot, before the server goes
    await server.close()


class LocalMongo:
    """A mongoeco wire server in a child process; ``uri`` is a real pymongo URI."""

    def __init__(
        self,
        *,
        engine: str = "memory",
        path: str | None = None,
        port: int = 0,
        snapshot: str | None = None,
        snapshot_every_s: float = 5.0,
    ) -> None:
        self.engine = engine
        self.path = path
        self.snapshot = snapshot
        self.snapshot_every_s = snapshot_every_s
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.uri = f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self, timeout: float = 60.0) -> LocalMongo:
        cmd = [
            sys.executable,
            "-m",
            "deploy.local.mongo_server",
            "--engine",
            self.engine,
            "--port",
            str(self.port),
        ]
        if self.path:
            cmd += ["--path", self.path]
        if self.snapshot:
            cmd += ["--snapshot", self.snapshot, "--snapshot-every-s", str(self.snapshot_every_s)]
        root = Path(__file__).resolve().parents[2]
        env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=root)
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith(READY):
                return self
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"local MongoDB-compatible server did not start ({' '.join(cmd)})")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, and the time to write a last snapshot (`timeout`), then a kill."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--path", default=None, help="SQLite file (engine sqlite)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=27017)
    parser.add_argument("--snapshot", default=None, help="memory engine: durable snapshot file")
    parser.add_argument("--snapshot-every-s", type=float, default=5.0)
    args = parser.parse_args(argv)
    asyncio.run(
        serve(
            engine=args.engine,
            path=args.path,
            host=args.host,
            port=args.port,
            snapshot=args.snapshot,
            snapshot_every_s=args.snapshot_every_s,
        )
    )


@contextmanager
def mongo_url_or_local() -> Iterator[str]:
    """MONGO_URL when set (a real MongoDB), else a fresh local wire server (memory engine)
    that runs for as long as the block does."""
    if os.environ.get("MONGO_URL"):
        yield os.environ["MONGO_URL"]
        return
    server = LocalMongo(engine="memory").start()
    try:
        yield server.uri
    finally:
        server.stop()


if __name__ == "__main__":
    main()


@contextmanager
def embedded_default() -> Iterator[str]:
    """MONGO_URL when set, else a fresh local server as `make dev` runs it (memory engine,
    its snapshot written every 5 s into a temporary directory), for the block's time."""
    if os.environ.get("MONGO_URL"):
        yield os.environ["MONGO_URL"]
        return
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        snapshot = str(Path(directory) / "rapport.snapshot")
        server = LocalMongo(engine="memory", snapshot=snapshot).start()
        try:
            yield server.uri
        finally:
            server.stop(timeout=120)
