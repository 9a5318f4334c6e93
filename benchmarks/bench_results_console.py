"""The console's results pages and the wave report on a scored synthetic wave, under gunicorn.

    bench console.results_page_p95_ms: <ms>   GET /app/waves/{id}/results, 10 clients
    bench console.account_page_p95_ms: <ms>   GET /app/waves/{id}/accounts/{a}, 10 clients
    bench console.results_page_vs_raw_find: <x> x   the page's median / one raw find of the
                                              wave's stored ranking on the same server
    bench report.wave_pdf_s: <s>              GET /api/v1/waves/{id}/report.pdf (one, after
                                              a warm-up)

The wave is built through the product (roster import, launch, submit, close, score) from
deploy/local/synthetic.py; seeding is not timed. `--accounts` (default 2,000, the issue's
size; seeding that through the respondent path takes many minutes here). The local MongoDB
stand-in (mongoeco) unless MONGO_URL is set. Run: `python -m benchmarks.bench_results_console`.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import threading
import time
import uuid

import pymongo
import requests

from benchmarks.bench_survey import AMQP_URL, _declare_catch_all, _delete_namespace, _start_gunicorn
from deploy.local.mongo_server import LocalMongo, free_port
from services.survey.console.people import create_user
from services.survey.organisations import create_api_key
from shared.settings import Settings
from shared.store import ensure_indexes
from tests.support.console import PASSWORD
from tests.support.scored_wave import scored_program

CLIENTS = 10
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _signed_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    token = _TOKEN.search(session.get(f"{base}/app/sign-in").text).group(1)
    answer = session.post(
        f"{base}/app/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.status_code
    return session


def _p95(base: str, cookies, paths: list[str], requests_each: int) -> tuple[float, float]:
    """p95 and median (ms) of GETs of `paths` by CLIENTS threads, each its own session."""
    timings: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        session = requests.Session()
        session.cookies.update(cookies)
        mine = []
        for i in range(requests_each):
            path = paths[(offset + i) % len(paths)]
            started = time.perf_counter()
            answer = session.get(f"{base}{path}")
            mine.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, (path, answer.status_code)
        with lock:
            timings.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings.sort()
    return timings[int(0.95 * (len(timings) - 1))], statistics.median(timings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=int(os.environ.get("BENCH_ACCOUNTS", 2000)))
    parser.add_argument("--requests", type=int, default=10, help="per client and page")
    if argv is None:
        argv = sys.argv[1:] if __name__ == "__main__" else []
    args = parser.parse_args(argv)
    mongo = None if os.environ.get("MONGO_URL") else LocalMongo(engine="memory").start()
    settings = Settings(
        mongo_url=os.environ.get("MONGO_URL") or mongo.uri,
        mongo_db=f"bench_results_{uuid.uuid4().hex[:8]}",
        amqp_url=AMQP_URL,
        bus_namespace=f"bench-{uuid.uuid4().hex[:10]}",
        secret_keys=(uuid.uuid4().hex,),
    )
    client = pymongo.MongoClient(settings.mongo_url, tz_aware=True)
    db = client[settings.mongo_db]
    ensure_indexes(db)
    gunicorn = None
    try:
        _declare_catch_all(settings)
        started = time.perf_counter()
        program = scored_program(
            db, settings, accounts=args.accounts, contacts_per_account=2, waves=1
        )
        print(
            f"# seeded and scored {args.accounts} accounts in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        create_user(
            db=db,
            org_id=program.org_id,
            email="bench@acme.example",
            role="manager",
            password=PASSWORD,
        )
        key = create_api_key(db=db, org_id=program.org_id)
        ranking = [
            a["external_id"]
            for doc in db.scores.find({"wave_id": program.wave_id, "kind": "ranking"})
            for a in doc["accounts"]
        ][:50]
        port = free_port()
        gunicorn = _start_gunicorn(settings, port, workers=2, threads=8)
        base = f"http://127.0.0.1:{port}"
        cookies = _signed_in(base, "bench@acme.example").cookies
        results = [f"/app/waves/{program.wave_id}/results"]
        accounts = [f"/app/waves/{program.wave_id}/accounts/{a}" for a in ranking]
        _p95(base, cookies, results, 1)  # warm-up
        page_p95, page_median = _p95(base, cookies, results, args.requests)
        account_p95, _ = _p95(base, cookies, accounts, args.requests)
        raw = []
        for _ in range(5):
            started = time.perf_counter()
            list(db.scores.find({"wave_id": program.wave_id, "kind": "ranking"}))
            raw.append((time.perf_counter() - started) * 1000)
        headers = {"Authorization": f"Bearer {key}"}
        requests.get(
            f"{base}/api/v1/waves/{program.wave_id}/report.pdf", headers=headers, timeout=120
        )
        started = time.perf_counter()
        pdf = requests.get(
            f"{base}/api/v1/waves/{program.wave_id}/report.pdf", headers=headers, timeout=120
        )
        pdf_s = time.perf_counter() - started
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        print(f"bench console.results_page_p95_ms: {page_p95:.0f} ms", flush=True)
        print(f"bench console.account_page_p95_ms: {account_p95:.0f} ms", flush=True)
        print(
            f"bench console.results_page_vs_raw_find: {page_median / statistics.median(raw):.1f} x",
            flush=True,
        )
        print(f"bench report.wave_pdf_s: {pdf_s:.1f} s", flush=True)
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(10)
        client.drop_database(settings.mongo_db)
        client.close()
        _delete_namespace(settings)
        if mongo is not None:
            mongo.stop()


if __name__ == "__main__":
    main()
