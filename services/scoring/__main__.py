"""Run the scoring service: `python -m services.scoring` (needs MONGO_URL and AMQP_URL).

The consumer and the periodic refresh of open waves' provisional results run in this one
process; several such processes may run side by side.
"""

from __future__ import annotations

from services.bootstrap import build
from services.runner import run_until_signalled, start_consumers
from services.scoring.worker import consumer_specs, start_background
from shared.logs import configure_logging
from shared.settings import Settings


def main() -> None:
    container = build(Settings.from_env_or_exit())
    configure_logging(level=container.settings.log_level, json_format=container.settings.log_json)
    if not container.settings.amqp_url:
        raise SystemExit("AMQP_URL is required to run the scoring service on its own")
    consumers = start_consumers(container.bus, consumer_specs(container))
    run_until_signalled([*consumers, start_background(container)])


if __name__ == "__main__":
    main()
