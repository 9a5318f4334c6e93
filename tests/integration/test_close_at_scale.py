"""A wave's close at size: it outlasts the database client's timeouts without being
cancelled, and a close killed part-way resumes when the event is delivered again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pymongo
from pymongo import monitoring

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


class _RoundTrips(monitoring.CommandListener):
    """How long each command of a client took, in seconds, by command name."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}
        self.seconds: list[tuple[str, float]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names[event.request_id] = event.command_name

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        name = self.names.pop(event.request_id, "?")
        self.seconds.append((name, event.duration_micros / 1e6))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.names.pop(event.request_id, None)


def test_a_close_on_an_impatient_client_completes_in_short_round_trips(mongo_uri, db):
    # The old failure: one bulk write of 1,000 upserts outlasted the driver's 20 s monitor
    # timeout on the single-threaded local server, and pymongo cancelled it. Scaled down:
    # a client whose monitor gives up after 10 s (checking every 0.5 s) closes a wave of 40
    # accounts; the close writes in batches (~128 KB) that each stay far below that.
    settings = isolated_settings(mongo_connect_timeout_s=10.0)
    wave_id = _answered_wave(db, settings)
    trips = _RoundTrips()
    client = pymongo.MongoClient(
        mongo_uri, heartbeatFrequencyMS=500, event_listeners=[trips], **client_options(settings)
    )
    bus = _sink_bus(settings)
    close_wave(db=client[db.name], bus=bus, wave_id=wave_id)
    bus.close()
    client.close()
    assert read_results(db, {"wave_id": wave_id})["final"] is True
    stored = list(scores.of_kind(db=db, wave_id=wave_id, kind="account", fields=("final",)))
    assert len(stored) == ACCOUNTS and all(d["final"] for d in stored)
    writes = [seconds for name, seconds in trips.seconds if name == "update"]
    assert writes and max(writes) < settings.mongo_connect_timeout_s, trips.seconds


_CLOSE = """
import sys
import pymongo
from pymongo import monitoring
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
