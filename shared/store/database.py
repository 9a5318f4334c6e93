"""The MongoDB client (one per process, after fork) and every collection's indexes, declared once."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, IndexModel, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import OperationFailure

from shared.settings import Settings


@dataclass(frozen=True)
class Index:
    keys: tuple[tuple[str, int], ...]
    unique: bool = False
    name: str | None = None

    def model(self) -> IndexModel:
        name = self.name or "_".join(f"{k}_{d}" for k, d in self.keys)
        return IndexModel(list(self.keys), unique=self.unique, name=name)


def _ix(*fields: str, unique: bool = False) -> Index:
    return Index(tuple((f, ASCENDING) for f in fields), unique=unique)


# Every collection and its indexes, created at start. Upserts are keyed by the unique ones.
INDEXES: dict[str, tuple[Index, ...]] = {
    "organisations": (_ix("name", unique=True),),
    "api_keys": (_ix("key_hash", unique=True), _ix("org_id")),
    "programs": (_ix("org_id", "name"),),
    # Roster documents are unique by `natural_key` ("<program_id>|<external id or emails>"),
    # one field for the same reason as invitations below; compound indexes serve the lookups.
    "accounts": (
        _ix("natural_key", unique=True),
        _ix("program_id", "external_id"),
        _ix("org_id"),
        # the console's accounts table: a page is a range of one sort's positions
        _ix("program_id", "rank_name"),
        _ix("program_id", "rank_revenue"),
        _ix("program_id", "rank_contacts"),
        _ix("program_id", "rank_sellers"),
    ),
    "contacts": (
        _ix("natural_key", unique=True),
        _ix("program_id", "email"),
        _ix("program_id", "account_id"),
    ),
    "sellers": (_ix("natural_key", unique=True), _ix("program_id", "email")),
    "assignments": (
        _ix("natural_key", unique=True),
        _ix("program_id", "contact_email", "seller_email"),
        _ix("program_id", "seller_email"),
    ),
    "waves": (_ix("org_id", "program_id"), _ix("status", "closes_at")),
    "invitations": (
        # One invitation per (wave, side, person), enforced on the single field
        # invitation_key = "<wave_id>|<side>|<person_email>": a compound unique index makes
        # the local stand-in scan the whole collection on every insert (launch went O(n^2)).
        _ix("invitation_key", unique=True),
        _ix("wave_id", "side"),
        _ix("wave_id", "status"),
        _ix("wave_id", "reminder_round"),  # a reminder round reads back what it claimed
    ),
    # `_id` is "<invitation_id>:<subject_id>": one response per subject, unique by _id.
    "responses": (
        _ix("response_key", unique=True),  # = `_id`: keys the insert (ID_KEYS)
        _ix("wave_id", "invitation_id", "subject_id"),
        _ix("outbox.status", "outbox.created_at"),
        _ix("wave_id", "status"),
        _ix("wave_id", "contact_id"),  # one account's responses (scoring a completion)
        # a wave's comments newest first, and beside the export's rows (shared.comments)
        _ix("wave_id", "status", "completed_at", "_id"),
        _ix("wave_id", "status", "_id"),
    ),
    "outbox": (_ix("event_id", unique=True), _ix("status", "created_at")),
    # `_id` is "<wave_id>:<kind>:<key>" (scores) and "<consumer>:<event_id>" (processed events):
    # composite keys live in `_id`, since the local stand-in checks a compound unique index by
    # scanning the collection on every write, while `_id` lookups stay constant-time.
    # `score_key` (= `_id`, "<wave_id>:<kind>:<key>") keys the scoring worker's upserts: the
    # local stand-in matches a single-field unique index in constant time, while an upsert
    # keyed by `_id` that inserts scans the collection. `seller_emails`: a seller's responses.
    "scores": (
        _ix("score_key", unique=True),
        _ix("wave_id", "kind", "key"),
        _ix("wave_id", "seller_emails"),
    ),
    "results": (_ix("wave_id", unique=True),),
    # `_id` is the wave id: the scoring worker's marks (stale, lease, last recompute time)
    "scoring_state": (_ix("stale"),),
    "processed_events": (_ix("event_key", unique=True), _ix("consumer")),
    "emails": (
        _ix("idempotency_key", unique=True),
        _ix("status", "next_attempt_at"),
        _ix("wave_id", "created_at"),  # a wave's email log, newest first
    ),
    "opt_outs": (_ix("org_id", "email", unique=True),),
    "reminder_rounds": (_ix("wave_id", "day", unique=True),),
    # console people: one user per email (sign-in names nobody's organisation)
    "users": (_ix("email", unique=True), _ix("org_id", "email")),
    # `_id` is the link id: a sign-in link is used once (insert fails the second time)
    "sign_in_links": (_ix("expires_at"),),
    # `_id` is "<address|account>:<who>:<window>": failed sign-ins counted per window
    "sign_in_attempts": (_ix("expires_at"),),
    # close-the-loop cases: `_id` derives from `case_key` "<wave>|<account>|<contact>|<kind>",
    # unique, so opening a case twice inserts nothing (shared/store/cases.py)
    "cases": (
        _ix("case_key", unique=True),
        _ix("wave_id", "status"),
        _ix("org_id", "owner_email"),
        _ix("status", "due_at"),
    ),
    # a seller's "I'll do this" on a coaching behaviour; `_id` "<wave>|<seller>|<dimension>|<n>"
    "commitments": (_ix("org_id", "wave_id", "seller_email"),),
}

_lock = threading.Lock()
_clients: dict[tuple[int, str], MongoClient] = {}


def _reset_after_fork() -> None:
    # A MongoClient must never cross a fork: the child builds its own.
    global _lock
    _lock = threading.Lock()
    _clients.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


def client_options(settings: Settings | None = None) -> dict[str, Any]:
    """The MongoClient options of these settings (Settings' defaults when None): timeouts
    that never cancel a long bulk write on a busy local server (see Settings)."""
    settings = settings or Settings()
    socket_ms = int(settings.mongo_socket_timeout_s * 1000) or None
    return {
        "tz_aware": True,
        "connectTimeoutMS": int(settings.mongo_connect_timeout_s * 1000),
        "socketTimeoutMS": socket_ms,
        "serverSelectionTimeoutMS": int(settings.mongo_server_selection_timeout_s * 1000),
    }


def get_client(url: str, settings: Settings | None = None) -> MongoClient:
    """The process-wide client for this URL (it pools connections), with the timeouts of
    `settings` (Settings' defaults when None) the first time it is made."""
    key = (os.getpid(), url)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = MongoClient(url, **client_options(settings))
            _clients[key] = client
        return client


def get_database(settings: Settings) -> Database:
    """The Rapport database for these settings."""
    if not settings.mongo_url:
        raise RuntimeError("MONGO_URL is not set and no local server was started")
    return get_client(settings.mongo_url, settings)[settings.mongo_db]


def composite_id(*parts: str) -> str:
    """A document id made of its natural key, for collections whose key has several parts."""
    return ":".join(parts)


# MongoDB's codes for "an index of this name exists with other options or keys".
_INDEX_CONFLICTS = {85, 86}


# Collections whose documents carry their `_id` again in a field with a single-field unique
# index, which keys their upserts: the local stand-in inserts a document with a given `_id`
# by scanning the collection, while an upsert keyed by a unique field is a lookup.
ID_KEYS = {"scores": "score_key", "responses": "response_key", "processed_events": "event_key"}


def _copy_ids_to_keys(db: Database) -> None:
    """Give documents stored before their collection had its ID_KEYS field that field (once:
    afterwards none lacks it)."""
    for collection, field in ID_KEYS.items():
        missing = db[collection].find({field: {"$exists": False}}, {"_id": 1})
        for doc in missing:
            db[collection].update_one({"_id": doc["_id"]}, {"$set": {field: doc["_id"]}})


def ensure_indexes(db: Database) -> None:
    """Create every declared index; safe to run at every start.

    An index whose declaration changed (say, no longer unique) is dropped and rebuilt: an
    index holds no data of its own, and the declaration is the truth.
    """
    _copy_ids_to_keys(db)
    for collection, indexes in INDEXES.items():
        models = [ix.model() for ix in indexes]
        try:
            db[collection].create_indexes(models)
        except OperationFailure as exc:
            if exc.code not in _INDEX_CONFLICTS:
                raise
            for model in models:
                try:
                    db[collection].create_indexes([model])
                except OperationFailure as conflict:
                    if conflict.code not in _INDEX_CONFLICTS:
                        raise
                    db[collection].drop_index(model.document["name"])
                    db[collection].create_indexes([model])


def ping(db: Database) -> bool:
    """True when the server answers."""
    try:
        db.command("ping")
        return True
    except Exception:
        return False


def projection(fields: Iterable[str] | None) -> dict[str, int] | None:
    """The projection reading only `fields` (and `_id`); None reads whole documents."""
    return None if fields is None else dict.fromkeys(fields, 1)


def find_each(
    collection: Collection,
    query: Mapping[str, Any],
    field: str,
    values: Iterable[Any],
    fields: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The documents matching `query` with `field` equal to one of `values` (in that order),
    one indexed equality query per value: an account has a handful of contacts, and the
    local MongoDB stand-in answers `$in` by scanning the whole collection."""
    return [
        found
        for value in dict.fromkeys(values)
        for found in collection.find({**query, field: value}, projection(fields))
    ]


# The local server's SQLite engine turns each `$in` value into two OR clauses and refuses
# past ~500 values (SQLite's expression depth of 1,000); MongoDB takes any count.
IN_CHUNK = 400


def in_chunks(values: Iterable[Any], size: int = IN_CHUNK) -> Iterator[list[Any]]:
    """`values` (duplicates dropped) in lists of at most `size`, for one `$in` query each."""
    distinct = list(dict.fromkeys(values))
    for start in range(0, len(distinct), size):
        yield distinct[start : start + size]


def find_in(
    collection: Collection,
    query: Mapping[str, Any],
    field: str,
    values: Iterable[Any],
    fields: Iterable[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """The documents matching `query` with `field` one of `values`: one `$in` read per
    IN_CHUNK values."""
    for chunk in in_chunks(values):
        yield from collection.find({**query, field: {"$in": chunk}}, projection(fields))
