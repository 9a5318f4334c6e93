"""Run the notify service: `python -m services.notify` (needs MONGO_URL, AMQP_URL, SMTP_URL).

The consumer, the retry loop for deferred email and the scheduler (reminders, closing
dates) run in this one process; several such processes may run side by side.
"""

from __future__ import annotations

from services.bootstrap import build
from services.notify.worker import Notifier, consumer_specs
from services.runner import run_until_signalled, start_consumers
from shared.logs import configure_logging
from shared.settings import Settings


def main() -> None:
    container = build(Settings.from_env_or_exit())
    configure_logging(level=container.settings.log_level, json_format=container.settings.log_json)
    if not container.settings.amqp_url:
        raise SystemExit("AMQP_URL is required to run the notify service on its own")
    if not container.settings.smtp_url:
        raise SystemExit("SMTP_URL is required to run the notify service")
    notifier = Notifier(container)
    consumers = start_consumers(container.bus, consumer_specs(container, notifier))
    background = notifier.start_background()
    run_until_signalled([*consumers, background])


if __name__ == "__main__":
    main()
