"""Building MIME messages safely: validated addresses, one-line headers, text and HTML parts."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr


class _HeaderClasses(HeaderRegistry):
    """The stdlib registry builds a new class on every lookup; build each one once."""

    def __init__(self) -> None:
        super().__init__()
        self._built: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = super().__getitem__(name)
        return built


# Every part is 7-bit (quoted-printable or base64), so the stored text is plain ASCII.
# Long lines (up to the RFC limit) rather than Python's odd folding of ASCII subjects.
_POLICY = policy.SMTP.clone(cte_type="7bit", max_line_length=998, header_factory=_HeaderClasses())
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


class InvalidAddress(ValueError):
    """An email address we will not put in a header."""


@dataclass(frozen=True)
class RenderedEmail:
    """What a template produced: a subject and the two bodies."""

    subject: str
    text: str
    html: str


def one_line(value: object, *, limit: int = 200) -> str:
    """A header-safe single line: control characters (CR, LF, NUL...) become spaces."""
    text = _CONTROL.sub(" ", str(value or "")).strip()
    return re.sub(r" {2,}", " ", text)[:limit]


def mailbox(email: str, name: str | None = None) -> Address:
    """A validated recipient; raises InvalidAddress for CR/LF, lists, or anything unparsable."""
    if not isinstance(email, str) or not email or len(email) > 254:
        raise InvalidAddress("empty or too long")
    if _CONTROL.search(email):
        raise InvalidAddress("address contains control characters")
    try:
        address = Address(display_name=one_line(name, limit=120), addr_spec=email.strip())
    except Exception as exc:  # the parser raises several kinds of defects
        raise InvalidAddress(f"not a single valid address: {type(exc).__name__}") from None
    if not address.username or not address.domain or not address.domain.isascii():
        raise InvalidAddress("not a single valid address")
    return address


def sender_address(mail_from: str) -> Address:
    """The configured From (``Name <addr>``) as an Address."""
    pairs = getaddresses([mail_from])
    if len(pairs) != 1:
        raise InvalidAddress("mail_from must be one address")
    name, email = pairs[0] if pairs[0][1] else parseaddr(mail_from)
    return mailbox(email, name)


def message_id(idempotency_key: str, sender: Address) -> str:
    """A Message-ID derived from the idempotency key: a second copy is recognisable as one."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{sender.domain or 'rapport.local'}>"


def compose(
    *,
    sender: Address,
    to: Address,
    rendered: RenderedEmail,
    idempotency_key: str,
    language: str = "en",
    unsubscribe_url: str | None = None,
    reply_to: Address | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text, then HTML) with header-safe values only."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = to
    if reply_to is not None:
        message["Reply-To"] = reply_to
    message["Subject"] = one_line(rendered.subject, limit=250)
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = message_id(idempotency_key, sender)
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        if _CONTROL.search(unsubscribe_url) or ">" in unsubscribe_url:
            raise ValueError("unsubscribe url is not header-safe")
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    # After the parts exist: making the message multipart moves Content-* headers into them.
    message["Content-Language"] = one_line(language, limit=20)
    return message
