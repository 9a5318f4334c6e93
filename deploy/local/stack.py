"""The suite as separate processes on loopback, for load tests and pipeline benchmarks.

`local_stack()` starts the local MongoDB-compatible server (unless MONGO_URL is set), the
survey service under gunicorn and the scoring worker, on the real RabbitMQ in a bus
namespace of its own; it waits for /readyz and, on exit, stops everything and deletes
the namespace's queues.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from deploy.local.mongo_server import LocalMongo, free_port
from shared.bus import CONSUMER_BINDINGS, RabbitBus
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


@dataclass(frozen=True)
class LocalStack:
    host: str  # http://127.0.0.1:<port>, loopback only
    env: dict[str, str]  # the services' environment (MONGO_URL, MONGO_DB, AMQP_URL, ...)
    api_key: str
    secret_key: str


def wait_ready(url: str, timeout: float = 60.0) -> None:
    """Poll `url` until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not become ready in {timeout:.0f}s")


@contextmanager
def local_stack(
    *, name: str, workers: int = 2, threads: int = 8, log: IO | int = subprocess.DEVNULL
) -> Iterator[LocalStack]:
    """Run gunicorn (survey) and the scoring worker against MongoDB and RabbitMQ until exit."""
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    namespace = f"{name}-{int(time.time())}"
    api_key = f"rk_{name}_" + secrets.token_urlsafe(12)
    secret_key = secrets.token_urlsafe(24)
    mongo = None
    mongo_url = os.environ.get("MONGO_URL")
    if not mongo_url:
        mongo = LocalMongo(engine="memory").start()
        mongo_url = mongo.uri
    env = dict(
        os.environ,
        MONGO_URL=mongo_url,
        MONGO_DB=f"rapport_{namespace.replace('-', '_')}",
        AMQP_URL=os.environ.get("AMQP_URL", DEFAULT_AMQP_URL),
        RAPPORT_BUS_NAMESPACE=namespace,
        RAPPORT_BOOTSTRAP_API_KEY=api_key,
        RAPPORT_SECRET_KEY=secret_key,
        RAPPORT_PUBLIC_URL=host,
        RAPPORT_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    gunicorn = [
        str(BIN / "gunicorn"),
        "-c",
        "deploy/gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    processes = []
    try:
        for command in (gunicorn, [sys.executable, "-m", "services.scoring"]):
            processes.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
        wait_ready(f"{host}/readyz")
        yield LocalStack(host=host, env=env, api_key=api_key, secret_key=secret_key)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        if mongo:
            mongo.stop()
        try:
            bus = RabbitBus(
                Settings(amqp_url=env["AMQP_URL"], bus_namespace=namespace),
                declare=CONSUMER_BINDINGS,
            )
            bus.delete_namespace()
        except Exception as exc:  # only cleanup of the broker: report, don't hide the run's result
            print(f"could not delete bus namespace {namespace}: {exc!r}")
