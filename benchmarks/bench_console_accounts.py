"""The console's accounts table under 10 signed-in clients, served by gunicorn.

Starts the local MongoDB-compatible server (mongoeco, memory engine), imports a roster of
2,000 accounts through the product's own import (which stores each account's tallies),
makes an admin, runs gunicorn (deploy/gunicorn.conf.py) and signs 10 clients in through
the sign-in form; each then asks for accounts pages (a random page of 50, sort column and
direction) over a keep-alive connection for 10 s, then searches ("Account 123": part
of a name, any sort) for 5 s:

    bench console.accounts_page_p95_ms: <ms> ms    the full page, rendered
    bench console.accounts_page_rps: <n> /s
    bench console.accounts_search_p95_ms: <ms> ms  the full page of a search
    bench console.raw_find_one_p95_ms: <ms> ms     find_one by _id, 10 threads, same server
    bench console.accounts_page_vs_raw_find_one: <x> ratio   (p95 over p95)

Then, in-process, where one page's time goes (median of 30 of each): the session's user
read, the program read, the page's sorted read, the count, and the whole request.
Run: `python -m benchmarks.bench_console_accounts [--seconds 10] [--clients 10]`.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.cookies import SimpleCookie

import pymongo

from benchmarks.bench_console import ACCOUNTS, roster_file
from benchmarks.bench_survey import (
    AMQP_URL,
    _declare_catch_all,
    _delete_namespace,
    _drive,
    _drive_raw,
    _start_gunicorn,
)
from deploy.local.mongo_server import LocalMongo, free_port
from services.survey.admin.accounts import refresh_account_tallies
from services.survey.admin.programs import create_program
from services.survey.admin.roster import import_roster_csv
from services.survey.console.people import create_user
from services.survey.organisations import ensure_organisation
from shared.settings import Settings
from shared.store import ensure_indexes
from shared.store import roster as roster_store

EMAIL, PASSWORD = "bench@acme.example", "bench password 1"
SORTS = ("name", "revenue", "contacts", "sellers")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _sign_in(port: int) -> str:
    """A signed-in session cookie ("session=..."), through the sign-in form."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/app/sign-in")
    response = connection.getresponse()
    token = _TOKEN.search(response.read().decode()).group(1)
    cookie = SimpleCookie(response.getheader("Set-Cookie"))
    session = f"session={cookie['session'].value}"
    body = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": session}
    connection.request("POST", "/app/sign-in", body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    assert response.status == 302, response.status
    signed_in = SimpleCookie(response.getheader("Set-Cookie"))
    connection.close()
    return f"session={signed_in['session'].value}"


def _page_path(program_id: str, rng: random.Random, *, search: bool = False) -> str:
    args = {"sort": rng.choice(SORTS), "dir": rng.choice(("asc", "desc"))}
    if search:
        args["q"] = f"Account {rng.randrange(200)}"
    else:
        args["page"] = rng.randint(1, ACCOUNTS // 50)
    return f"/app/programs/{program_id}/accounts?{urllib.parse.urlencode(args)}"


def _median_ms(run, times: int = 30) -> float:
    took = []
    for _ in range(times):
        began = time.perf_counter()
        run()
        took.append((time.perf_counter() - began) * 1000)
    return statistics.median(took)


def _where_time_goes(settings: Settings, db, org_id: str, program_id: str, user_id: str) -> None:
    """One page's parts in this process (no other load): what each read and the whole take."""
    sys.path.insert(0, str(os.path.dirname(os.path.dirname(__file__))))
    from tests.integration.test_admin_support import admin_app
    from tests.support.console import sign_in

    app = admin_app(db, settings=settings)
    client = app.test_client()
    assert sign_in(client, EMAIL, PASSWORD).status_code == 302
    path = f"/app/programs/{program_id}/accounts?sort=revenue&dir=desc&page=20"
    scope = {"db": db, "program_id": program_id, "org_id": org_id}
    parts = {
        "user read (session)": lambda: db.users.find_one({"_id": user_id}),
        "program read (x2: access, page)": lambda: db.programs.find_one({"_id": program_id}),
        "page read (positions 950-999 by revenue)": lambda: roster_store.accounts_by_rank(
            **scope, sort="revenue", first=950, stop=1000
        ),
        "search read ('Account 12', all matches)": lambda: roster_store.search_accounts(
            **scope, search="Account 12"
        ),
        "for scale: count of the program's accounts": lambda: db.accounts.count_documents(
            {"program_id": program_id, "org_id": org_id}
        ),
        "whole search request, in process": lambda: client.get(
            f"/app/programs/{program_id}/accounts?q=Account+12"
        ).get_data(),
        "whole request, in process": lambda: client.get(path).get_data(),
    }
    for name, run in parts.items():
        print(f"#   {name}: {_median_ms(run):.1f} ms (median)", flush=True)
    # what each import adds: the tallies pass (reads the roster, writes what changed)
    again = _median_ms(lambda: refresh_account_tallies(**scope), times=3)
    print(f"#   tallies pass after an import (nothing changed): {again:.0f} ms", flush=True)
    db.accounts.update_many({"program_id": program_id}, {"$unset": {"rank_name": ""}})
    began = time.perf_counter()
    refresh_account_tallies(**scope)
    every = (time.perf_counter() - began) * 1000
    print(f"#   tallies pass rewriting every account's positions: {every:.0f} ms", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GUNICORN_WORKERS", 2)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("GUNICORN_THREADS", 4)))
    if argv is None:  # `make bench` imports main(): its own arguments are not ours
        argv = sys.argv[1:] if __name__ == "__main__" else []
    args = parser.parse_args(argv)

    mongo = LocalMongo(engine="memory").start()
    settings = Settings(
        mongo_url=mongo.uri,
        mongo_db="bench_console_accounts",
        amqp_url=AMQP_URL,
        bus_namespace=f"bench-{uuid.uuid4().hex[:10]}",
        secret_keys=(uuid.uuid4().hex,),
    )
    gunicorn = None
    client = pymongo.MongoClient(settings.mongo_url, tz_aware=True)
    try:
        _declare_catch_all(settings)
        db = client[settings.mongo_db]
        ensure_indexes(db)
        began = time.perf_counter()
        org_id = ensure_organisation(db=db, name="acme")
        program_id = create_program(db=db, org_id=org_id, name="Bench")["_id"]
        import_roster_csv(db=db, org_id=org_id, program_id=program_id, data=roster_file())
        person = create_user(db=db, org_id=org_id, email=EMAIL, role="admin", password=PASSWORD)
        print(f"# seeded {ACCOUNTS} accounts in {time.perf_counter() - began:.1f} s", flush=True)

        port = free_port()
        gunicorn = _start_gunicorn(settings, port, args.workers, args.threads)
        cookies = [_sign_in(port) for _ in range(args.clients)]
        mine: dict[int, str] = {}

        def page(rng: random.Random, *, search: bool = False):
            cookie = mine.setdefault(threading.get_ident(), cookies[len(mine) % len(cookies)])
            return "GET", _page_path(program_id, rng, search=search), None, {"Cookie": cookie}

        def search(rng: random.Random):
            return page(rng, search=True)

        print(
            f"# gunicorn {args.workers} workers x {args.threads} threads, "
            f"{args.clients} signed-in clients, {args.seconds:.0f} s",
            flush=True,
        )
        _drive("warm-up", port, args.clients, 2.0, page)
        pages = _drive("accounts_page", port, args.clients, args.seconds, page)
        searches = _drive("accounts_search", port, args.clients, args.seconds / 2, search)
        gunicorn.send_signal(signal.SIGTERM)  # the raw baseline gets the machine to itself
        gunicorn.wait(20)
        gunicorn = None
        ids = [a["_id"] for a in db.accounts.find({}, {"_id": 1})]
        raw = _drive_raw(
            "raw_find_one",
            args.clients,
            args.seconds / 2,
            lambda rng: db.accounts.find_one({"_id": rng.choice(ids)}),
        )
        print(f"bench console.accounts_page_p95_ms: {pages.p95_ms():.1f} ms", flush=True)
        print(f"bench console.accounts_page_rps: {pages.rps():.1f} /s", flush=True)
        median = statistics.median(pages.latencies) * 1000
        print(f"# accounts page median {median:.1f} ms over {len(pages.latencies)}", flush=True)
        print(f"bench console.accounts_search_p95_ms: {searches.p95_ms():.1f} ms", flush=True)
        for phase in (pages, searches):
            if phase.failures:
                print(f"# {phase.name}: {phase.failures} failed requests", flush=True)
        print(f"bench console.raw_find_one_p95_ms: {raw.p95_ms():.2f} ms", flush=True)
        print(
            f"bench console.accounts_page_vs_raw_find_one: "
            f"{pages.p95_ms() / raw.p95_ms():.1f} ratio",
            flush=True,
        )
        print("# where one page's time goes (in process, no other load):", flush=True)
        _where_time_goes(settings, db, org_id, program_id, person.id)
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(20)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
        client.close()
        mongo.stop()
        _delete_namespace(settings)


if __name__ == "__main__":
    main()
