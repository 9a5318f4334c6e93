"""Organisations, their branding and their API keys. Keys are random, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.survey.errors import NotFound
from shared.organisation import (
    BRANDING_FIELDS,
    Branding,
    branding_of,
    find_organisation,
    load_branding,
    logo_path,
)
from shared.store import Database, organisations

KEY_PREFIX = "rk_"


def hash_key(api_key: str) -> str:
    """The stored form of an API key (keys carry 256 bits, so a plain hash suffices)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def ensure_organisation(*, db: Database, name: str) -> str:
    """The id of the organisation called `name`, created when missing."""
    return organisations.ensure_named(db=db, name=name, now=datetime.now(UTC))


def create_api_key(
    *, db: Database, org_id: str, api_key: str | None = None, label: str = ""
) -> str:
    """Store a new key for the organisation and return it in clear, once."""
    api_key = api_key or KEY_PREFIX + secrets.token_urlsafe(32)
    organisations.add_api_key(
        db=db, key_hash=hash_key(api_key), org_id=org_id, label=label, now=datetime.now(UTC)
    )
    return api_key


def organisation_for_key(*, db: Database, api_key: str) -> str | None:
    """The org_id an API key belongs to, or None."""
    if not api_key:
        return None
    return organisations.org_of_api_key(db=db, key_hash=hash_key(api_key))


def bootstrap(*, db: Database, api_key: str) -> str:
    """Make sure organisation `default` exists with this API key (RAPPORT_BOOTSTRAP_API_KEY)."""
    org_id = ensure_organisation(db=db, name="default")
    create_api_key(db=db, org_id=org_id, api_key=api_key, label="bootstrap")
    return org_id


def organisation_view(organisation: Mapping[str, Any]) -> dict[str, Any]:
    """`GET /api/v1/organisation`: its id, internal name and every branding field (null when unset).

    `display_name` is the stored one, not the stand-in that respondents read without it.
    """
    view: dict[str, Any] = {"id": str(organisation["_id"]), "name": organisation.get("name")}
    view.update({name: organisation.get(name) for name in BRANDING_FIELDS})
    view["shown_name"] = branding_of(organisation).display_name
    version = organisation.get("logo_version")
    view["logo_url"] = logo_path(view["id"], version) if version else None
    return view


def get_organisation(*, db: Database, org_id: str) -> dict[str, Any]:
    """The organisation's view; NotFound if it is gone."""
    organisation = find_organisation(db, org_id)
    if organisation is None:
        raise NotFound("organisation not found")
    return organisation_view(organisation)


def update_branding(*, db: Database, org_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Set the given (already validated) branding fields; a null or empty value clears one."""
    unknown = set(changes) - set(BRANDING_FIELDS)
    if unknown:
        raise ValueError(f"not branding fields: {', '.join(sorted(unknown))}")
    cleaned = {k: v.strip() if isinstance(v, str) else v for k, v in changes.items()}
    cleared = [k for k, v in cleaned.items() if v in (None, "")]
    kept = {k: v for k, v in cleaned.items() if k not in cleared}
    organisation = organisations.update(
        db=db, org_id=org_id, changes={"updated_at": datetime.now(UTC), **kept}, cleared=cleared
    )
    if organisation is None:
        raise NotFound("organisation not found")
    _branding_cache.forget(db, org_id)
    return organisation_view(organisation)


class _BrandingCache:
    """Each organisation's branding, kept briefly: every survey page shows it. A change made
    in another process shows within `ttl_s`."""

    def __init__(self, ttl_s: float = 30.0) -> None:
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, Branding]] = {}

    def get(self, db: Database, org_id: str) -> Branding:
        key = (db.name, org_id)
        with self._lock:
            cached = self._entries.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        branding = load_branding(db, org_id)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self._ttl, branding)
        return branding

    def forget(self, db: Database, org_id: str) -> None:
        with self._lock:
            self._entries.pop((db.name, org_id), None)


_branding_cache = _BrandingCache()


def forget_branding(db: Database, org_id: str) -> None:
    """Drop the organisation's cached branding (after a change such as a new logo)."""
    _branding_cache.forget(db, org_id)


def cached_branding(db: Database, org_id: str) -> Branding:
    """The organisation's branding for a survey page (cached for a few seconds)."""
    return _branding_cache.get(db, org_id)
