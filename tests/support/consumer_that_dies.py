"""A consumer process that handles one message, records it, then dies before its ack.

Run by tests as: python -m tests.support.consumer_that_dies AMQP_URL NAMESPACE RETRY_DELAY_MS MONGO_URI DB_NAME
"""

from __future__ import annotations

import os
import sys

import pymongo

from shared.bus import ConsumerSpec, MongoIdempotencyLog, RabbitBus, RabbitConsumer
from shared.settings import Settings

EXIT_CODE = 17


class DiesBeforeAck(RabbitConsumer):
    def _ack(self, channel, delivery_tag: int) -> None:
        os._exit(EXIT_CODE)  # killed between the work and the ack


def main() -> None:
    amqp_url, namespace, retry_delay_ms, mongo_uri, db_name = sys.argv[1:6]
    db = pymongo.MongoClient(mongo_uri)[db_name]

    def handler(event) -> None:
        db.effects.update_one({"event_id": event.event_id}, {"$inc": {"count": 1}}, upsert=True)

    bus = RabbitBus(
        Settings(amqp_url=amqp_url, bus_namespace=namespace, bus_retry_delay_ms=int(retry_delay_ms))
    )
    spec = ConsumerSpec("mortal", ("thing.#",), handler, MongoIdempotencyLog(db))
    DiesBeforeAck(bus, spec).run()


if __name__ == "__main__":
    main()
