"""`make loadtest`: the suite under gunicorn on loopback, seeded, then Locust headless.

Starts the local MongoDB-compatible server (or uses MONGO_URL), the real RabbitMQ
(AMQP_URL, default the local broker) in a namespace of its own, the survey service
under gunicorn and the scoring worker; seeds a wave; runs Locust with FastHttpUser for a
fixed time; writes CSV and HTML reports under var/loadtest/; exits non-zero when the
error rate or the p95 of any journey step passes its threshold (loadtests/thresholds.yaml).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path

import yaml

from deploy.local.stack import BIN, ROOT, local_stack

OUT = ROOT / "var" / "loadtest"


def check_thresholds(stats_csv: Path, thresholds: dict) -> list[str]:
    """The threshold breaches in Locust's stats CSV, as sentences; empty when all pass."""
    rows = list(csv.DictReader(stats_csv.open()))
    steps = [r for r in rows if r["Name"] != "Aggregated"]
    total = next(r for r in rows if r["Name"] == "Aggregated")
    breaches = []
    requests_made = int(total["Request Count"])
    failures = int(total["Failure Count"])
    if requests_made < thresholds.get("min_requests", 1):
        breaches.append(
            f"only {requests_made} requests (min_requests {thresholds['min_requests']})"
        )
    error_rate = failures / requests_made if requests_made else 1.0
    if error_rate > thresholds["max_error_rate"]:
        breaches.append(f"error rate {error_rate:.2%} > {thresholds['max_error_rate']:.2%}")
    limits = thresholds.get("p95_ms", {})
    for row in steps:
        limit = limits.get(row["Name"], limits.get("default"))
        p95 = float(row["95%"] or 0)
        if limit is not None and p95 > limit:
            breaches.append(f"{row['Name']}: p95 {p95:.0f} ms > {limit} ms")
    return breaches


def summary(stats_csv: Path) -> str:
    lines = [f"{'step':28} {'reqs':>6} {'fails':>5} {'rps':>7} {'p50':>6} {'p95':>6} {'p99':>6}"]
    for row in csv.DictReader(stats_csv.open()):
        lines.append(
            f"{row['Name'][:28]:28} {row['Request Count']:>6} {row['Failure Count']:>5} "
            f"{float(row['Requests/s']):7.1f} {row['50%']:>6} {row['95%']:>6} {row['99%']:>6}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=int(os.environ.get("LOADTEST_USERS", "50")))
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--run-time", default=os.environ.get("LOADTEST_RUN_TIME", "60s"))
    parser.add_argument("--accounts", type=int, default=60)
    parser.add_argument("--think", default=os.environ.get("RAPPORT_LOADTEST_THINK", "1.0"))
    parser.add_argument(
        "--thresholds",
        default=os.environ.get(
            "RAPPORT_LOADTEST_THRESHOLDS", str(ROOT / "loadtests" / "thresholds.yaml")
        ),
    )
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    thresholds = yaml.safe_load(Path(args.thresholds).read_text())

    with (
        (OUT / "services.log").open("w") as log,
        local_stack(
            name="loadtest", workers=int(os.environ.get("LOADTEST_GUNICORN_WORKERS", "2")), log=log
        ) as stack,
    ):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "loadtests.seed",
                "--host",
                stack.host,
                "--api-key",
                stack.api_key,
                "--accounts",
                str(args.accounts),
                "--out",
                str(OUT / "links.json"),
            ],
            cwd=ROOT,
            env=stack.env,
            check=True,
        )
        locust_env = dict(
            stack.env,
            RAPPORT_LOADTEST_LINKS=str(OUT / "links.json"),
            RAPPORT_LOADTEST_THINK=args.think,
        )
        subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                "loadtests/locustfile.py",
                "--headless",
                "--host",
                stack.host,
                "-u",
                str(args.users),
                "-r",
                str(args.spawn_rate),
                "-t",
                args.run_time,
                "--csv",
                str(OUT / "report"),
                "--html",
                str(OUT / "report.html"),
                "--only-summary",
                "--stop-timeout",
                "10",
            ],
            cwd=ROOT,
            env=locust_env,
            check=False,
        )
    stats = OUT / "report_stats.csv"
    print(summary(stats))
    breaches = check_thresholds(stats, thresholds)
    print(f"reports: {OUT / 'report.html'} and {OUT}/report_*.csv")
    if breaches:
        print("LOAD TEST FAILED:\n  " + "\n  ".join(breaches))
        return 1
    print("load test passed its thresholds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
