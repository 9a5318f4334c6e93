"""The console's people: users of an organisation, their roles, passwords and what each may do.

Roles (DESIGN.md "The console"): `admin` everything of the organisation, `manager` programs,
waves, results and cases, `viewer` reads, `seller` only their own relationships. Every check
is made here, in the service layer, so a page and an API answer the same: a role that may not
change something gets a 403, a resource of another organisation (or, for a seller, of
another seller) a 404.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from marshmallow import ValidationError, validate

from services.survey.errors import Forbidden, NotFound, ValidationFailed
from services.survey.organisations import ensure_organisation
from shared import clock
from shared.ids import new_id
from shared.store import Database
from shared.store import roster as roster_store
from shared.store import users as user_store

ADMIN, MANAGER, VIEWER, SELLER = "admin", "manager", "viewer", "seller"
ROLES = (ADMIN, MANAGER, VIEWER, SELLER)
PASSWORD_MIN = 10
PASSWORD_MAX = 200  # argon2 takes any length; a bound keeps one request's hashing short

# What each role may do; a view names the action, the service checks it.
READ_PROGRAMS, CHANGE_PROGRAMS = "read_programs", "change_programs"
READ_ORGANISATION, CHANGE_ORGANISATION = "read_organisation", "change_organisation"
MANAGE_USERS = "manage_users"
PERMISSIONS: dict[str, frozenset[str]] = {
    READ_PROGRAMS: frozenset(ROLES),
    CHANGE_PROGRAMS: frozenset({ADMIN, MANAGER}),
    READ_ORGANISATION: frozenset({ADMIN, MANAGER, VIEWER}),
    CHANGE_ORGANISATION: frozenset({ADMIN}),
    MANAGE_USERS: frozenset({ADMIN}),
}

# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~0.1 s a sign-in on
# one core, and a few gunicorn workers hashing at once stay within memory
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_valid_email = validate.Email(error="not an email address")


@dataclass(frozen=True)
class Person:
    """A signed-in user as the console sees them (never their password hash)."""

    id: str
    org_id: str
    email: str
    role: str
    name: str = ""
    # sessions signed in before this time are no longer valid (sign-out ends every session)
    sessions_valid_after: datetime | None = None

    # Flask-Login's user protocol
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.id


def person_of(user: dict[str, Any]) -> Person:
    """The Person of a stored user document."""
    return Person(
        id=user["_id"],
        org_id=user["org_id"],
        email=user["email"],
        role=user["role"],
        name=user.get("name") or "",
        sessions_valid_after=clock.aware(user.get("sessions_valid_after")),
    )


def normalised_email(email: str) -> str:
    """The stored form of an email: trimmed, lower case; ValidationFailed when not an address."""
    cleaned = (email or "").strip().lower()
    try:
        _valid_email(cleaned)
    except ValidationError:
        raise ValidationFailed(
            "email: not an email address", details={"email": ["not an email address"]}
        ) from None
    return cleaned


def check_password_rules(password: str) -> None:
    """ValidationFailed when a new password is too short or too long."""
    if not PASSWORD_MIN <= len(password or "") <= PASSWORD_MAX:
        problem = f"use {PASSWORD_MIN} to {PASSWORD_MAX} characters"
        raise ValidationFailed(f"password: {problem}", details={"password": [problem]})


def hash_password(password: str) -> str:
    """The stored form of a password: its argon2id hash (salt and parameters included)."""
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one hashed; False for a user without a password."""
    if not password_hash or not password or len(password) > PASSWORD_MAX:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _nobody_hash() -> str:
    # verified against when the email is unknown: the answer takes as long either way
    return _hasher.hash(new_id())


