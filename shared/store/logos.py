"""The `logos` collection: an organisation's logo, one document per organisation (`_id` = org_id).

Kept apart from the organisation document so that reading an organisation's branding (every
survey page, every email) never carries the image.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import Binary
from pymongo.database import Database


def put(
    *, db: Database, org_id: str, content_type: str, data: bytes, digest: str, now: datetime
) -> None:
    """Store (or replace) the organisation's logo."""
    db.logos.replace_one(
        {"_id": org_id},
        {"content_type": content_type, "data": Binary(data), "sha256": digest, "updated_at": now},
        upsert=True,
    )


def get(*, db: Database, org_id: str, with_data: bool = True) -> dict[str, Any] | None:
    """The organisation's logo (without its bytes when `with_data` is False), or None."""
    return db.logos.find_one({"_id": org_id}, None if with_data else {"data": 0})
