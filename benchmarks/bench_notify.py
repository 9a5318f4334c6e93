"""Invitation emails per second from one notify process to a local SMTP server.

Starts the local MongoDB-compatible server (mongoeco, memory engine) and the SMTP capture
server (aiosmtpd, deploy/local/mail_capture.py) in a process of its own, as a relay would be,
seeds an open wave with `--invitations` buyer invitations,
then hands the notify service's handler `invitations.created` events in batches of 500
(as the survey service publishes them) and times until every email is recorded, sent
over one reused SMTP connection and marked sent:

    bench notify.emails_per_s: <n> /s

The survey's collections (contacts, invitations) are seeded without their indexes: here
they are only read by `_id`, and the stand-in server's inserts under a compound unique
index grow quadratically. The collections notify writes (`emails` above all) have their
real indexes from shared/store/database.py.

For context it also prints the raw costs on the same servers: smtplib over one
connection, and a pymongo insert into a collection of the same size, and the ratio of
the notify figure to the slower of the two. The send rate limit (mail_rate_per_s) is
lifted unless `--rate` is given, since it would only measure itself.
Run: `python -m benchmarks.bench_notify [--invitations 1000] [--rate 0]`; with MONGO_URL set
it runs against that MongoDB instead (in a database of its own, dropped after).
"""

from __future__ import annotations

import argparse
import multiprocessing
import smtplib
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pymongo
from bson import ObjectId

from deploy.local.mail_capture import CaptureServer
from deploy.local.mongo_server import free_port, mongo_url_or_local
from services.bootstrap import Container
from services.notify.config import NotifyConfig
from services.notify.worker import Notifier
from shared.bus import InProcessBus
from shared.events import INVITATIONS_CREATED, Event
from shared.ids import new_id
from shared.settings import Settings
from shared.store import INDEXES

BATCH = 500  # invitations per event, as the survey service publishes them
NOTIFY_WRITES = ("emails", "opt_outs", "processed_events", "outbox", "reminder_rounds")


def seed(db, invitations: int) -> tuple[str, str, list[str]]:
    """An organisation, program, one seller, `invitations` buyer contacts and invitations."""
    now = datetime.now(UTC)
    org_id = str(ObjectId())
    db.organisations.insert_one({"_id": ObjectId(org_id), "name": "Northwind Supplies"})
    program_id, wave_id = new_id(), new_id()
    db.programs.insert_one(
        {"_id": program_id, "org_id": org_id, "name": "Key accounts", "settings": {}}
    )
    db.sellers.insert_one(
        {
            "_id": new_id(),
            "org_id": org_id,
            "program_id": program_id,
            "email": "sam@northwind.example",
            "name": "Sam Seller",
            "language": "en",
        }
    )
    db.waves.insert_one(
        {
            "_id": wave_id,
            "org_id": org_id,
            "program_id": program_id,
            "name": "Spring review",
            "status": "open",
            "launched_at": now,
            "closes_at": now + timedelta(days=14),
            "reminder_days": [3, 7],
            "delivery": "email",
        }
    )
    contacts, docs = [], []
    for n in range(invitations):
        contact_id = new_id()
        email = f"buyer{n}@client{n % 50}.example"
        contacts.append(
            {
                "_id": contact_id,
                "org_id": org_id,
                "program_id": program_id,
                "account_external_id": f"A{n % 50}",
                "email": email,
                "name": f"Buyer {n}",
                "role": "user",
                "language": "de" if n % 4 == 0 else "en",
                "primary_seller_email": "sam@northwind.example",
            }
        )
        docs.append(
            {
                "_id": new_id(),
                "org_id": org_id,
                "program_id": program_id,
                "wave_id": wave_id,
                "side": "buyer",
                "person_email": email,
                "person_name": f"Buyer {n}",
                "language": "de" if n % 4 == 0 else "en",
                "subjects": [
                    {"subject_id": contact_id, "contact_id": contact_id, "label": f"Buyer {n}"}
                ],
                "status": "invited",
                "revoked": False,
                "opted_out": False,
            }
        )
    # Small batches: the stand-in server's insert cost grows with the batch and the collection.
    for start in range(0, len(docs), 100):
        db.contacts.insert_many(contacts[start : start + 100])
        db.invitations.insert_many(docs[start : start + 100])
    return org_id, wave_id, [d["_id"] for d in docs]


def _serve_smtp(port: int, ready, stop, received) -> None:
    server = CaptureServer(port=port).start()
    ready.set()
    stop.wait()
    received.put(len(server.handler.snapshot()))
    server.stop()


