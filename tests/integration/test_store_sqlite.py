"""The store on `make dev`'s embedded default (the local wire server's SQLite engine), where a
`$in` of about 500 values or more is refused: lookups by many values still answer."""

from __future__ import annotations

import uuid

import pymongo
import pytest

from deploy.local.mongo_server import LocalMongo
from shared.store import emails, ensure_indexes, outbox
from shared.store.database import IN_CHUNK


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite") / "rapport.sqlite"
    server = LocalMongo(engine="sqlite", path=str(path)).start()
    client = pymongo.MongoClient(server.uri, tz_aware=True)
    database = client[f"rapport_test_{uuid.uuid4().hex[:12]}"]
    ensure_indexes(database)
    yield database
    client.close()
    server.stop()


@pytest.mark.slow
def test_a_lookup_by_more_values_than_sqlite_takes_in_one_query_finds_them_all(sqlite_db):
    many = IN_CHUNK + 200  # 600: one `$in` of this many is refused by the SQLite engine
    keys = [f"event-{n}:someone{n}@acme.example:invitation" for n in range(many)]
    emails.insert_new(
        db=sqlite_db,
        emails=[{"idempotency_key": key, "to": "x@acme.example", "status": "sent"} for key in keys],
    )
    asked = [*keys, "event-x:nobody@acme.example:invitation"]
    assert emails.taken_keys(db=sqlite_db, keys=asked) == set(keys)

    staged = outbox.stage(
        db=sqlite_db,
        entries=[
            {"event_id": f"e{n}", "type": "t", "payload": {}, "status": outbox.PENDING}
            for n in range(many)
        ],
    )
    assert staged == many
    event_ids = [f"e{n}" for n in range(many)]
    assert set(outbox.pending(db=sqlite_db, event_ids=event_ids)) == set(event_ids)
    assert outbox.count_pending(db=sqlite_db, event_ids=event_ids) == many
