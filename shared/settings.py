"""Settings read from the environment, with the embedded defaults of DESIGN.md."""

from __future__ import annotations

import os
from dataclasses import dataclass

# RAPPORT_ENV: production unless `make dev` (dev) or a test (test) says otherwise; only dev
# and test may run without RAPPORT_SECRET_KEY (on the public DEV_SECRET_KEY) or a short one.
ENVIRONMENTS = ("production", "dev", "test")
# Public, so it signs links only where RAPPORT_ENV says `make dev` or the tests.
DEV_SECRET_KEY = "dev-insecure-secret-change-me"
MIN_SECRET_KEY_BYTES = 32
# A key containing one of these is what docker-compose.yml or deploy/k8s/ ships, never a secret.
PLACEHOLDER_MARKS = ("change-me", "changeme", "replace-me", "placeholder")
KEY_COMMAND = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


class SettingsError(ValueError):
    """A setting no process may start with; the message names the variable and the fix."""


def _split_keys(raw: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in raw.split(",") if k.strip())


def check_secret_keys(keys: tuple[str, ...]) -> None:
    """Refuse a missing, short (under 32 bytes) or placeholder RAPPORT_SECRET_KEY (every key)."""
    if not keys:
        raise SettingsError(
            "RAPPORT_SECRET_KEY is not set: links would be signed with a public key; "
            f"set it to the output of {KEY_COMMAND}"
        )
    for n, key in enumerate(keys, start=1):
        which = "RAPPORT_SECRET_KEY" if len(keys) == 1 else f"RAPPORT_SECRET_KEY (key {n})"
        if any(mark in key.lower() for mark in PLACEHOLDER_MARKS):
            raise SettingsError(
                f"{which} is the placeholder the deployment files ship; "
                f"replace it with the output of {KEY_COMMAND}"
            )
        if len(key.encode()) < MIN_SECRET_KEY_BYTES:
            raise SettingsError(
                f"{which} is {len(key.encode())} bytes, fewer than {MIN_SECRET_KEY_BYTES}; "
                f"use the output of {KEY_COMMAND}"
            )