def authenticate(*, db: Database, email: str, password: str) -> Person | None:
    """The person whose email and password these are, or None (same time for an unknown email)."""
    user = user_store.find_by_email(db=db, email=(email or "").strip().lower())
    if user is None:
        password_matches(_nobody_hash(), password)
        return None
    if not password_matches(user.get("password_hash"), password):
        return None
    if _hasher.check_needs_rehash(user["password_hash"]):
        user_store.update(
            db=db, user_id=user["_id"], changes={"password_hash": hash_password(password)}
        )
    return person_of(user)


def create_user(
    *,
    db: Database,
    org_id: str,
    email: str,
    role: str,
    name: str = "",
    password: str | None = None,
) -> Person:
    """A new user of the organisation; ValidationFailed naming the field when input is bad."""
    email = normalised_email(email)
    if role not in ROLES:
        problem = f"one of {', '.join(ROLES)}"
        raise ValidationFailed(f"role: {problem}", details={"role": [problem]})
    if password is not None:
        check_password_rules(password)
    user = {
        "_id": new_id(),
        "org_id": org_id,
        "email": email,
        "role": role,
        "name": (name or "").strip()[:200],
        "password_hash": hash_password(password) if password is not None else None,
        "created_at": clock.stored_now(),
    }
    if not user_store.insert(db=db, user=user):
        problem = "a user with this email exists already"
        raise ValidationFailed(f"email: {problem}", details={"email": [problem]})
    return person_of(user)


def ensure_admin(*, db: Database, org_name: str, email: str, password: str) -> Person:
    """An admin of the organisation with this email and password (RAPPORT_BOOTSTRAP_ADMIN):
    created when missing, else given this password; another organisation's user is refused."""
    org_id = ensure_organisation(db=db, name=org_name)
    check_password_rules(password)
    existing = user_store.find_by_email(db=db, email=normalised_email(email))
    if existing is None:
        return create_user(db=db, org_id=org_id, email=email, role=ADMIN, password=password)
    if existing["org_id"] != org_id:
        raise ValidationFailed(f"{email} is a user of another organisation")
    changes: dict[str, Any] = {"role": ADMIN}
    if not password_matches(existing.get("password_hash"), password):
        changes["password_hash"] = hash_password(password)
    return person_of(user_store.update(db=db, user_id=existing["_id"], changes=changes))


def current_person(*, db: Database, user_id: str) -> Person | None:
    """The person of a session's user id, or None when the user is gone."""
    user = user_store.get(db=db, user_id=user_id, fields=_PERSON_FIELDS)
    return person_of(user) if user else None


_PERSON_FIELDS = ("org_id", "email", "role", "name", "sessions_valid_after")


def end_sessions(*, db: Database, person: Person, now: datetime) -> None:
    """Sign the person out everywhere: sessions signed in before `now` stop working."""
    user_store.update(db=db, user_id=person.id, changes={"sessions_valid_after": now})


def list_users(*, db: Database, person: Person) -> list[dict[str, Any]]:
    """The users of the person's organisation (admins only)."""
    require(person, MANAGE_USERS)
    return user_store.list_for(db=db, org_id=person.org_id)


# --- access ---------------------------------------------------------------------------------


def may(person: Person, action: str) -> bool:
    """Whether the person's role allows this action."""
    return person.role in PERMISSIONS[action]


def require(person: Person, action: str) -> None:
    """Forbidden (403) unless the person's role allows this action."""
    if not may(person, action):
        raise Forbidden(f"a {person.role} may not do this")


def sees_program(*, db: Database, person: Person, program_id: str) -> bool:
    """A seller sees a program they sell in; everyone else every program of the organisation."""
    if person.role != SELLER:
        return True
    found = roster_store.find_seller(
        db=db, program_id=program_id, email=person.email, org_id=person.org_id, fields=("_id",)
    )
    return found is not None


def require_program(*, db: Database, person: Person, program_id: str) -> None:
    """NotFound (404) unless the person may see this program (sellers: only their own)."""
    require(person, READ_PROGRAMS)
    if not sees_program(db=db, person=person, program_id=program_id):
        raise NotFound("program not found")
