"""Document ids: random, unguessable, URL-safe strings."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A new 32-character hex id."""
    return uuid.uuid4().hex
