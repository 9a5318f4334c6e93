"""The MongoDB store over a real pymongo connection."""

from __future__ import annotations

import pytest
from pymongo.errors import DuplicateKeyError

from shared.store import INDEXES, composite_id, ensure_indexes


def test_every_declared_unique_index_exists(db):
    for collection, indexes in INDEXES.items():
        info = db[collection].index_information()
        for index in indexes:
            name = index.model().document["name"]
            assert name in info, f"{collection} lacks {name}"
            assert bool(info[name].get("unique")) == index.unique


def test_ensure_indexes_twice_is_harmless(db):
    ensure_indexes(db)
    assert "program_id_1_external_id_1" in db.accounts.index_information()


def test_same_upsert_twice_leaves_one_document(db):
    for _ in range(2):
        db.accounts.update_one(
            {"program_id": "p1", "external_id": "ACME"},
            {"$set": {"name": "Acme"}},
            upsert=True,
        )
    assert db.accounts.count_documents({"program_id": "p1", "external_id": "ACME"}) == 1


def test_unique_index_refuses_a_second_document(db):
    db.emails.insert_one({"idempotency_key": "e1:joe@acme.example:invitation"})
    with pytest.raises(DuplicateKeyError):
        db.emails.insert_one({"idempotency_key": "e1:joe@acme.example:invitation"})


def test_composite_ids_keep_one_document_per_natural_key(db):
    key = composite_id("scoring", "e1")
    db.processed_events.insert_one({"_id": key, "event_key": key})
    with pytest.raises(DuplicateKeyError):
        db.processed_events.insert_one({"_id": key, "event_key": key})
    with pytest.raises(DuplicateKeyError):  # the key field alone is unique too
        db.processed_events.insert_one({"event_key": key})
    other = composite_id("notify", "e1")
    db.processed_events.insert_one({"_id": other, "event_key": other})
    assert db.processed_events.count_documents({}) == 2


def test_documents_stored_before_their_key_field_get_it_at_start(db):
    from shared.store import ensure_indexes

    db.scores.drop_index("score_key_1")
    db.scores.insert_many([{"_id": "w:account:A"}, {"_id": "w:account:B"}])
    ensure_indexes(db)
    assert sorted(d["score_key"] for d in db.scores.find()) == ["w:account:A", "w:account:B"]


def test_idempotency_log_records_an_event_once_per_consumer(db):
    from shared.bus import MongoIdempotencyLog

    log = MongoIdempotencyLog(db)
    assert not log.seen("scoring", "e1")
    log.record("scoring", "e1")
    log.record("scoring", "e1")  # a second record of the same event is harmless
    assert log.seen("scoring", "e1") and not log.seen("notify", "e1")
    assert db.processed_events.count_documents({"consumer": "scoring", "event_id": "e1"}) == 1


def test_roster_documents_are_unique_by_their_natural_key(db):
    db.accounts.insert_one({"natural_key": "p1|ACME", "program_id": "p1", "external_id": "ACME"})
    with pytest.raises(DuplicateKeyError):
        db.accounts.insert_one(
            {"natural_key": "p1|ACME", "program_id": "p1", "external_id": "ACME"}
        )
    # every roster document carries its key: a second one without it is refused too
    db.accounts.insert_one({"program_id": "p2"})
    with pytest.raises(DuplicateKeyError):
        db.accounts.insert_one({"program_id": "p2"})
    assert db.accounts.count_documents({}) == 2


def test_an_index_whose_declaration_changed_is_rebuilt_and_no_document_is_lost(db):
    # an older release declared (program_id, email) unique on sellers under the same name
    db.sellers.drop_indexes()
    db.sellers.create_index(
        [("program_id", 1), ("email", 1)], unique=True, name="program_id_1_email_1"
    )
    db.sellers.insert_one({"program_id": "p", "email": "sam@vendor.example"})
    ensure_indexes(db)
    info = db.sellers.index_information()
    assert not info["program_id_1_email_1"].get("unique")
    assert info["natural_key_1"]["unique"]
    assert db.sellers.count_documents({}) == 1


@pytest.mark.parametrize(
    "collection, key",
    [
        ("invitations", "invitation_key"),
        ("accounts", "natural_key"),
        ("contacts", "natural_key"),
        ("sellers", "natural_key"),
        ("assignments", "natural_key"),
    ],
)
def test_a_unique_key_index_built_sparse_by_an_older_release_is_rebuilt_plain(db, collection, key):
    name = f"{key}_1"
    db[collection].drop_index(name)
    db[collection].create_index([(key, 1)], unique=True, sparse=True, name=name)
    db[collection].insert_one({key: "p|1"})
    ensure_indexes(db)
    info = db[collection].index_information()[name]
    assert info["unique"] and not info.get("sparse")
    assert db[collection].count_documents({}) == 1
    db[collection].insert_one({"written": "without the key"})
    with pytest.raises(DuplicateKeyError):
        db[collection].insert_one({"written": "without the key, twice"})
