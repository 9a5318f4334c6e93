"""The SMTP adapter: one reused connection, TLS and authentication from SMTP_URL, a send rate.

``smtp://host:25`` plain, ``smtp://host:587?starttls=1`` STARTTLS, ``smtps://host:465``
implicit TLS, ``smtp://user:pass@host`` authenticates (percent-encode special characters).
Also ``timeout=<s>``, ``cafile=<path>`` (a private CA) and ``verify=0`` (no certificate
check: local relays only). Failures are sorted into temporary (retry later) and
permanent (record and move on).
"""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

_TRUE = {"1", "true", "yes", "on"}


class DeliveryError(Exception):
    """The relay did not take a message."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TemporaryFailure(DeliveryError):
    """Try again later: the relay is unreachable, timed out or answered 4xx."""

    def __init__(self, message: str, *, code: int | None = None, connection: bool = False) -> None:
        super().__init__(message, code=code)
        # True when the relay itself is unavailable: other messages would fail too.
        self.connection = connection


class PermanentFailure(DeliveryError):
    """The relay refused this message for good (5xx)."""


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect, parsed from SMTP_URL."""

    host: str
    port: int
    security: str = "plain"  # plain, starttls or tls
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0
    verify: bool = True
    cafile: str | None = None  # a private CA's certificate (PEM), else the system's

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        """Parse ``smtp://`` or ``smtps://`` with optional credentials and ``?starttls=1``."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, not {parts.scheme}://")
        if not parts.hostname:
            raise ValueError("SMTP_URL has no host")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.scheme == "smtps":
            security, default_port = "tls", 465
        elif query.get("starttls", "").lower() in _TRUE:
            security, default_port = "starttls", 587
        else:
            security, default_port = "plain", 25
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=float(query.get("timeout", "10")),
            verify=query.get("verify", "1").lower() in _TRUE,
            cafile=query.get("cafile") or None,
        )

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.cafile)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


class RateLimiter:
    """At most `rate_per_s` acquisitions a second, spaced evenly; 0 or less means no limit."""

    def __init__(self, rate_per_s: float, *, clock=time.monotonic, sleep=time.sleep) -> None:
        self.interval = 1.0 / rate_per_s if rate_per_s > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            self._sleep(wait)


def _classify(code: int, text: str) -> DeliveryError:
    if 400 <= code < 500:
        # 421: the service is closing the channel; nothing else will go through either.
        return TemporaryFailure(f"{code} {text}", code=code, connection=code == 421)
    return PermanentFailure(f"{code} {text}", code=code)


def _reply_text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


class Mailer:
    """Sends messages over one SMTP connection, reopened when it drops; thread-safe."""

    def __init__(self, url: str, *, rate_per_s: float = 0.0) -> None:
        self.target = SmtpTarget.from_url(url)
        self.rate = RateLimiter(rate_per_s)
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def _connect(self) -> smtplib.SMTP:
        t = self.target
        if t.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                t.host, t.port, timeout=t.timeout, context=t.tls_context()
            )
        else:
            smtp = smtplib.SMTP(t.host, t.port, timeout=t.timeout)
        try:
            smtp.ehlo()
            if t.security == "starttls":
                smtp.starttls(context=t.tls_context())
                smtp.ehlo()
            if t.username:
                smtp.login(t.username, t.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: bytes, *, sender: str, recipients: list[str]) -> None:
        """Hand one serialised message to the relay; raises TemporaryFailure or PermanentFailure."""
        self.rate.acquire()
        with self._lock:
            try:
                refused = self._transmit(message, sender, recipients)
            except smtplib.SMTPRecipientsRefused as exc:
                self._after_refusal(exc.recipients.values())
                raise self._worst(exc.recipients.values()) from exc
            except smtplib.SMTPAuthenticationError as exc:
                # A configuration problem, not this message's: keep it for later.
                self._drop()
                raise TemporaryFailure(
                    f"authentication failed: {exc.smtp_code}", code=exc.smtp_code, connection=True
                ) from exc
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                self._after_refusal([(exc.smtp_code, exc.smtp_error)])
                raise _classify(exc.smtp_code, _reply_text(exc.smtp_error)) from exc
            except smtplib.SMTPResponseException as exc:
                self._drop()
                error = _classify(exc.smtp_code, _reply_text(exc.smtp_error))
                if isinstance(error, TemporaryFailure):
                    error.connection = True
                raise error from exc
            except (TimeoutError, smtplib.SMTPException, OSError) as exc:
                # Refused, reset, timed out, TLS failure, disconnected: the relay is away.
                self._drop()
                raise TemporaryFailure(f"relay unavailable: {exc!r}", connection=True) from exc
            if refused:
                # Only partly refused; we send one recipient a message so this is rare.
                raise self._worst(refused.values())

    def _transmit(self, message: bytes, sender: str, recipients: list[str]) -> dict:
        if self._smtp is not None:
            try:
                return self._smtp.sendmail(sender, recipients, message)
            except smtplib.SMTPServerDisconnected:
                # The relay closed an idle connection; open a new one and try once more.
                self._drop()
        self._smtp = self._connect()
        return self._smtp.sendmail(sender, recipients, message)

    @staticmethod
    def _worst(replies) -> DeliveryError:
        errors = [_classify(code, _reply_text(text)) for code, text in replies]
        permanent = [e for e in errors if isinstance(e, PermanentFailure)]
        return permanent[0] if permanent else errors[0]

    def _after_refusal(self, replies) -> None:
        # smtplib closes the socket itself on 421; drop our handle then.
        if any(code == 421 for code, _ in replies) or self._smtp is None or not self._alive():
            self._drop()

    def _alive(self) -> bool:
        return self._smtp is not None and self._smtp.sock is not None

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.close()
            except Exception:
                pass

    def close(self) -> None:
        """Say QUIT and close the connection if one is open."""
        with self._lock:
            smtp, self._smtp = self._smtp, None
            if smtp is not None:
                try:
                    smtp.quit()
                except Exception:
                    smtp.close()
