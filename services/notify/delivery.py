"""The `emails` collection as a durable queue: record first, then send, retry what is due.

Each email is inserted as ``pending`` under its unique idempotency key before anything is
sent, so a redelivered event or a second process finds the key taken and sends nothing.
The process that inserted (or later claimed) an email holds a lease on it while sending;
an email whose lease ran out (its process died) is picked up by any retry loop.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from typing import Any

from services.notify.config import NotifyConfig
from services.notify.mailer import Mailer, PermanentFailure, TemporaryFailure
from services.notify.messages import InvalidAddress, RenderedEmail, compose, mailbox
from shared.ids import new_id
from shared.store import Database, invitations
from shared.store import emails as email_store
from shared.vocabulary import COMPLETED

log = logging.getLogger(__name__)

SENT, PENDING, FAILED = "sent", "pending", "failed"
CANCELLED = "cancelled"  # no longer wanted: the survey closed or the person completed it
DEFERRED = "deferred"  # not tried now: the relay is known to be down
SURVEY_KINDS = ("invitation", "reminder")  # emails that lose their point once the survey is done
RELAY_PROBE_MAX_S = 300.0  # a relay that was down is tried again at least this often


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Tally:
    """What one handler or scheduler pass did with its emails, for logs and tests."""

    sent: int = 0
    pending: int = 0  # waiting for the relay; the retry loop has them
    failed: int = 0
    cancelled: int = 0
    duplicate: int = 0  # recorded before (a redelivered event, another process)
    skipped: int = 0  # not emailed at all (opted out, no address, ...)
    reasons: dict[str, int] = field(default_factory=dict)

    def count(self, outcomes: Counter) -> Tally:
        self.sent += outcomes[SENT]
        self.pending += outcomes[PENDING] + outcomes[DEFERRED]
        self.failed += outcomes[FAILED]
        self.cancelled += outcomes[CANCELLED]
        self.duplicate += outcomes["duplicate"]
        return self

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def merge(self, other: Tally) -> Tally:
        for name in ("sent", "pending", "failed", "cancelled", "duplicate", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, n in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + n
        return self


@dataclass(frozen=True)
class Outgoing:
    """One email to record and send: its idempotency key, recipient and rendered content."""

    key: str
    kind: str
    to: Address
    rendered: RenderedEmail
    language: str = "en"
    unsubscribe_url: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    sender_name: str | None = None  # the From display name (the organisation's sender name)
    reply_to: str | None = None  # the organisation's Reply-To address


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
        self.db = db
        self.mailer = mailer
        self.sender = sender
        self.config = config or NotifyConfig()
        self.clock = clock
        self.owner = owner or new_id()  # this process's name on the leases it holds
        self._relay_down_until: datetime | None = None
        self._relay_failures = 0
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    # --- recording -------------------------------------------------------------------

    def _from(self, email: Outgoing) -> Address:
        # The organisation's name on the configured address: the relay only sends for it.
        if not email.sender_name:
            return self.sender
        try:
            return mailbox(self.sender.addr_spec, email.sender_name)
        except InvalidAddress:
            return self.sender

    def _reply_to(self, email: Outgoing) -> Address | None:
        if not email.reply_to:
            return None
        try:
            return mailbox(email.reply_to)
        except InvalidAddress as exc:
            log.warning("reply-to left out", extra={"error": str(exc), **_log_meta(email.meta)})
            return None

    def _document(self, email: Outgoing, now: datetime) -> dict:
        message = compose(
            sender=self._from(email),
            to=email.to,
            rendered=email.rendered,
            idempotency_key=email.key,
            language=email.language,
            unsubscribe_url=email.unsubscribe_url,
            reply_to=self._reply_to(email),
            now=now,
        )
        return {
            "_id": new_id(),
            "idempotency_key": email.key,
            "to": email.to.addr_spec,
            "kind": email.kind,
            "status": PENDING,
            "attempts": 0,
            "last_error": None,
            "next_attempt_at": now,
            "lease_until": now + timedelta(seconds=self.config.lease_s),
            "lease_owner": self.owner,
            "created_at": now,
            "sent_at": None,
            "subject": email.rendered.subject,
            "mime": message.as_string(),
            **email.meta,
        }

    def enqueue_many(self, emails: list[Outgoing]) -> list[dict]:
        """Insert pending emails claimed by this process; those whose key exists are left out."""
        now = self.clock()
        docs = [self._document(email, now) for email in emails]
        return email_store.insert_new(db=self.db, emails=docs)

    def send_all(self, emails: Iterable[Outgoing], *, chunk: int = 50) -> Counter:
        """Record and send emails, `chunk` at a time: while one thread sends a chunk, the
        caller renders and records the next. Counts by outcome, plus "duplicate"."""
        counts: Counter = Counter()
        futures = []
        batch: list[Outgoing] = []

        def flush() -> None:
            docs = self.enqueue_many(batch)
            counts["duplicate"] += len(batch) - len(docs)
            futures.extend(self._sender().submit(self.deliver, doc) for doc in docs)
            batch.clear()

        try:
            for email in emails:
                batch.append(email)
                if len(batch) >= chunk:
                    flush()
            flush()
        finally:
            # Whatever happens, what was recorded is either sent here or left to the retry loop.
            for future in futures:
                counts[future.result()] += 1
        return counts

    def _sender(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify-send")
            return self._executor

    def close(self) -> None:
        """Stop the sending thread (after what it holds) and close the SMTP connection."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        self.mailer.close()

    def record_rejected(
        self, *, key: str, kind: str, to: str, error: str, meta: dict[str, Any] | None = None
    ) -> bool:
        """Record an email that cannot be sent at all (e.g. an invalid address) as failed."""
        now = self.clock()
        recorded = email_store.insert_one_new(
            db=self.db,
            email={
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
            },
        )
        if not recorded:
            return False
        log.warning("email rejected", extra={"kind": kind, "error": error, **_log_meta(meta)})
        return True

    def recipient(
        self,
        *,
        key: str,
        kind: str,
        email: str,
        name: str | None,
        tally: Tally,
        meta: dict[str, Any] | None = None,
    ) -> Address | None:
        """The mailbox to send to, or None after recording the email as failed (an address
        that cannot be used) and counting it in `tally`."""
        try:
            return mailbox(email, name)
        except InvalidAddress as exc:
            recorded = self.record_rejected(
                key=key, kind=kind, to=email, error=f"invalid address: {exc}", meta=meta
            )
            if recorded:
                tally.failed += 1
            else:
                tally.duplicate += 1
            return None

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

    def claim(self, email_id: str, now: datetime | None = None) -> dict | None:
        """Take the lease on a due pending email; None when another process holds it or it is done."""
        now = now or self.clock()
        lease_until = now + timedelta(seconds=self.config.lease_s)
        return email_store.claim(
            db=self.db, email_id=email_id, now=now, lease_until=lease_until, owner=self.owner
        )

    def send_due(self, now: datetime | None = None) -> dict[str, int]:
        """One pass of the retry loop: claim and send every pending email that is due."""
        counts: dict[str, int] = {}
        if self.relay_down():
            return counts
        now = now or self.clock()
        for email_id in email_store.due(db=self.db, now=now, limit=self.config.batch_size):
            doc = self.claim(email_id, now)
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
            invitation = invitations.get(
                db=self.db,
                invitation_id=doc["invitation_id"],
                fields=("status", "opted_out", "revoked"),
            )
            if invitation is None or invitation.get("status") == COMPLETED:
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
        email_store.finish(db=self.db, email_id=doc["_id"], changes=update)

    def _reschedule(self, doc: dict, *, attempts: int, error: str | None, at: datetime) -> None:
        update: dict[str, Any] = {"attempts": attempts, "next_attempt_at": at, "lease_until": at}
        if error is not None:
            update["last_error"] = error
        email_store.reschedule(db=self.db, email_id=doc["_id"], owner=self.owner, changes=update)

    def _relay_failed(self) -> None:
        with self._lock:
            self._relay_failures += 1
            delay = min(RELAY_PROBE_MAX_S, self.config.backoff_s(self._relay_failures))
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
