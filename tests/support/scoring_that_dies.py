"""A scoring worker process killed half-way through opening a closed wave's cases.

It consumes like the real one (services.scoring.worker.consumer_specs) but, on `wave.closed`,
stores the first half of the wave's cases and then exits at once: no ack, no `wave.scored`.
Run by tests as:
    python -m tests.support.scoring_that_dies AMQP_URL NAMESPACE RETRY_DELAY_MS MONGO_URI DB_NAME
(the retry delay is the test bus's: the broker refuses a queue redeclared otherwise)
"""

from __future__ import annotations

import os
import sys

import pymongo

from services.bootstrap import build
from services.scoring.worker import consumer_specs
from shared.bus import RabbitBus, RabbitConsumer
from shared.settings import Settings
from shared.store import cases as case_store

EXIT_CODE = 19


def main() -> None:
    amqp_url, namespace, retry_delay_ms, mongo_uri, db_name = sys.argv[1:6]
    settings = Settings(
        amqp_url=amqp_url,
        bus_namespace=namespace,
        bus_retry_delay_ms=int(retry_delay_ms),
        mongo_url=mongo_uri,
        mongo_db=db_name,
    )
    db = pymongo.MongoClient(mongo_uri, tz_aware=True)[db_name]
    open_many = case_store.open_many

    def open_half_then_die(*, db, cases) -> int:
        found = list(cases)
        open_many(db=db, cases=found[: len(found) // 2])
        os._exit(EXIT_CODE)  # killed mid-way: some cases stored, the event not acked

    case_store.open_many = open_half_then_die
    bus = RabbitBus(settings)
    for spec in consumer_specs(build(settings, db=db, bus=bus)):
        RabbitConsumer(bus, spec).run()


if __name__ == "__main__":
    main()
