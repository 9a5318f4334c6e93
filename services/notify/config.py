"""The notify service's own knobs (retry back-off, leases, loop intervals), from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class NotifyConfig:
    """How often to retry and poll; the defaults suit production, tests shorten them."""

    retry_base_s: float = 30.0  # first retry after a temporary failure
    retry_max_s: float = 3600.0  # back-off ceiling
    max_attempts: int = 12  # then the email is recorded as failed (about five hours)
    lease_s: float = 120.0  # a claimed email is another process's to retry after this
    retry_poll_s: float = 5.0  # how often the retry loop looks for due emails
    scheduler_poll_s: float = 30.0  # how often reminders and closing dates are checked
    batch_size: int = 200  # emails claimed per pass of the retry loop

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> NotifyConfig:
        env = os.environ if environ is None else environ

        def number(name: str, default: float) -> float:
            return float(env.get(f"RAPPORT_NOTIFY_{name}", default))

        return cls(
            retry_base_s=number("RETRY_BASE_S", cls.retry_base_s),
            retry_max_s=number("RETRY_MAX_S", cls.retry_max_s),
            max_attempts=int(number("MAX_ATTEMPTS", cls.max_attempts)),
            lease_s=number("LEASE_S", cls.lease_s),
            retry_poll_s=number("RETRY_POLL_S", cls.retry_poll_s),
            scheduler_poll_s=number("SCHEDULER_POLL_S", cls.scheduler_poll_s),
            batch_size=int(number("BATCH_SIZE", cls.batch_size)),
        )

    def backoff_s(self, attempts: int) -> float:
        """Delay before attempt `attempts + 1`: doubling from retry_base_s, capped."""
        return min(self.retry_max_s, self.retry_base_s * 2 ** max(0, attempts - 1))
