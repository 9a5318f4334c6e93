"""`make dev`: the whole suite in one process on its embedded defaults.

The survey service on 127.0.0.1:$PORT, the scoring and notify consumers on the
in-process bus (or RabbitMQ when AMQP_URL is set), the local MongoDB-compatible
server in memory with a durable snapshot under var/ (or MONGO_URL), and a local SMTP capture
server whose mail is readable at /dev/mail (or SMTP_URL).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import signal
import threading
from pathlib import Path

from werkzeug.serving import make_server

from deploy.local.demo import ensure_demo
from services.bootstrap import build, start_relays, stop_relays
from services.notify.worker import Notifier, consumer_specs
from services.runner import start_consumers
from services.scoring import worker as scoring_worker
from services.survey.app import bootstrap_admin_credentials, create_app
from services.survey.console.people import ADMIN, create_user, ensure_admin, person_of
from services.survey.console.signing_in import sign_in_link
from services.survey.organisations import (
    bootstrap,
    create_api_key,
    ensure_organisation,
    update_branding,
)
from shared.logs import configure_logging
from shared.organisation import load_branding
from shared.settings import Settings
from shared.store import users as user_store

log = logging.getLogger("rapport.dev")
VAR = Path(os.environ.get("RAPPORT_VAR_DIR", "var"))
# What respondents and sellers of the demo read instead of the internal name `default`.
DEMO_ORGANISATION = "Meridian Supply Co."
# The console's admin in `make dev` when RAPPORT_BOOTSTRAP_ADMIN names none.
DEV_ADMIN_EMAIL = "admin@localhost"
SNAPSHOT_EVERY_S = float(os.environ.get("RAPPORT_DEV_SNAPSHOT_S", "5"))


def _dev_api_key(db, settings: Settings) -> str:
    if settings.bootstrap_api_key:
        bootstrap(db=db, api_key=settings.bootstrap_api_key)
        return settings.bootstrap_api_key
    key_file = VAR / "dev-api-key"
    if key_file.exists():
        api_key = key_file.read_text().strip()
        bootstrap(db=db, api_key=api_key)
        return api_key
    org_id = ensure_organisation(db=db, name="default")
    api_key = create_api_key(db=db, org_id=org_id, label="make dev")
    key_file.write_text(api_key + "\n")
    key_file.chmod(0o600)
    return api_key


def _dev_secret_key() -> str:
    """`make dev`'s own link-signing key, made once under var/ so links survive a restart."""
    key_file = VAR / "dev-secret-key"
    if not key_file.exists():
        with os.fdopen(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(secrets.token_urlsafe(48) + "\n")
    return key_file.read_text().strip()


def _name_demo_organisation(db) -> str:
    """Give organisation `default` a real-sounding name unless it has one (a name set with
    `rapport org set-name` or the API stays)."""
    org_id = ensure_organisation(db=db, name="default")
    shown = load_branding(db, org_id).display_name
    if shown is None:
        update_branding(db=db, org_id=org_id, changes={"display_name": DEMO_ORGANISATION})
        shown = DEMO_ORGANISATION
    return shown


def _dev_admin_link(db, settings: Settings) -> tuple[str, str]:
    """An admin of `default` (RAPPORT_BOOTSTRAP_ADMIN's, else DEV_ADMIN_EMAIL without a
    password) and a one-click sign-in link for them."""
    if settings.bootstrap_admin:
        email, password = bootstrap_admin_credentials(settings.bootstrap_admin)
        person = ensure_admin(db=db, org_name="default", email=email, password=password)
    else:
        user = user_store.find_by_email(db=db, email=DEV_ADMIN_EMAIL)
        if user is None:
            org_id = ensure_organisation(db=db, name="default")
            person = create_user(db=db, org_id=org_id, email=DEV_ADMIN_EMAIL, role=ADMIN)
        else:
            person = person_of(user)
    return person.email, sign_in_link(settings=settings, person=person)


def main() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    # people read `make dev`'s output: plain lines unless JSON is asked for
    os.environ.setdefault("RAPPORT_LOG_FORMAT", "text")
    # this is `make dev`, said explicitly (RAPPORT_ENV), and its links are signed with a
    # key of its own rather than the public DEV_SECRET_KEY
    os.environ.setdefault("RAPPORT_ENV", "dev")
    if not os.environ.get("RAPPORT_SECRET_KEY"):
        os.environ["RAPPORT_SECRET_KEY"] = _dev_secret_key()
    settings = Settings.from_env_or_exit()
    configure_logging(level=settings.log_level, json_format=settings.log_json)
    port = int(os.environ.get("PORT", "8000"))
    if "RAPPORT_PUBLIC_URL" not in os.environ:
        settings = dataclasses.replace(settings, public_url=f"http://127.0.0.1:{port}")

    stack = []
    mongo_note = settings.mongo_url
    if not settings.mongo_url:
        from deploy.local.mongo_server import LocalMongo

        # The memory engine with a durable snapshot (deploy/local/snapshot.py): measured in
        # benchmarks/bench_close.py and bench_roster.py, it holds a 2,000-account program
        # where the SQLite engine's writes slow with every document stored. A crash loses
        # at most the last SNAPSHOT_EVERY_S seconds of writes; a clean stop loses nothing.
        snapshot = VAR / "rapport.snapshot"
        mongo = LocalMongo(
            engine="memory", snapshot=str(snapshot), snapshot_every_s=SNAPSHOT_EVERY_S
        ).start(timeout=600)
        stack.append(lambda: mongo.stop(timeout=120))
        settings = dataclasses.replace(settings, mongo_url=mongo.uri)
        mongo_note = f"{mongo.uri} (local mongoeco, in memory, snapshot at {snapshot})"

    capture = None
    if not settings.smtp_url:
        from deploy.local.mail_capture import CaptureServer

        capture = CaptureServer().start()
        stack.append(capture.stop)
        settings = dataclasses.replace(settings, smtp_url=capture.url)

    container = build(settings)
    db = container.db
    api_key = _dev_api_key(db, settings)
    organisation = _name_demo_organisation(db)
    admin_email, admin_link = _dev_admin_link(db, settings)
    notifier = Notifier(container)
    specs = [*scoring_worker.consumer_specs(container), *consumer_specs(container, notifier)]
    consumers = start_consumers(container.bus, specs)
    # reminders, closing at closes_at, and retries of deferred mail
    consumers.append(notifier.start_background())
    consumers.append(scoring_worker.start_background(container))  # provisional results
    start_relays(container)  # what the survey service recorded but could not publish yet
    ensure_demo(container=container)

    app = create_app(container)
    if capture is not None:
        from deploy.local.devmail import register_mailbox

        register_mailbox(app, capture.handler)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    broker = settings.amqp_url.split("@")[-1] if settings.amqp_url else "in-process bus"
    print(
        "\nRapport is running (Ctrl-C stops everything)\n"
        f"  survey service  http://127.0.0.1:{port}/   (health /healthz, ready /readyz, metrics /metrics)\n"
        f"  console         {admin_link}\n"
        f"                  (one click signs in {admin_email}, once, within 15 minutes;\n"
        f"                   a new link: rapport users link --email {admin_email})\n"
        f"  admin API       http://127.0.0.1:{port}/api/v1/   OpenAPI /api/v1/openapi.json\n"
        f"  API key         {api_key}\n"
        f"  organisation    {organisation}   (rapport org set-name, or PATCH /api/v1/organisation)\n"
        f"  MongoDB         {mongo_note}\n"
        f"  broker          {broker}\n"
        f"  mail            {settings.smtp_url}"
        + (f"  (read it at http://127.0.0.1:{port}/dev/mail)" if capture else "")
        + "\n",
        flush=True,
    )

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    print("stopping…", flush=True)
    server.shutdown()
    stop_relays(container)
    for consumer in consumers:
        consumer.stop()
    container.bus.close()
    for close in reversed(stack):
        close()


if __name__ == "__main__":
    main()
