"""Signing in: sign-in links (signed, single use, 15 minutes), the rate limits, the link email.

A link carries `{"u": user id, "l": link id}` signed with RAPPORT_SECRET_KEY (itsdangerous,
with its time stamp); using it records the link id, so a second use finds it taken. Failed
sign-ins are counted per address and per account in MongoDB, one counter per fixed window,
so every gunicorn worker enforces the same limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from services.survey.console.people import Person, current_person
from shared import clock
from shared.ids import new_id
from shared.settings import Settings
from shared.store import Database
from shared.store import emails as email_store
from shared.store import users as user_store

LINK_LIFETIME = timedelta(minutes=15)
_SALT = "rapport.sign-in-link.v1"
SIGN_IN_LINK_KIND = "sign_in_link"


class LinkNotValid(Exception):
    """A sign-in link that is tampered, expired, used already or whose user is gone."""


class TooManyAttempts(Exception):
    """Sign-in refused for now: too many failures from this address or for this account."""

    def __init__(self, retry_after_s: int) -> None:
        self.minutes = max(1, math.ceil(retry_after_s / 60))
        super().__init__(f"Too many attempts: try again in {self.minutes} minutes")


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    # a list of keys: itsdangerous signs with the last and verifies with all (rotation)
    return URLSafeTimedSerializer(list(reversed(settings.secret_keys)), salt=_SALT)


def sign_in_link(*, settings: Settings, person: Person) -> str:
    """A new single-use sign-in link for the person, valid for 15 minutes."""
    token = _serializer(settings).dumps({"u": person.id, "l": new_id()})
    return f"{settings.public_url}/app/sign-in/link/{token}"


def use_sign_in_link(*, db: Database, settings: Settings, token: str) -> Person:
    """The person a link signs in, recording it as used; LinkNotValid otherwise."""
    if not token or len(token) > 400:
        raise LinkNotValid
    try:
        value, signed_at = _serializer(settings).loads(
            token, max_age=int(LINK_LIFETIME.total_seconds()), return_timestamp=True
        )
    except (SignatureExpired, BadSignature):
        raise LinkNotValid from None
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in "ul"):
        raise LinkNotValid
    person = current_person(db=db, user_id=value["u"])
    if person is None:
        raise LinkNotValid
    now = clock.now()
    used = user_store.use_link(
        db=db,
        link_id=value["l"],
        user_id=person.id,
        now=now,
        expires_at=signed_at + LINK_LIFETIME,
    )
    if not used:
        raise LinkNotValid
    return person


# --- rate limits ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The current counting window of the sign-in limits."""

    index: int
    ends_at: datetime


def _window(settings: Settings, now: datetime) -> Window:
    length = max(1, settings.sign_in_window_s)
    index = int(now.timestamp()) // length
    ends = datetime.fromtimestamp((index + 1) * length, tz=now.tzinfo)
    return Window(index, ends)


def _keys(settings: Settings, window: Window, address: str, email: str) -> dict[str, int]:
    """Each counter of this attempt and the failures it may hold before it refuses."""
    keys = {f"address:{address}:{window.index}": settings.sign_in_attempts_per_address}
    if email:
        keys[f"account:{email.strip().lower()[:254]}:{window.index}"] = (
            settings.sign_in_attempts_per_account
        )
    return keys


def check_attempts(*, db: Database, settings: Settings, address: str, email: str) -> None:
    """TooManyAttempts when this address or this account reached its limit in this window."""
    now = clock.now()
    window = _window(settings, now)
    limits = _keys(settings, window, address, email)
    counted = user_store.failures(db=db, keys=limits)
    if any(counted.get(key, 0) >= limit for key, limit in limits.items()):
        raise TooManyAttempts(int((window.ends_at - now).total_seconds()))


def count_failed_attempt(*, db: Database, settings: Settings, address: str, email: str) -> None:
    """Count one failed sign-in against the address and the account."""
    window = _window(settings, clock.now())
    for key in _keys(settings, window, address, email):
        user_store.count_failure(db=db, key=key, expires_at=window.ends_at)


# --- the sign-in email ----------------------------------------------------------------------


def queue_sign_in_email(*, db: Database, settings: Settings, person: Person) -> None:
    """Record the email with a new sign-in link in notify's queue (`emails`, pending): notify's
    retry loop sends it, and cancels it once the link would have expired."""
    now = clock.now()
    link = sign_in_link(settings=settings, person=person)
    message = EmailMessage(policy=SMTP)
    message["From"] = settings.mail_from
    message["To"] = person.email
    message["Subject"] = "Your Rapport sign-in link"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="rapport.invalid")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        "Open this link to sign in to Rapport. It works once, for 15 minutes:\n\n"
        f"{link}\n\nIf you did not ask for it, you can ignore this email.\n"
    )
    email_id = new_id()
    email_store.insert_one_new(
        db=db,
        email={
            "_id": email_id,
            "idempotency_key": f"{SIGN_IN_LINK_KIND}:{email_id}",
            "to": person.email,
            "kind": SIGN_IN_LINK_KIND,
            "status": "pending",
            "attempts": 0,
            "last_error": None,
            "next_attempt_at": now,
            "lease_until": now,  # no process holds it: the next retry pass sends it
            "created_at": now,
            "sent_at": None,
            "expires_at": now + LINK_LIFETIME,
            "subject": message["Subject"],
            "mime": message.as_string(),
            "org_id": person.org_id,
        },
    )
