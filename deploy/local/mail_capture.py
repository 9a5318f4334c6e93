"""A real SMTP server that keeps what it receives: `make dev`'s mailbox and the tests' relay."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class CapturedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def part(self, subtype: str) -> str:
        """The text of the text/plain or text/html part."""
        body = self.message.get_body(preferencelist=(subtype,))
        return body.get_content() if body is not None else ""


@dataclass
class CaptureHandler:
    """aiosmtpd handler: stores messages; can refuse recipients or be 'down' with a 4xx."""

    messages: list[CapturedMail] = field(default_factory=list)
    reject_recipients: dict[str, str] = field(default_factory=dict)
    temporary_failure: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options
    ):
        if self.temporary_failure:
            return self.temporary_failure
        if address.lower() in self.reject_recipients:
            return self.reject_recipients[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope):
        if self.temporary_failure:
            return self.temporary_failure
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(CapturedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def snapshot(self) -> list[CapturedMail]:
        with self.lock:
            return list(self.messages)


class CaptureServer:
    """Start and stop an aiosmtpd SMTP server on a loopback port."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        from deploy.local.mongo_server import free_port

        self.handler = CaptureHandler()
        self.host = host
        self.port = port or free_port()
        self.controller = Controller(self.handler, hostname=host, port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> CaptureServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
