"""An organisation as respondents and sellers meet it: the name they read, who emails come from.

The survey pages and the notify emails both read it from the `organisations` collection,
so it lives here (the services never import each other).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from shared.store import Database, organisations

# The names Rapport gives organisations itself; nobody outside should ever read them.
INTERNAL_NAMES = frozenset({"", "default"})


@dataclass(frozen=True)
class Branding:
    """What an organisation shows of itself (API.md `GET /api/v1/organisation`); None = not set."""

    display_name: str | None = None
    sender_name: str | None = None
    reply_to: str | None = None
    accent_color: str | None = None
    privacy_url: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    logo_version: str | None = None  # set by PUT /api/v1/organisation/logo, not by PATCH

    @property
    def from_name(self) -> str | None:
        """The display name of the From header: the sender name, else the display name."""
        return self.sender_name or self.display_name


BRANDING_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Branding))


def branding_of(organisation: Mapping[str, Any] | None) -> Branding:
    """The branding of an organisation document; without a display name, its own name
    stands in unless that is an internal one such as `default`."""
    organisation = organisation or {}
    values = {
        name: (organisation.get(name) or "").strip() or None
        for name in BRANDING_FIELDS
        if isinstance(organisation.get(name), str | type(None))
    }
    if values.get("display_name") is None:
        own = organisation.get("name")
        if isinstance(own, str) and own.strip().lower() not in INTERNAL_NAMES:
            values["display_name"] = own.strip()
    return Branding(**values)


def logo_path(org_id: str, version: str) -> str:
    """The public path of an organisation's logo version (served by the survey service)."""
    return f"/logo/{org_id}/{version}"


def find_organisation(db: Database, org_id: str) -> dict[str, Any] | None:
    """The organisation document of an `org_id` (the str of its ObjectId), or None."""
    return organisations.get(db=db, org_id=org_id)


def load_branding(db: Database, org_id: str) -> Branding:
    """The organisation's branding; an unknown organisation has none."""
    return branding_of(find_organisation(db, org_id))
