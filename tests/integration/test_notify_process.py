"""`python -m services.notify` as its own process: consumer, scheduler and retry loop together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deploy.local.mail_capture import CaptureServer
from services.notify.scheduler import closing_event_id
from shared.bus import Unroutable
from shared.events import INVITATIONS_CREATED, Event
from tests.support.notify_fixtures import make_world
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_the_notify_process_sends_invitations_closes_due_waves_and_stops_on_sigterm(
    db, mongo_uri, rabbit_bus, tmp_path
):
    smtp = CaptureServer().start()
    world = make_world(db)
    overdue = make_world(
        db,
        launched_at=datetime.now(UTC) - timedelta(days=20),
        closes_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")},
        "RAPPORT_ENV": "test",  # a test's process: it may sign with the public dev key
        "MONGO_URL": mongo_uri,
        "MONGO_DB": db.name,
        "AMQP_URL": rabbit_bus.url,
        "RAPPORT_BUS_NAMESPACE": rabbit_bus.settings.bus_namespace,
        "SMTP_URL": smtp.url,
        "RAPPORT_PUBLIC_URL": "http://survey.test",
        "RAPPORT_LOG_FORMAT": "text",
        "RAPPORT_NOTIFY_SCHEDULER_POLL_S": "0.2",
        "RAPPORT_NOTIFY_RETRY_POLL_S": "0.2",
    }
    log = open(tmp_path / "notify.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.notify"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        event = Event(
            INVITATIONS_CREATED,
            {
                "org_id": world.org_id,
                "wave_id": world.wave_id,
                "invitation_ids": [i["_id"] for i in world.invitations],
                "kind": "invitation",
            },
        )

        def published() -> bool:
            try:
                rabbit_bus.publish(event)  # refused until the process has declared its queue
                return True
            except Unroutable:
                return False

        wait_for(published, timeout=30, message="the notify queue")
        wait_for(lambda: len(smtp.handler.snapshot()) == 5, timeout=30, message="5 invitations")
        wait_for(
            lambda: db.waves.find_one({"_id": overdue.wave_id})["status"] == "closing",
            timeout=30,
            message="the overdue wave closing",
        )
        wait_for(
            lambda: (
                (db.outbox.find_one({"event_id": closing_event_id(overdue.wave_id)}) or {}).get(
                    "status"
                )
                == "sent"
            ),
            timeout=30,
            message="wave.closed published",
        )
        assert db.waves.find_one({"_id": world.wave_id})["status"] == "open"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(30)
        finally:
            log.close()
            smtp.stop()
    assert code == 0, (tmp_path / "notify.log").read_text()[-3000:]
    assert sorted(m.rcpt_tos[0] for m in smtp.handler.snapshot()) == sorted(
        i["person_email"] for i in world.invitations
    )