class RelayProcess:
    """The capture server in a child process: its message parsing does not share our GIL."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.host, self.port = "127.0.0.1", free_port()
        self._ready, self._stop, self._received = context.Event(), context.Event(), context.Queue()
        self._process = context.Process(
            target=_serve_smtp,
            args=(self.port, self._ready, self._stop, self._received),
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> RelayProcess:
        self._process.start()
        if not self._ready.wait(30):
            raise RuntimeError("the SMTP capture server did not start")
        return self

    def stop(self) -> int:
        """Stop the server; the number of messages it received."""
        self._stop.set()
        received = self._received.get(timeout=30)
        self._process.join(10)
        return received


def raw_smtp_per_s(url_host: str, port: int, count: int) -> float:
    message = (
        b"From: a@b.example\r\nTo: c@d.example\r\nSubject: raw\r\n\r\n" + b"x" * 76 + b"\r\n" * 50
    )
    smtp = smtplib.SMTP(url_host, port)
    started = time.perf_counter()
    for _ in range(count):
        smtp.sendmail("a@b.example", ["c@d.example"], message)
    elapsed = time.perf_counter() - started
    smtp.quit()
    return count / elapsed


def raw_insert_per_s(db, count: int) -> float:
    """The floor under any email: insert it pending and mark it sent, same indexes and size."""
    collection = db[f"raw_{uuid.uuid4().hex[:6]}"]
    collection.create_indexes([ix.model() for ix in INDEXES["emails"]])
    started = time.perf_counter()
    for n in range(count):
        collection.insert_one(
            {
                "idempotency_key": f"k{n}",
                "status": "pending",
                "next_attempt_at": n,
                "mime": "x" * 4600,
            }
        )
        collection.update_one(
            {"idempotency_key": f"k{n}"}, {"$set": {"status": "sent", "next_attempt_at": None}}
        )
    return count / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invitations", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0.0, help="mail_rate_per_s; 0 = no limit")
    args = parser.parse_args(argv)

    smtp = RelayProcess().start()
    resources = ExitStack()
    mongo_url = resources.enter_context(mongo_url_or_local())  # MONGO_URL, else the stand-in
    client = pymongo.MongoClient(mongo_url, tz_aware=True)
    suffix = uuid.uuid4().hex[:8]
    try:
        db = client[f"bench_notify_{suffix}"]
        for name in NOTIFY_WRITES:
            db[name].create_indexes([ix.model() for ix in INDEXES[name]])
        seeding = time.perf_counter()
        org_id, wave_id, ids = seed(db, args.invitations)
        print(f"# seeded {args.invitations} invitations in {time.perf_counter() - seeding:.1f} s")
        settings = Settings(
            mongo_url=mongo_url,
            mongo_db=db.name,
            smtp_url=smtp.url,
            mail_rate_per_s=args.rate,
            public_url="https://rapport.example",
        )
        container = Container(settings, _db=db, _bus=InProcessBus(settings), _indexed=True)
        notifier = Notifier(container, config=NotifyConfig())
        events = [
            Event(
                INVITATIONS_CREATED,
                {
                    "org_id": org_id,
                    "wave_id": wave_id,
                    "invitation_ids": ids[i : i + BATCH],
                    "kind": "invitation",
                },
            )
            for i in range(0, len(ids), BATCH)
        ]
        started = time.perf_counter()
        for event in events:
            notifier.handle(event)
        elapsed = time.perf_counter() - started
        notifier.close()

        sent = db.emails.count_documents({"status": "sent"})
        rate = args.invitations / elapsed
        smtp_raw = raw_smtp_per_s(smtp.host, smtp.port, min(500, args.invitations))
        received = smtp.stop() - min(500, args.invitations)
        if sent != args.invitations or received != args.invitations:
            raise RuntimeError(f"sent {sent}, received {received} of {args.invitations}")
        insert_raw = raw_insert_per_s(db, args.invitations)
        print(f"# {args.invitations} invitations in {elapsed:.2f} s over one SMTP connection")
        print(f"# raw smtplib {smtp_raw:.0f}/s, raw pymongo insert+update {insert_raw:.0f}/s")
        print(f"bench notify.emails_per_s: {rate:.0f} /s")
        print(f"bench notify.emails_vs_raw_ratio: {rate / min(smtp_raw, insert_raw):.2f} x")
    finally:
        client.drop_database(f"bench_notify_{suffix}")
        client.close()
        resources.close()


if __name__ == "__main__":
    main()
