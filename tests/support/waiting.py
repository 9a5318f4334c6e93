"""Polling helpers: wait for a condition with a deadline instead of sleeping blindly."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for[T](
    condition: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.05, message: str = ""
) -> T:
    """Return the first truthy value of condition(), or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or condition}")
        time.sleep(interval)
