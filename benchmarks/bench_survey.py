"""Respondent pages and answer saves under 50 concurrent clients, served by gunicorn.

Starts the local MongoDB-compatible server (mongoeco, memory engine), seeds an open wave
with invitations, runs gunicorn with deploy/gunicorn.conf.py (bind, workers and threads
overridden on the command line) against it and the real RabbitMQ in a namespace of its
own, then drives 50 keep-alive clients (threads with http.client) for a bounded time:

    bench survey.page_get_rps: <n> /s
    bench survey.page_get_p95_ms: <ms> ms
    bench survey.answer_save_rps: <n> /s
    bench survey.answer_save_p95_ms: <ms> ms

For scale, the same 50 threads then make the raw pymongo calls the two requests rest on
(a find_one by _id; an update of one response by _id) and the ratios are printed:
the stand-in database is a Python wire server whose updates of a collection with a
compound unique index cost time in proportion to its size.

`--profile` also profiles single requests in-process (cProfile) to show where the time goes.
Run: `python -m benchmarks.bench_survey [--seconds 10] [--clients 50] [--profile]`.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import http.client
import io
import json
import os
import pstats
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pika
import pymongo

from deploy.local.mongo_server import LocalMongo, free_port
from shared.bus import CONSUMER_BINDINGS, RabbitBus
from shared.questionnaire import load_bank
from shared.settings import Settings
from shared.store import ensure_indexes

ROOT = Path(__file__).resolve().parents[1]
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
CATCH_ALL = "bench-catch-all"


@dataclasses.dataclass
class Phase:
    """Latencies (seconds) and failures of one timed phase."""

    name: str
    latencies: list[float] = dataclasses.field(default_factory=list)
    failures: int = 0
    seconds: float = 0.0

    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def p95_ms(self) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


def _declare_catch_all(settings: Settings) -> None:
    """A queue bound to every routing key, so that every publish is routable."""
    bus = RabbitBus(settings)
    connection = pika.BlockingConnection(bus.parameters())
    try:
        bus.topology.declare_consumer(connection.channel(), CATCH_ALL, ("#",))
    finally:
        connection.close()


def _delete_namespace(settings: Settings) -> None:
    bus = RabbitBus(settings)
    for name in (CATCH_ALL, *CONSUMER_BINDINGS):
        try:
            bus.delete_consumer_queues(name)
        except Exception as exc:  # a queue that was never declared
            print(f"# could not delete queues of {name}: {exc!r}", flush=True)
    bus.delete_exchanges()


def _seed(settings: Settings, buyers: int, sellers: int):
    sys.path.insert(0, str(ROOT))
    from tests.support.survey_fixtures import make_wave

    client = pymongo.MongoClient(settings.mongo_url, tz_aware=True)
    db = client[settings.mongo_db]
    ensure_indexes(db)
    started = time.perf_counter()
    world = make_wave(
        db,
        settings,
        buyers=buyers,
        sellers=sellers,
        accounts=max(1, buyers // 4),
        every_seller_for_every_buyer=False,
    )
    print(
        f"# seeded {buyers} buyers, {sellers} sellers in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return client, db, world


def _start_gunicorn(settings: Settings, port: int, workers: int, threads: int):
    env = dict(
        os.environ,
        MONGO_URL=settings.mongo_url or "",
        MONGO_DB=settings.mongo_db,
        AMQP_URL=settings.amqp_url or "",
        RAPPORT_BUS_NAMESPACE=settings.bus_namespace,
        RAPPORT_SECRET_KEY=",".join(settings.secret_keys),
        RAPPORT_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    command = [
        str(Path(sys.prefix) / "bin" / "gunicorn"),  # the venv running this benchmark
        "-c",
        str(ROOT / "deploy/gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--max-requests",
        "0",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return process
        except OSError:
            time.sleep(0.2)
        if process.poll() is not None:
            break
    process.terminate()
    raise RuntimeError("gunicorn did not start")


def _drive(
    name: str,
    port: int,
    clients: int,
    seconds: float,
    request: Callable[[random.Random], tuple[str, str, bytes | None, dict[str, str]]],
) -> Phase:
    """`clients` threads, each with one keep-alive connection, for `seconds`."""
    phase = Phase(name)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        failures = 0
        start.wait()
        while time.perf_counter() < stop_at[0]:
            method, path, body, headers = request(rng)
            began = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status < 400
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            if ok:
                mine.append(time.perf_counter() - began)
            else:
                failures += 1
        connection.close()
        with lock:
            phase.latencies.extend(mine)
            phase.failures += failures

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join(seconds + 60)
    phase.seconds = time.perf_counter() - began
    return phase


def _drive_raw(name: str, clients: int, seconds: float, call: Callable[[random.Random], None]):
    """The same load shape as `_drive`, straight through pymongo (its pool is thread-safe)."""
    phase = Phase(name)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[float] = []
        start.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            call(rng)
            mine.append(time.perf_counter() - began)
        with lock:
            phase.latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join(seconds + 60)
    phase.seconds = time.perf_counter() - began
    return phase


def _answers(rng: random.Random, section_items: list[list[str]]) -> dict:
    items = rng.choice(section_items)
    return {item: rng.randint(1, 7) for item in items}


def _profile(settings: Settings, db, world, rounds: int = 200) -> None:
    """cProfile of page GETs and answer saves in-process, on the same servers."""
    from services.bootstrap import build
    from services.survey.app import create_app

    app = create_app(build(settings, db=db))
    client = app.test_client()
    person = world.buyers[0]
    subject = person.subject_ids[0]
    page = f"/s/{person.token}/q/{subject}/trust"
    put = f"/api/v1/respond/{person.token}/subjects/{subject}"
    client.get(page)
    started = time.perf_counter()
    for _ in range(50):
        db.invitations.find_one({"_id": person.invitation_id})
    find_ms = (time.perf_counter() - started) / 50 * 1000
    print(f"bench survey.mongo_find_one_ms: {find_ms:.2f} ms", flush=True)
    for name, call in (
        ("page GET", lambda: client.get(page)),
        ("answer PUT", lambda: client.put(put, json={"answers": {"trust.1": 5, "trust.2": 6}})),
    ):
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(rounds):
            call()
        profiler.disable()
        per_request = (time.perf_counter() - started) / rounds * 1000
        print(f"# profile {name}: {per_request:.2f} ms per request in-process", flush=True)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(12)
        print("\n".join("#   " + line for line in out.getvalue().splitlines()[6:]), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GUNICORN_WORKERS", 2)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("GUNICORN_THREADS", 8)))
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--sellers", type=int, default=10)
    parser.add_argument("--profile", action="store_true")
    if argv is None:  # `make bench` imports main(): its own arguments are not ours
        argv = sys.argv[1:] if __name__ == "__main__" else []
    args = parser.parse_args(argv)

    mongo = LocalMongo(engine="memory").start()
    settings = Settings(
        mongo_url=mongo.uri,
        mongo_db="bench_survey",
        amqp_url=AMQP_URL,
        bus_namespace=f"bench-{uuid.uuid4().hex[:10]}",
        secret_keys=(uuid.uuid4().hex,),
    )
    gunicorn = None
    client = None
    try:
        _declare_catch_all(settings)
        client, db, world = _seed(settings, args.buyers, args.sellers)
        port = free_port()
        gunicorn = _start_gunicorn(settings, port, args.workers, args.threads)
        print(
            f"# gunicorn {args.workers} workers x {args.threads} threads, "
            f"{args.clients} clients, {args.seconds:.0f} s per phase",
            flush=True,
        )
        bank = load_bank()
        sections = [s.id for s in bank.sections]
        section_items = [
            [i.id for i in s.items if i.kind == "agreement"]
            for s in bank.sections
            if any(i.kind == "agreement" for i in s.items)
        ]
        buyers = world.buyers

        def page_get(rng: random.Random):
            person = rng.choice(buyers)
            path = f"/s/{person.token}/q/{person.subject_ids[0]}/{rng.choice(sections)}"
            return "GET", path, None, {}

        def answer_save(rng: random.Random):
            person = rng.choice(buyers)
            body = json.dumps({"answers": _answers(rng, section_items)}).encode()
            path = f"/api/v1/respond/{person.token}/subjects/{person.subject_ids[0]}"
            return "PUT", path, body, {"Content-Type": "application/json"}

        _drive("warm-up", port, args.clients, 2.0, page_get)
        pages = _drive("page_get", port, args.clients, args.seconds, page_get)
        saves = _drive("answer_save", port, args.clients, args.seconds, answer_save)
        for phase in (pages, saves):
            print(f"bench survey.{phase.name}_rps: {phase.rps():.1f} /s", flush=True)
            print(f"bench survey.{phase.name}_p95_ms: {phase.p95_ms():.1f} ms", flush=True)
            if phase.failures:
                print(f"# {phase.name}: {phase.failures} failed requests", flush=True)

        gunicorn.send_signal(signal.SIGTERM)  # the raw baselines get the machine to themselves
        gunicorn.wait(20)
        gunicorn = None
        invitation_ids = [p.invitation_id for p in buyers]
        response_ids = [r["_id"] for r in db.responses.find({}, {"_id": 1})]
        raw_find = _drive_raw(
            "raw_find_one",
            args.clients,
            args.seconds / 2,
            lambda rng: db.invitations.find_one({"_id": rng.choice(invitation_ids)}),
        )
        raw_update = _drive_raw(
            "raw_update",
            args.clients,
            args.seconds / 2,
            lambda rng: db.responses.update_one(
                {"_id": rng.choice(response_ids)},
                {"$set": {"probe": rng.randint(1, 7)}},
            ),
        )
        for phase, app_phase in ((raw_find, pages), (raw_update, saves)):
            print(f"bench survey.{phase.name}_rps: {phase.rps():.1f} /s", flush=True)
            print(
                f"bench survey.{app_phase.name}_vs_{phase.name}: "
                f"{app_phase.rps() / phase.rps():.3f} ratio",
                flush=True,
            )
        if args.profile:
            _profile(settings, db, world)
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(20)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
        if client is not None:
            client.close()
        mongo.stop()
        _delete_namespace(settings)


if __name__ == "__main__":
    main()
