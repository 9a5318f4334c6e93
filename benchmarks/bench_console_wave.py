"""The console's open-wave page under 10 signed-in clients, served by gunicorn.

Starts the local MongoDB-compatible server (mongoeco, memory engine), seeds a program of
2,000 accounts (2,000 buyer contacts, 400 sellers: benchmarks/bench_console.py's roster)
through the product's import, launches a wave (delivery none) and completes a third of it,
makes a manager, runs gunicorn (deploy/gunicorn.conf.py) against it, signs 10 clients in
through the sign-in form, then drives them for a bounded time:

    bench console.wave_page_p95_ms: <ms> ms        GET /app/waves/<id> (the whole page)
    bench console.wave_rates_p95_ms: <ms> ms       GET /app/waves/<id>/rates (the polled part)
    bench console.raw_find_one_p95_ms: <ms> ms     find_one by _id, 10 threads, same server
    bench console.wave_page_vs_find_one: <x> x     wave page p95 / raw find_one p95

Then where the time goes: the page's service calls timed alone in-process (rates, not
answered, the program) and a cProfile of the page. Run:
`python -m benchmarks.bench_console_wave [--seconds 10] [--clients 10] [--profile]`.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import os
import pstats
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable

import pymongo

from benchmarks.bench_console import ACCOUNTS, SELLERS, roster_file
from benchmarks.bench_launch import _later
from benchmarks.bench_survey import (
    AMQP_URL,
    Phase,
    _declare_catch_all,
    _delete_namespace,
    _drive_raw,
    _start_gunicorn,
)
from deploy.local.mongo_server import LocalMongo, free_port
from services.survey.admin import monitoring
from services.survey.admin.programs import create_program
from services.survey.admin.roster import import_roster_csv
from services.survey.admin.waves import create_wave, launch_wave
from services.survey.console.people import MANAGER, create_user
from services.survey.organisations import ensure_organisation
from shared.bus import InProcessBus
from shared.settings import Settings
from shared.store import ensure_indexes, responses
from shared.store import invitations as invitation_store
from shared.store import roster as roster_store

EMAIL, PASSWORD = "bench-manager@bench.example", "a long bench password"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _seed(settings: Settings) -> tuple[pymongo.MongoClient, object, str, str]:
    client = pymongo.MongoClient(settings.mongo_url, tz_aware=True)
    db = client[settings.mongo_db]
    ensure_indexes(db)
    started = time.perf_counter()
    org_id = ensure_organisation(db=db, name="bench")
    program = create_program(db=db, org_id=org_id, name="Bench program")
    import_roster_csv(db=db, org_id=org_id, program_id=program["_id"], data=roster_file())
    wave = create_wave(
        db=db, org_id=org_id, program_id=program["_id"], name="W", closes_at=_later()
    )
    launch_wave(
        db=db, bus=InProcessBus(settings), org_id=org_id, wave_id=wave["_id"], delivery="none"
    )
    rows = invitation_store.progress_rows(db=db, org_id=org_id, wave_id=wave["_id"])
    for row in rows[::3]:
        invitation_store.mark_completed(db=db, invitation_id=row["_id"], now=_later())
    create_user(db=db, org_id=org_id, email=EMAIL, role=MANAGER, password=PASSWORD)
    print(
        f"# seeded {ACCOUNTS} accounts, {SELLERS} sellers, {len(rows)} invitations "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return client, db, org_id, wave["_id"]


def _cookie(response: http.client.HTTPResponse, jar: dict[str, str]) -> None:
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            jar[name] = rest.split(";", 1)[0]


def _sign_in(port: int) -> str:
    """A session cookie, signed in through the sign-in form as a browser does."""
    jar: dict[str, str] = {}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/app/sign-in")
    page = connection.getresponse()
    token = _TOKEN.search(page.read().decode()).group(1)
    _cookie(page, jar)
    body = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
    }
    connection.request("POST", "/app/sign-in", body=body, headers=headers)
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 302, answer.status
    _cookie(answer, jar)
    connection.close()
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _drive(name: str, port: int, cookies: list[str], seconds: float, path: str) -> Phase:
    """One keep-alive connection per signed-in client, each asking for `path` until the time
    is up (a request started before then is waited for: a slow page is measured, not dropped)."""
    phase = Phase(name)
    lock = threading.Lock()
    start = threading.Barrier(len(cookies) + 1)
    stop_at = [0.0]

    def client(cookie: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        mine, failures = [], 0
        start.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            connection.request("GET", path, headers={"Cookie": cookie})
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                mine.append(time.perf_counter() - began)
            else:
                failures += 1
        connection.close()
        with lock:
            phase.latencies.extend(mine)
            phase.failures += failures

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in cookies]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - began
    return phase


def _p95_ms(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


def _median_ms(run: Callable[[], object], rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _where_the_time_goes(settings: Settings, db, org_id: str, wave_id: str, profile: bool) -> None:
    """The page's service calls alone, then the whole page in-process (Flask test client)."""
    from services.bootstrap import build
    from services.survey.app import create_app
    from services.survey.console.people import person_of
    from services.survey.console.waves import wave_context

    app = create_app(build(settings, db=db))
    client = app.test_client()
    token = _TOKEN.search(client.get("/app/sign-in").get_data(as_text=True)).group(1)
    client.post("/app/sign-in", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    person = person_of(db.users.find_one({"email": EMAIL}))
    scope = {"db": db, "org_id": org_id, "wave_id": wave_id}
    program_id = db.waves.find_one({"_id": wave_id})["program_id"]
    roster_scope = {"db": db, "org_id": org_id, "program_id": program_id}
    parts = {
        "read: progress_rows (2,400 invitations)": lambda: monitoring.wave_rows(**scope),
        "read: completed seller answers": lambda: responses.completed_seller_subjects(**scope),
        "read: accounts (names)": lambda: roster_store.list_accounts(
            **roster_scope, fields=("name", "external_id")
        ),
        "read: contacts (roles)": lambda: roster_store.list_contacts(
            **roster_scope, fields=("role",)
        ),
        "response_rates": lambda: monitoring.response_rates(**scope),
        "not_answered": lambda: monitoring.not_answered(**scope),
        "wave_context (both + paging)": lambda: wave_context(db=db, person=person, wave_id=wave_id),
        "whole page in-process": lambda: client.get(f"/app/waves/{wave_id}"),
        "rates part in-process": lambda: client.get(f"/app/waves/{wave_id}/rates"),
    }
    for name, call in parts.items():
        print(f"# {name}: {_median_ms(call):.1f} ms (median of 5, one client)", flush=True)
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5):
            client.get(f"/app/waves/{wave_id}")
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        print("\n".join("#   " + line for line in out.getvalue().splitlines()[6:]), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GUNICORN_WORKERS", 2)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("GUNICORN_THREADS", 8)))
    parser.add_argument("--profile", action="store_true")
    if argv is None:  # `make bench` imports main(): its own arguments are not ours
        argv = sys.argv[1:] if __name__ == "__main__" else []
    args = parser.parse_args(argv)

    mongo = LocalMongo(engine="memory").start()
    settings = Settings(
        mongo_url=mongo.uri,
        mongo_db="bench_console_wave",
        amqp_url=AMQP_URL,
        bus_namespace=f"bench-{uuid.uuid4().hex[:10]}",
        secret_keys=(uuid.uuid4().hex,),
    )
    gunicorn = None
    client = None
    try:
        _declare_catch_all(settings)
        client, db, org_id, wave_id = _seed(settings)
        port = free_port()
        gunicorn = _start_gunicorn(settings, port, args.workers, args.threads)
        cookies = [_sign_in(port) for _ in range(args.clients)]
        print(
            f"# gunicorn {args.workers} workers x {args.threads} threads, {args.clients} "
            f"signed-in clients, {args.seconds:.0f} s per phase",
            flush=True,
        )

        _drive("warm-up", port, cookies[:2], 1.0, f"/app/waves/{wave_id}")
        page = _drive("wave_page", port, cookies, args.seconds, f"/app/waves/{wave_id}")
        rates = _drive("wave_rates", port, cookies, args.seconds, f"/app/waves/{wave_id}/rates")
        for phase in (page, rates):
            print(
                f"# {phase.name}: {len(phase.latencies)} pages in {phase.seconds:.0f} s, "
                f"median {statistics.median(phase.latencies) * 1000:.0f} ms",
                flush=True,
            )
        gunicorn.send_signal(signal.SIGTERM)  # the raw baseline gets the machine to itself
        gunicorn.wait(20)
        gunicorn = None
        ids = [r["_id"] for r in db.invitations.find({"wave_id": wave_id}, {"_id": 1})]
        raw = _drive_raw(
            "raw_find_one",
            args.clients,
            args.seconds / 2,
            lambda rng: db.invitations.find_one({"_id": rng.choice(ids)}),
        )
        for phase in (page, rates):
            print(f"bench console.{phase.name}_p95_ms: {phase.p95_ms():.1f} ms", flush=True)
            print(f"# {phase.name}: {phase.rps():.1f} /s, {phase.failures} failed", flush=True)
        raw_p95 = _p95_ms(raw.latencies)
        print(f"bench console.raw_find_one_p95_ms: {raw_p95:.2f} ms", flush=True)
        print(f"bench console.wave_page_vs_find_one: {page.p95_ms() / raw_p95:.0f} x", flush=True)
        _where_the_time_goes(settings, db, org_id, wave_id, args.profile)
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
