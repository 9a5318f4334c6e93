"""The MongoDB store: the only module that talks to MongoDB.

`database` holds the client (one per process, after fork) and the indexes; one module per
document family (`waves`, `roster`, `invitations`, `responses`, `scores`, `results`,
`emails`, ...) holds its reads and writes as keyword-only functions, so the services call
`waves.get(db=db, org_id=org_id, wave_id=wave_id)` and never a collection. A `Database` is
passed around as a handle; the errors the services handle are named here too.
"""

from pymongo.database import Database
from pymongo.errors import ConnectionFailure, DuplicateKeyError, InvalidOperation, PyMongoError

from shared.store.database import (
    INDEXES,
    Index,
    composite_id,
    ensure_indexes,
    get_client,
    get_database,
    ping,
)

__all__ = [
    "INDEXES",
    "ConnectionFailure",
    "Database",
    "DuplicateKeyError",
    "Index",
    "InvalidOperation",
    "PyMongoError",
    "composite_id",
    "ensure_indexes",
    "get_client",
    "get_database",
    "ping",
]
