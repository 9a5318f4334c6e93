"""A wave's close at size: it outlasts the database client's timeouts without being
cancelled, and a close killed part-way resumes when the event is delivered again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pymongo

from deploy.local.seeding import seed_answered_wave
from services.scoring.worker import close_wave, recompute_provisional
from shared import clock
from shared.bus import ConsumerSpec, InProcessBus
from shared.settings import Settings
from shared.store import client_options, ensure_indexes, scores, waves
from shared.store.results import read_results
from tests.conftest import isolated_settings
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 40  # 200 buyers and their sellers' responses
KILLED_ACCOUNTS = 20


def _sink_bus(settings: Settings) -> InProcessBus:
    bus = InProcessBus(settings)
    bus.consumer(ConsumerSpec("sink", ("#",), lambda event: None)).start()
    return bus


def _answered_wave(db, settings: Settings, accounts: int = ACCOUNTS) -> str:
    bus = _sink_bus(settings)
    seeded = seed_answered_wave(db=db, bus=bus, settings=settings, accounts=ACCOUNTS, bulk=True)
    recompute_provisional(db, seeded.wave_id, as_of=clock.now(), new_accounts=True)
    waves.claim_closing(
        db=db, org_id=seeded.org_id, wave_id=seeded.wave_id, closed_by="api", now=datetime.now(UTC)
    )
    bus.close()
    return seeded.wave_id


def _no_key(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "key"}


def _stored(db, wave_id: str) -> dict:
    """What the close leaves: the results, each account's document, each coaching plan."""
    results = read_results(db, {"wave_id": wave_id})["results"]
    # response ids hold invitation ids, which differ between two programs: left out
    accounts = {
        d["key"]: (d["account"], d.get("alerts"))
        for d in scores.of_kind(db=db, wave_id=wave_id, kind="account")
    }
    responses = sorted(
        (_no_key(r) for r in scores.response_rows(db=db, wave_id=wave_id)),
        key=lambda r: (
            r["account_external_id"],
            r["contact_email"],
            r["side"],
            r["seller_email"] or "",
        ),
    )
    plans = {d["key"]: d["plan"] for d in scores.of_kind(db=db, wave_id=wave_id, kind="coaching")}
    results = {k: v for k, v in results.items() if k != "wave_id"}
    return {"results": results, "responses": responses, **accounts, **plans}


def test_a_close_longer_than_the_clients_timeouts_completes(mongo_uri, db):
    # a client as impatient as a busy server's slowest write: its monitor gives up on a
    # server that does not answer for 2 s and checks every 0.5 s; the close takes longer
    settings = isolated_settings(mongo_connect_timeout_s=2.0)
    wave_id = _answered_wave(db, settings)
    client = pymongo.MongoClient(mongo_uri, heartbeatFrequencyMS=500, **client_options(settings))
    impatient = client[db.name]
    bus = _sink_bus(settings)
    started = time.perf_counter()
    close_wave(db=impatient, bus=bus, wave_id=wave_id)
    took = time.perf_counter() - started
    bus.close()
    client.close()
    assert took > 2.0, f"the close took {took:.1f} s: not longer than the client's timeout"
    assert read_results(db, {"wave_id": wave_id})["final"] is True
    stored = list(scores.of_kind(db=db, wave_id=wave_id, kind="account", fields=("final",)))
    assert len(stored) == ACCOUNTS and all(d["final"] for d in stored)


_CLOSE = """
import sys
import pymongo
from services.scoring.worker import close_wave
from shared.bus import ConsumerSpec, InProcessBus
from shared.settings import Settings
from shared.store import client_options, scores
scores.BATCH = 2  # many round trips: room to be killed between two of them
uri, name, wave_id = sys.argv[1:4]
db = pymongo.MongoClient(uri, **client_options())[name]
bus = InProcessBus(Settings())
bus.consumer(ConsumerSpec("sink", ("#",), lambda event: None)).start()
close_wave(db=db, bus=bus, wave_id=wave_id)
"""


def test_a_close_killed_part_way_and_delivered_again_stores_the_same_results(
    mongo_uri, mongo_client, db
):
    settings = isolated_settings()
    # the same program twice: one wave closed at once, one killed part-way then redelivered
    other = mongo_client[f"{db.name}_again"]
    ensure_indexes(other)
    try:
        whole = _answered_wave(db, settings, KILLED_ACCOUNTS)
        killed = _answered_wave(other, settings, KILLED_ACCOUNTS)
        bus = _sink_bus(settings)
        close_wave(db=db, bus=bus, wave_id=whole)

        env = dict(os.environ, PYTHONPATH=str(ROOT))
        process = subprocess.Popen(
            [sys.executable, "-c", _CLOSE, mongo_uri, other.name, killed], cwd=ROOT, env=env
        )
        written = {"wave_id": killed, "final": True}
        wait_for(lambda: other.scores.count_documents(written) >= 4, timeout=60)
        process.send_signal(signal.SIGKILL)
        process.wait()
        part = other.scores.count_documents(written)
        assert part < KILLED_ACCOUNTS, "the close finished before it was killed"
        assert not (read_results(other, {"wave_id": killed}) or {}).get("final")

        close_wave(db=other, bus=bus, wave_id=killed)  # the queue delivers wave.closed again
        bus.close()
        assert _stored(other, killed) == _stored(db, whole)
        assert read_results(other, {"wave_id": killed})["final"] is True
    finally:
        mongo_client.drop_database(other.name)
