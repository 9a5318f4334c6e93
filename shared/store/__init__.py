"""The MongoDB store: the only package that imports pymongo or queries a collection.

`database` holds the client (one per process, after fork) and every index; one module per
document family holds its reads and writes as keyword-only functions, so the services call
`waves.get(db=db, org_id=org_id, wave_id=wave_id)` and never a collection:

    waves             a wave; its life draft -> launching -> open -> closing -> closed
    programs          programs and their settings
    roster            accounts, contacts, sellers, assignments; the rows the engine reads
    invitations       building, writing and reading invitations; their status and opt-outs
    responses         saving and completing a response; completed responses for reading
    scores            the scoring worker's guarded upserts
    results           a wave's results document and its ranked account list
    scoring_state     the worker's stale marks and refresh leases
    emails            notify's email queue and reminder rounds
    outbox            the outbox collection and response outboxes
    organisations     organisations and API keys
    users             console people, used sign-in links, sign-in attempt counters
    opt_outs          who asked for no more survey email
    cases             close-the-loop cases: opened once per trigger, their status and history
    processed_events  the consumers' idempotency log

A `Database` is passed around as a handle; the pymongo errors the services handle are
named here too, so nothing outside this package imports pymongo.
"""

from pymongo.database import Database
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    DuplicateKeyError,
    InvalidOperation,
    OperationFailure,
    PyMongoError,
)

from shared.store.database import (
    INDEXES,
    Index,
    client_options,
    composite_id,
    ensure_indexes,
    get_client,
    get_database,
    ping,
)

__all__ = [
    "INDEXES",
    "BulkWriteError",
    "ConnectionFailure",
    "Database",
    "DuplicateKeyError",
    "Index",
    "InvalidOperation",
    "OperationFailure",
    "PyMongoError",
    "composite_id",
    "ensure_indexes",
    "client_options",
    "get_client",
    "get_database",
    "ping",
]
