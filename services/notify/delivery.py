"""The `emails` collection as a durable queue: record first, then send, retry what is due.

Each email is inserted as ``pending`` under its unique idempotency key before anything is
sent, so a redelivered event or a second process finds the key taken and sends nothing.
The process that inserted (or later claimed) an email holds a lease on it while sending;
an email whose lease ran out (its process died) is picked up by any retry loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.notify.config import NotifyConfig
from services.notify.mailer import Mailer, PermanentFailure, TemporaryFailure
from services.notify.messages import RenderedEmail, compose
from shared.ids import new_id

log = logging.getLogger(__name__)

SENT, PENDING, FAILED = "sent", "pending", "failed"
CANCELLED = "cancelled"  # no longer wanted: the survey closed or the person completed it
DEFERRED = "deferred"
SURVEY_KINDS = (
    "invitation",
    "reminder",
)  # emails that lose their point once the survey is done  # not tried now: the relay is known to be down


def utcnow() -> datetime:
    return datetime.now(UTC)


class Delivery:
    """Records emails under their idempotency keys and sends them through one Mailer."""

    def __init__(
        self,
        *,
        db: Database,
        mailer: Mailer,
        sender: Address,
        config: NotifyConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
        owner: str | None = None,
    ) -> None:
        self.emails = db["emails"]
        self.invitations = db["invitations"]
        self.mailer = mailer
        self.sender = sender
        self.config = config or NotifyConfig()
        self.clock = clock
        self.owner = owner or new_id()  # this process's name on the leases it holds
        self._relay_down_until: datetime | None = None
        self._relay_failures = 0
        self._lock = threading.Lock()

    # --- recording -------------------------------------------------------------------

    def enqueue(
        self,
        *,
        key: str,
        kind: str,
        to: Address,
        rendered: RenderedEmail,
        language: str = "en",
        unsubscribe_url: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> dict | None:
        """Insert a pending email claimed by this process; None if the key exists already."""
        now = self.clock()
        message = compose(
            sender=self.sender,
            to=to,
            rendered=rendered,
            idempotency_key=key,
            language=language,
            unsubscribe_url=unsubscribe_url,
            now=now,
        )
        doc = {
            "_id": new_id(),
            "idempotency_key": key,
            "to": to.addr_spec,
            "kind": kind,
            "status": PENDING,
            "attempts": 0,
            "last_error": None,
            "next_attempt_at": now,
            "lease_until": now + timedelta(seconds=self.config.lease_s),
            "lease_owner": self.owner,
            "created_at": now,
            "sent_at": None,
            "subject": rendered.subject,
            "mime": message.as_string(),
            **(meta or {}),
        }
        try:
            self.emails.insert_one(doc)
        except DuplicateKeyError:
            return None
        return doc

    def record_rejected(
        self, *, key: str, kind: str, to: str, error: str, meta: dict[str, Any] | None = None
    ) -> bool:
        """Record an email that cannot be sent at all (e.g. an invalid address) as failed."""
        now = self.clock()
        try:
            self.emails.insert_one(
                {
                    "_id": new_id(),
                    "idempotency_key": key,
                    "to": str(to)[:254],
                    "kind": kind,
                    "status": FAILED,
                    "attempts": 0,
                    "last_error": error,
                    "next_attempt_at": None,
                    "lease_until": now,
                    "created_at": now,
                    "failed_at": now,
                    "sent_at": None,
                    **(meta or {}),
                }
            )
        except DuplicateKeyError:
            return False
        log.warning("email rejected", extra={"kind": kind, "error": error, **_log_meta(meta)})
        return True

    # --- sending ---------------------------------------------------------------------

    def relay_down(self) -> bool:
        with self._lock:
            return self._relay_down_until is not None and self.clock() < self._relay_down_until

    def deliver(self, doc: dict, *, recheck: bool = False) -> str:
        """Send one email this process holds the lease on; returns sent, pending, failed,
        cancelled or deferred. `recheck`: the email waited, so ask again whether it is wanted."""
        reason = self._unwanted(doc, recheck=recheck)
        if reason:
            self._finish(doc, CANCELLED, attempts=doc.get("attempts", 0), error=reason)
            return CANCELLED
        if self.relay_down():
            self._reschedule(doc, attempts=doc.get("attempts", 0), error=None, at=self._retry_at())
            return DEFERRED
        attempts = doc.get("attempts", 0) + 1
        try:
            self.mailer.send(
                doc["mime"].encode("ascii"), sender=self.sender.addr_spec, recipients=[doc["to"]]
            )
        except PermanentFailure as exc:
            self._finish(doc, FAILED, attempts=attempts, error=str(exc))
            log.warning(
                "email refused", extra={"kind": doc["kind"], "error": str(exc), **_log_meta(doc)}
            )
            return FAILED
        except TemporaryFailure as exc:
            if exc.connection:
                self._relay_failed()
            if attempts >= self.config.max_attempts:
                self._finish(doc, FAILED, attempts=attempts, error=f"gave up: {exc}")
                return FAILED
            at = self.clock() + timedelta(seconds=self.config.backoff_s(attempts))
            if exc.connection:
                at = max(at, self._retry_at())
            self._reschedule(doc, attempts=attempts, error=str(exc), at=at)
            log.info(
                "email deferred",
                extra={"kind": doc["kind"], "attempts": attempts, "error": str(exc)},
            )
            return PENDING
        self._relay_ok()
        self._finish(doc, SENT, attempts=attempts, error=None)
        return SENT

    def deliver_all(self, docs: list[dict]) -> dict[str, int]:
        """Deliver several held emails; counts by outcome."""
        counts: dict[str, int] = {}
        for doc in docs:
            outcome = self.deliver(doc)
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def claim(self, email_id: str, now: datetime | None = None) -> dict | None:
        """Take the lease on a due pending email; None when another process holds it or it is done."""
        now = now or self.clock()
        return self.emails.find_one_and_update(
            {"_id": email_id, "status": PENDING, "lease_until": {"$lte": now}},
            {
                "$set": {
                    "lease_until": now + timedelta(seconds=self.config.lease_s),
                    "lease_owner": self.owner,
                }
            },
            return_document=ReturnDocument.AFTER,
        )

    def send_due(self, now: datetime | None = None) -> dict[str, int]:
        """One pass of the retry loop: claim and send every pending email that is due."""
        counts: dict[str, int] = {}
        if self.relay_down():
            return counts
        now = now or self.clock()
        due = self.emails.find(
            {"status": PENDING, "next_attempt_at": {"$lte": now}, "lease_until": {"$lte": now}},
            {"_id": 1},
            sort=[("next_attempt_at", ASCENDING)],
            limit=self.config.batch_size,
        )
        for row in list(due):
            doc = self.claim(row["_id"], now)
            if doc is None:
                continue  # another process took it
            outcome = self.deliver(doc, recheck=True)
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome == DEFERRED:
                break
        return counts

    def run(self, stop: threading.Event) -> None:
        """The retry loop: send what is due every few seconds until `stop` is set."""
        while not stop.is_set():
            try:
                counts = self.send_due()
                if counts:
                    log.info("retry pass", extra={"counts": counts})
            except Exception:
                log.exception("retry pass failed")
            stop.wait(self.config.retry_poll_s)

    # --- bookkeeping -----------------------------------------------------------------

    def _unwanted(self, doc: dict, *, recheck: bool) -> str | None:
        """Why a survey email should no longer go out: the survey closed, or (when it waited)
        the person completed it or opted out meanwhile."""
        expires = doc.get("expires_at")
        if expires is not None and self.clock() >= expires:
            return "not sent: the survey has closed"
        if recheck and doc.get("kind") in SURVEY_KINDS and doc.get("invitation_id"):
            invitation = self.invitations.find_one(
                {"_id": doc["invitation_id"]}, {"status": 1, "opted_out": 1, "revoked": 1}
            )
            if invitation is None or invitation.get("status") == "completed":
                return "not sent: the survey is completed"
            if invitation.get("opted_out") or invitation.get("revoked"):
                return "not sent: opted out or revoked"
        return None

    def _finish(self, doc: dict, status: str, *, attempts: int, error: str | None) -> None:
        now = self.clock()
        update: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "last_error": error,
            "lease_until": now,
            "next_attempt_at": None,
        }
        update[{SENT: "sent_at", FAILED: "failed_at"}.get(status, "cancelled_at")] = now
        self.emails.update_one({"_id": doc["_id"]}, {"$set": update})

    def _reschedule(self, doc: dict, *, attempts: int, error: str | None, at: datetime) -> None:
        update: dict[str, Any] = {"attempts": attempts, "next_attempt_at": at, "lease_until": at}
        if error is not None:
            update["last_error"] = error
        self.emails.update_one(
            {"_id": doc["_id"], "status": PENDING, "lease_owner": self.owner}, {"$set": update}
        )

    def _relay_failed(self) -> None:
        with self._lock:
            self._relay_failures += 1
            delay = self.config.backoff_s(self._relay_failures)
            self._relay_down_until = self.clock() + timedelta(seconds=delay)

    def _relay_ok(self) -> None:
        with self._lock:
            self._relay_failures = 0
            self._relay_down_until = None

    def _retry_at(self) -> datetime:
        with self._lock:
            return self._relay_down_until or self.clock()


def _log_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    meta = meta or {}
    return {k: meta[k] for k in ("wave_id", "event_id", "invitation_id") if k in meta}


def wait_for_due(delivery: Delivery, *, timeout: float, stop: threading.Event | None = None) -> int:
    """Run retry passes until nothing is pending or `timeout` passes; the number still pending."""
    deadline = time.monotonic() + timeout
    while True:
        delivery.send_due()
        pending = delivery.emails.count_documents({"status": PENDING})
        if not pending or time.monotonic() > deadline or (stop and stop.is_set()):
            return pending
        time.sleep(min(0.05, delivery.config.retry_base_s))
