"""The time, in UTC, as every module reads it and as MongoDB stores it."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def stored_now() -> datetime:
    """The current time cut to milliseconds, as MongoDB stores it: it equals what reads back."""
    current = datetime.now(UTC)
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


def aware(value: datetime | None) -> datetime | None:
    """A stored time as UTC-aware: a client without tz_aware reads naive UTC datetimes."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