@dataclass(frozen=True)
class Settings:
    """Everything a Rapport process reads from its environment."""

    mongo_url: str | None = None
    mongo_db: str = "rapport"
    # The database client's patience (pymongo). The server monitor's check waits at most
    # `mongo_connect_timeout_s`; when it gives up, pymongo marks the server unknown and
    # cancels every operation in flight on it (`_OperationCancelled`). A single-threaded
    # local server cannot answer that check while it works through a long bulk write, so
    # the default outlasts any one round trip Rapport makes (bulk writes are batched to stay
    # well under it); on MongoDB it only delays noticing a dead server. No socket timeout
    # by default (0): a long write is not cut off by the client; the queue retries a
    # consumer whose connection is really lost.
    mongo_connect_timeout_s: float = 120.0
    mongo_socket_timeout_s: float = 0.0
    mongo_server_selection_timeout_s: float = 5.0
    amqp_url: str | None = None
    smtp_url: str | None = None
    # The first key signs; every key verifies (rotation: prepend the new key). The default
    # serves settings built in code (tests, benchmarks); from_env refuses it in production.
    secret_keys: tuple[str, ...] = (DEV_SECRET_KEY,)
    public_url: str = "http://127.0.0.1:8000"
    bootstrap_api_key: str | None = None
    # RAPPORT_BOOTSTRAP_ADMIN=email:password: an admin of organisation `default` at start
    bootstrap_admin: str | None = None
    # the console: how long a sign-in lasts, and the sign-in rate limits (per window)
    session_hours: float = 12.0
    sign_in_window_s: int = 900
    sign_in_attempts_per_address: int = 20
    sign_in_attempts_per_account: int = 5
    bus_namespace: str = "rapport"
    bus_prefetch: int = 16
    bus_max_retries: int = 3
    bus_retry_delay_ms: int = 2000
    bus_delivery_limit: int = 5
    max_body_bytes: int = 5 * 1024 * 1024
    log_json: bool = True
    log_level: str = "INFO"
    outbox_relay_after_s: float = 5.0
    # how often the scoring worker refreshes open waves' provisional results
    scoring_refresh_s: float = 1.0
    # A wave of at most this many invitations is recomputed whole on each completion: results
    # current at once, and a burst of completions costs one recompute (~0.3 s at 2,000 on the
    # local stand-in, under a second at this size). A bigger one gets its accounts' slices (a
    # dozen point reads each, whatever the wave's size) and the periodic refresh.
    whole_wave_max_invited: int = 5000
    # accounts listed in the program manager's digest, highest priority first
    priority_accounts_shown: int = 10
    mail_from: str = "Rapport <rapport@localhost>"
    mail_rate_per_s: float = 100.0

    @property
    def secret_key(self) -> str:
        return self.secret_keys[0]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build settings from environment variables (names in API.md); SettingsError when a
        process must not start with them (RAPPORT_SECRET_KEY outside dev and test)."""
        env = os.environ if environ is None else environ
        environment = env.get("RAPPORT_ENV", "").strip().lower() or "production"
        if environment not in ENVIRONMENTS:
            raise SettingsError(f"RAPPORT_ENV must be one of {', '.join(ENVIRONMENTS)}")
        keys = _split_keys(env.get("RAPPORT_SECRET_KEY", ""))
        if environment == "production":
            check_secret_keys(keys)
        return cls(
            mongo_url=env.get("MONGO_URL") or None,
            mongo_db=env.get("MONGO_DB", "rapport"),
            mongo_connect_timeout_s=float(
                env.get("RAPPORT_MONGO_CONNECT_TIMEOUT_S", cls.mongo_connect_timeout_s)
            ),
            mongo_socket_timeout_s=float(
                env.get("RAPPORT_MONGO_SOCKET_TIMEOUT_S", cls.mongo_socket_timeout_s)
            ),
            mongo_server_selection_timeout_s=float(
                env.get(
                    "RAPPORT_MONGO_SERVER_SELECTION_TIMEOUT_S",
                    cls.mongo_server_selection_timeout_s,
                )
            ),
            amqp_url=env.get("AMQP_URL") or None,
            smtp_url=env.get("SMTP_URL") or None,
            secret_keys=keys or (DEV_SECRET_KEY,),
            public_url=env.get("RAPPORT_PUBLIC_URL", cls.public_url).rstrip("/"),
            bootstrap_api_key=env.get("RAPPORT_BOOTSTRAP_API_KEY") or None,
            bootstrap_admin=env.get("RAPPORT_BOOTSTRAP_ADMIN") or None,
            session_hours=float(env.get("RAPPORT_SESSION_HOURS", cls.session_hours)),
            sign_in_window_s=int(env.get("RAPPORT_SIGN_IN_WINDOW_S", cls.sign_in_window_s)),
            sign_in_attempts_per_address=int(
                env.get("RAPPORT_SIGN_IN_ATTEMPTS_PER_ADDRESS", cls.sign_in_attempts_per_address)
            ),
            sign_in_attempts_per_account=int(
                env.get("RAPPORT_SIGN_IN_ATTEMPTS_PER_ACCOUNT", cls.sign_in_attempts_per_account)
            ),
            bus_namespace=env.get("RAPPORT_BUS_NAMESPACE", "rapport"),
            bus_prefetch=int(env.get("RAPPORT_BUS_PREFETCH", "16")),
            bus_max_retries=int(env.get("RAPPORT_BUS_MAX_RETRIES", "3")),
            bus_retry_delay_ms=int(env.get("RAPPORT_BUS_RETRY_DELAY_MS", "2000")),
            bus_delivery_limit=int(env.get("RAPPORT_BUS_DELIVERY_LIMIT", "5")),
            max_body_bytes=int(env.get("RAPPORT_MAX_BODY_BYTES", str(5 * 1024 * 1024))),
            log_json=env.get("RAPPORT_LOG_FORMAT", "json") == "json",
            log_level=env.get("RAPPORT_LOG_LEVEL", "INFO"),
            outbox_relay_after_s=float(env.get("RAPPORT_OUTBOX_RELAY_AFTER_S", "5")),
            scoring_refresh_s=float(env.get("RAPPORT_SCORING_REFRESH_S", "1")),
            whole_wave_max_invited=int(
                env.get("RAPPORT_WHOLE_WAVE_MAX_INVITED", cls.whole_wave_max_invited)
            ),
            priority_accounts_shown=int(
                env.get("RAPPORT_PRIORITY_ACCOUNTS_SHOWN", cls.priority_accounts_shown)
            ),
            mail_from=env.get("RAPPORT_MAIL_FROM", cls.mail_from),
            mail_rate_per_s=float(env.get("RAPPORT_MAIL_RATE_PER_S", "100")),
        )

    @classmethod
    def from_env_or_exit(cls) -> Settings:
        """`from_env` for a process's start: a refused setting ends it with one line naming it."""
        try:
            return cls.from_env()
        except SettingsError as exc:
            raise SystemExit(f"rapport: cannot start: {exc}") from None
