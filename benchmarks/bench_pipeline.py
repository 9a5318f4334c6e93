"""The end-to-end pipeline: completions through the respondent API until their scores are stored.

Starts the local MongoDB-compatible server (or uses MONGO_URL), the survey service under
gunicorn and the scoring worker (`python -m services.scoring`) on the real RabbitMQ in a
namespace of its own, seeds a wave through the admin API, then submits completions from
concurrent clients through `POST /api/v1/respond/{token}/subjects/{id}/submit` and
watches MongoDB for each response's stored scores:

    bench pipeline.completions_per_s: <n> /s      (completions scored per second, end to end)
    bench pipeline.completion_to_scored_p95_ms: <ms> ms

Run: `python -m benchmarks.bench_pipeline [--completions 120] [--clients 8]`.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pymongo
import requests

from deploy.local.stack import local_stack
from loadtests.answers import SECTIONS, section_answers
from loadtests.seed import seed
from shared.settings import Settings
from shared.tokens import invitation_id_from_token


def _answers(rng: random.Random) -> dict:
    quality = rng.betavariate(4, 2)
    answers: dict = {}
    for section in SECTIONS:
        answers.update(section_answers(section, quality=quality))
    return answers


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--completions", type=int, default=120)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--accounts", type=int, default=0, help="accounts in the wave (default completions / 4)"
    )
    args = parser.parse_args(argv)

    with local_stack(name="bench-pipeline") as stack:
        host, env = stack.host, stack.env
        mongo_url, api_key = env["MONGO_URL"], stack.api_key
        secret = stack.secret_key
        accounts = args.accounts or max(1, args.completions // 4)
        data = seed(
            host=host, api_key=api_key, accounts=accounts, contacts_per_account=4, sellers=10
        )
        buyers = [link for link in data["links"] if link["side"] == "buyer"]
        buyers = random.Random(1).sample(buyers, min(args.completions, len(buyers)))
        db = pymongo.MongoClient(mongo_url)[env["MONGO_DB"]]
        settings = Settings(secret_keys=(secret,))
        submitted: dict[str, float] = {}  # invitation id -> when its submit returned
        subjects: dict[str, str] = {}
        session_local = threading.local()
        rng = random.Random(0)
        payloads = [_answers(rng) for _ in buyers]

        def complete(i: int) -> None:
            session = getattr(session_local, "s", None) or requests.Session()
            session_local.s = session
            token = buyers[i]["token"]
            survey = session.get(f"{host}/api/v1/respond/{token}", timeout=30).json()
            subject = survey["subjects"][0]["subject_id"]
            answer = session.post(
                f"{host}/api/v1/respond/{token}/subjects/{subject}/submit",
                json={"answers": payloads[i]},
                timeout=30,
            )
            answer.raise_for_status()
            invitation = invitation_id_from_token(token, settings)
            submitted[invitation] = time.perf_counter()
            subjects[invitation] = subject

        scored: dict[str, float] = {}
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                now = time.perf_counter()
                for doc in db.scores.find({"kind": "account"}, {"response_ids": 1}):
                    for response_id in doc.get("response_ids") or ():
                        scored.setdefault(response_id, now)
                time.sleep(0.01)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(complete, range(len(buyers))))
        responses = {
            r["invitation_id"]: r["_id"]
            for r in db.responses.find(
                {"side": "buyer", "status": "completed"}, {"invitation_id": 1}
            )
        }
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline and not all(
            responses.get(i) in scored for i in submitted
        ):
            time.sleep(0.05)
        done.set()
        latencies = sorted(
            (scored[responses[i]] - submitted[i]) * 1000
            for i in submitted
            if responses.get(i) in scored
        )
        finished = max(scored[responses[i]] for i in submitted if responses.get(i) in scored)
        missing = len(submitted) - len(latencies)
        p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
        print(
            f"# {len(latencies)} completions scored ({missing} missing), clients {args.clients}, "
            f"p50 {latencies[len(latencies) // 2]:.0f} ms"
        )
        print(f"bench pipeline.completions_per_s: {len(latencies) / (finished - started):.1f} /s")
        print(f"bench pipeline.completion_to_scored_p95_ms: {p95:.0f} ms")


if __name__ == "__main__":
    main()
