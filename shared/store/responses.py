"""The `responses` collection: one document per (invitation, subject), `_id` "<invitation>:<subject>".

A response is saved under optimistic concurrency (its `rev` counter) and completed by the
same update that records its pending `response.completed` event in its `outbox` array
(shared/outbox.py relays it). A completed response never changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.store.database import find_each, projection
from shared.vocabulary import COMPLETED

WRITE_BATCH = 200  # responses per round trip (insert_many_new)
_NO_OUTBOX = {"outbox": 0}  # the pending events are the relay's business


def get(
    *, db: Database, response_id: str, fields: Iterable[str] | None = None
) -> dict[str, Any] | None:
    """The response with this id, or None."""
    return db.responses.find_one({"_id": response_id}, projection(fields))


# --- the respondent's side -----------------------------------------------------------------


def of_invitation(
    *, db: Database, org_id: str, wave_id: str, invitation_id: str
) -> list[dict[str, Any]]:
    """The invitation's responses (one per subject started), without their outbox."""
    query = {"org_id": org_id, "wave_id": wave_id, "invitation_id": invitation_id}
    return list(db.responses.find(query, _NO_OUTBOX))


def find(
    *, db: Database, org_id: str, wave_id: str, invitation_id: str, subject_id: str
) -> dict[str, Any] | None:
    """The response of one subject of an invitation, without its outbox, or None."""
    key = {"wave_id": wave_id, "invitation_id": invitation_id, "subject_id": subject_id}
    return db.responses.find_one({**key, "org_id": org_id}, _NO_OUTBOX)


def insert_new(*, db: Database, response: Mapping[str, Any]) -> bool:
    """Store a new response; False when one with its `_id` exists (another tab created it).

    Keyed by `response_key` (= `_id`): a lookup on the local stand-in (database.ID_KEYS)."""
    document = {**response, "response_key": response["_id"]}
    try:
        result = db.responses.update_one(
            {"response_key": response["_id"]}, {"$setOnInsert": document}, upsert=True
        )
    except DuplicateKeyError:
        return False
    return result.upserted_id is not None


def insert_many_new(*, db: Database, responses: Iterable[Mapping[str, Any]]) -> int:
    """Store many new responses at once, each keyed by `response_key` as `insert_new` does
    (one that exists is left as it is): synthetic waves for benchmarks, tests and the demo.
    Returns how many were inserted."""
    ops = [
        UpdateOne(
            {"response_key": r["_id"]},
            {"$setOnInsert": {**r, "response_key": r["_id"]}},
            upsert=True,
        )
        for r in responses
    ]
    inserted = 0
    for start in range(0, len(ops), WRITE_BATCH):
        inserted += db.responses.bulk_write(ops[start : start + WRITE_BATCH]).upserted_count
    return inserted


def update_unchanged(
    *,
    db: Database,
    org_id: str,
    response_id: str,
    rev: int,
    fields: Mapping[str, Any],
    event: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Set `fields` (and push `event` on its outbox) if the response is still at revision
    `rev` and not completed, counting one more revision; the response after (without its
    outbox), or None when it changed meanwhile."""
    update: dict[str, Any] = {"$set": dict(fields), "$inc": {"rev": 1}}
    if event:
        update["$push"] = {"outbox": event}
    return db.responses.find_one_and_update(
        {"_id": response_id, "org_id": org_id, "rev": rev, "status": {"$ne": COMPLETED}},
        update,
        projection=_NO_OUTBOX,
        return_document=ReturnDocument.AFTER,
    )


def count_completed(*, db: Database, wave_id: str, invitation_id: str) -> int:
    """How many of the invitation's responses are completed."""
    return db.responses.count_documents(
        {"wave_id": wave_id, "invitation_id": invitation_id, "status": COMPLETED}
    )


# --- reading completed responses -----------------------------------------------------------


def for_scoring(
    *,
    db: Database,
    wave_id: str,
    fields: Iterable[str],
    contact_ids: Iterable[str] | None = None,
) -> Iterable[dict[str, Any]]:
    """The wave's completed responses, or every response about these contacts (one indexed
    read per contact; the caller keeps the completed ones)."""
    if contact_ids is None:
        return db.responses.find({"wave_id": wave_id, "status": COMPLETED}, projection(fields))
    return find_each(db.responses, {"wave_id": wave_id}, "contact_id", contact_ids, fields)


def completed_about(
    *, db: Database, wave_id: str, org_id: str, contact_id: str, fields: Iterable[str]
) -> list[dict[str, Any]]:
    """The completed responses (both sides) about one contact, by id."""
    query = {"wave_id": wave_id, "contact_id": contact_id, "org_id": org_id, "status": COMPLETED}
    return list(db.responses.find(query, projection(fields)).sort("_id", ASCENDING))


def completed(
    *,
    db: Database,
    wave_id: str,
    org_id: str,
    fields: Iterable[str],
    side: str | None = None,
    by_id: bool = False,
) -> Iterator[dict[str, Any]]:
    """The wave's completed responses (of one side, when given; by id with `by_id`),
    streamed."""
    query: dict[str, Any] = {"wave_id": wave_id, "org_id": org_id, "status": COMPLETED}
    if side is not None:
        query["side"] = side
    found = db.responses.find(query, projection(fields))
    return found.sort("_id", ASCENDING) if by_id else found


def completed_newest_first(
    *,
    db: Database,
    wave_id: str,
    org_id: str,
    fields: Iterable[str],
    limit: int,
    side: str | None = None,
    before: tuple[datetime, str, bool] | None = None,
) -> Iterator[dict[str, Any]]:
    """At most `limit` completed responses of the wave, newest completion first (then by id,
    descending); with `before` = (completed_at, id, inclusive) only those after that one in
    this order (and that one itself when inclusive)."""
    query: dict[str, Any] = {"wave_id": wave_id, "org_id": org_id, "status": COMPLETED}
    if side is not None:
        query["side"] = side
    if before is not None:
        at, response_id, inclusive = before
        query["$or"] = [
            {"completed_at": {"$lt": at}},
            {"completed_at": at, "_id": {"$lte" if inclusive else "$lt": response_id}},
        ]
    return (
        db.responses.find(query, projection(fields))
        .sort([("completed_at", DESCENDING), ("_id", DESCENDING)])
        .limit(limit)
        .batch_size(min(limit, 500))
    )


def completed_seller_subjects(*, db: Database, org_id: str, wave_id: str) -> list[dict[str, Any]]:
    """The wave's completed seller responses: {invitation_id, contact_id, account_id} each."""
    return list(
        db.responses.find(
            {"org_id": org_id, "wave_id": wave_id, "side": "seller", "status": "completed"},
            {"_id": 0, "invitation_id": 1, "contact_id": 1, "account_id": 1},
        )
    )
