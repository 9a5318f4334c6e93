"""A program's roster: the `accounts`, `contacts`, `sellers` and `assignments` collections.

Every read is scoped to a program, and to the organisation when the caller answers an
organisation's request. `engine_rows` gives the scoring engine its roster in the API's row
shape; the roster import (services/survey/admin/roster.py) writes through `write`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DeleteOne, UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database

from shared.store.database import find_each, find_in, projection


def _scope(program_id: str | None, org_id: str | None, **more: Any) -> dict[str, Any]:
    query: dict[str, Any] = {"program_id": program_id}
    if org_id is not None:
        query["org_id"] = org_id
    return {**query, **more}


def _by_id(record_id: Any, org_id: str | None) -> dict[str, Any]:
    return {"_id": record_id} if org_id is None else {"_id": record_id, "org_id": org_id}


# --- accounts ------------------------------------------------------------------------------


def get_account(
    *, db: Database, account_id: str, org_id: str | None = None, fields: Iterable[str] | None = None
) -> dict[str, Any] | None:
    """The account with this id, or None."""
    return db.accounts.find_one(_by_id(account_id, org_id), projection(fields))


def find_account(
    *,
    db: Database,
    program_id: str | None,
    external_id: str | None,
    org_id: str | None = None,
    fields: Iterable[str] | None = None,
) -> dict[str, Any] | None:
    """The program's account with this external id (the customer's own), or None."""
    query = _scope(program_id, org_id, external_id=external_id)
    return db.accounts.find_one(query, projection(fields))


def list_accounts(
    *,
    db: Database,
    program_id: str,
    org_id: str | None = None,
    fields: Iterable[str] | None = None,
    by_name: bool = False,
) -> list[dict[str, Any]]:
    """The program's accounts (by name, then external id, with `by_name`)."""
    found = db.accounts.find(_scope(program_id, org_id), projection(fields))
    if by_name:
        found = found.sort([("name", ASCENDING), ("external_id", ASCENDING)])
    return list(found)


# The console's accounts table: each account stores its position in the program for each
# sort (`rank_<sort>`, 0 = first ascending, set by the tallies pass after each import in
# services/survey/admin/accounts.py), so a page is a range read on an indexed field, with no
# sort, skip or count on the server (the local stand-in scans for each of those).
ACCOUNT_SORTS = ("name", "revenue", "contacts", "sellers")


def rank_field(sort: str) -> str:
    """The stored field holding each account's position in this sort."""
    if sort not in ACCOUNT_SORTS:
        raise ValueError(f"not an account sort: {sort}")
    return f"rank_{sort}"


def accounts_by_rank(
    *,
    db: Database,
    program_id: str,
    org_id: str,
    sort: str,
    first: int,
    stop: int,
    fields: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The program's accounts at positions first..stop-1 of this sort, in that order."""
    field = rank_field(sort)
    query = _scope(program_id, org_id, **{field: {"$gte": first, "$lt": stop}})
    found = list(db.accounts.find(query, projection(None if fields is None else [*fields, field])))
    return sorted(found, key=lambda account: account.get(field, 0))


def search_accounts(
    *,
    db: Database,
    program_id: str,
    org_id: str,
    search: str,
    fields: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The program's accounts whose name or external id contains `search` (any case, as
    text, not a pattern): one read of the matching accounts."""
    pattern = {"$regex": re.escape(search), "$options": "i"}
    query = _scope(program_id, org_id, **{"$or": [{"name": pattern}, {"external_id": pattern}]})
    return list(db.accounts.find(query, projection(fields)))


def accounts_with_contacts(*, db: Database, program_id: str, org_id: str) -> set[str]:
    """The ids of the program's accounts that have at least one contact."""
    return set(db.contacts.distinct("account_id", _scope(program_id, org_id)))


# --- contacts ------------------------------------------------------------------------------


def get_contact(
    *, db: Database, contact_id: str, org_id: str | None = None, fields: Iterable[str] | None = None
) -> dict[str, Any] | None:
    """The contact with this id, or None."""
    return db.contacts.find_one(_by_id(contact_id, org_id), projection(fields))


def find_contact(
    *,
    db: Database,
    program_id: str | None,
    email: str | None,
    org_id: str | None = None,
    fields: Iterable[str] | None = None,
) -> dict[str, Any] | None:
    """The program's contact with this email, or None."""
    return db.contacts.find_one(_scope(program_id, org_id, email=email), projection(fields))


def list_contacts(
    *,
    db: Database,
    program_id: str | None,
    org_id: str | None = None,
    account_id: str | None = None,
    email: str | None = None,
    fields: Iterable[str] | None = None,
    by_email: bool = False,
) -> list[dict[str, Any]]:
    """The program's contacts (of one account, with one email, when given; by email with
    `by_email`)."""
    query = _scope(program_id, org_id)
    if account_id is not None:
        query["account_id"] = account_id
    if email is not None:
        query["email"] = email
    found = db.contacts.find(query, projection(fields))
    if by_email:
        found = found.sort("email", ASCENDING)
    return list(found)


def contacts_by_ids(
    *,
    db: Database,
    contact_ids: Iterable[str],
    org_id: str | None = None,
    fields: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The contacts with these ids (a `$in` read per IN_CHUNK ids)."""
    query: dict[str, Any] = {} if org_id is None else {"org_id": org_id}
    return list(find_in(db.contacts, query, "_id", contact_ids, fields))


# --- sellers and assignments ---------------------------------------------------------------


def find_seller(
    *,
    db: Database,
    program_id: str | None,
    email: str | None,
    org_id: str | None = None,
    fields: Iterable[str] | None = None,
) -> dict[str, Any] | None:
    """The program's seller with this email, or None."""
    return db.sellers.find_one(_scope(program_id, org_id, email=email), projection(fields))


def list_sellers(
    *,
    db: Database,
    program_id: str | None,
    org_id: str | None = None,
    emails: Iterable[str] | None = None,
    fields: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The program's sellers (those with these emails, a `$in` read per IN_CHUNK, when given)."""
    query = _scope(program_id, org_id)
    if emails is not None:
        return list(find_in(db.sellers, query, "email", emails, fields))
    return list(db.sellers.find(query, projection(fields)))


def list_assignments(
    *,
    db: Database,
    program_id: str,
    org_id: str | None = None,
    fields: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """Who sells to whom in the program: one assignment per (contact, seller)."""
    return list(db.assignments.find(_scope(program_id, org_id), projection(fields)))


def assignments_of(
    *,
    db: Database,
    program_id: str,
    contact_emails: Iterable[str],
    org_id: str | None = None,
    fields: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The assignments of these contacts (one indexed read per contact: an account has few)."""
    return find_each(
        db.assignments, _scope(program_id, org_id), "contact_email", contact_emails, fields
    )


# --- what the scoring engine reads ---------------------------------------------------------


@dataclass(frozen=True)
class EngineRoster:
    """A program's roster as the engine takes it: API-shaped rows (one per assignment, by
    contact email and position), the contacts by id, and each account's owner."""

    rows: list[dict[str, Any]]
    contacts: dict[str, dict[str, Any]]
    owners: dict[str, str]  # account external id -> account owner email


def engine_rows(*, db: Database, program_id: str, account_id: str | None = None) -> EngineRoster:
    """The program's roster for the engine, or only one account's (its contacts, their
    assignments and sellers: a few indexed reads, whatever the program's size)."""
    program = {"program_id": program_id}
    if account_id is None:
        accounts = {a["_id"]: a for a in db.accounts.find(program)}
        contacts = {c["_id"]: c for c in db.contacts.find(program)}
        assignments = list(db.assignments.find(program))
        sellers = {s["email"]: s for s in db.sellers.find(program)}
    else:
        accounts = {a["_id"]: a for a in db.accounts.find({"_id": account_id, **program})}
        contacts = {c["_id"]: c for c in find_each(db.contacts, program, "account_id", accounts)}
        emails = [c["email"] for c in contacts.values()]
        assignments = find_each(db.assignments, program, "contact_email", emails)
        sellers = {
            s["email"]: s
            for s in find_each(
                db.sellers, program, "email", [a["seller_email"] for a in assignments]
            )
        }
    by_email = {c["email"]: c for c in contacts.values()}
    assignments.sort(key=lambda a: (a["contact_email"], a.get("position", 0)))
    rows, owners = [], {}
    for assignment in assignments:
        contact = by_email.get(assignment["contact_email"])
        account = accounts.get(contact["account_id"]) if contact else None
        if contact is None or account is None:
            continue
        seller = sellers.get(assignment["seller_email"], {})
        rows.append(
            {
                "account_id": account["external_id"],
                "account_name": account.get("name") or account["external_id"],
                "annual_revenue": account.get("annual_revenue"),
                "contact_email": contact["email"],
                "contact_name": contact.get("name", ""),
                "contact_role": contact.get("role", "other"),
                "seller_email": assignment["seller_email"],
                "seller_name": seller.get("name", ""),
            }
        )
        owner = account.get("owner_email") or contact.get("primary_seller_email")
        owners.setdefault(account["external_id"], owner or assignment["seller_email"])
    return EngineRoster(rows=rows, contacts=contacts, owners=owners)


# --- the roster import ---------------------------------------------------------------------
# Each roster document is unique by `natural_key` ("<program_id>|<its key fields>"), one
# field, so inserts stay cheap on every server.

ROSTER_COLLECTIONS = ("accounts", "contacts", "sellers", "assignments")


@dataclass(frozen=True)
class Upsert:
    """A roster document to write by its natural key: `values` always, `on_insert` when new."""

    natural_key: str
    values: Mapping[str, Any]
    on_insert: Mapping[str, Any]


def _collection(db: Database, family: str) -> Collection:
    if family not in ROSTER_COLLECTIONS:
        raise ValueError(f"not a roster collection: {family}")
    return db[family]


def program_documents(
    *, db: Database, family: str, program_id: str, fields: Iterable[str]
) -> Iterator[dict[str, Any]]:
    """Every document of one roster collection in the program, `fields` only, in one pass
    (the local server answers `$in` by testing every document against every key)."""
    return _collection(db, family).find({"program_id": program_id}, projection(fields))


def write(
    *,
    db: Database,
    family: str,
    upserts: Sequence[Upsert] = (),
    updates: Mapping[str, Mapping[str, Any]] | None = None,
) -> set[str]:
    """One bulk write of new documents (upserts by natural key) and changed ones (`updates`:
    the values to set by `_id`); returns the natural keys this write inserted (one inserted
    meanwhile by another import is not among them)."""
    ops = [
        UpdateOne(
            {"natural_key": u.natural_key},
            {"$set": dict(u.values), "$setOnInsert": dict(u.on_insert)},
            upsert=True,
        )
        for u in upserts
    ]
    ops += [UpdateOne({"_id": _id}, {"$set": dict(v)}) for _id, v in (updates or {}).items()]
    if not ops:
        return set()
    result = _collection(db, family).bulk_write(ops, ordered=False)
    return {upserts[index].natural_key for index in result.upserted_ids}


def id_of(*, db: Database, family: str, natural_key: str) -> str | None:
    """The `_id` of the roster document with this natural key, or None."""
    found = _collection(db, family).find_one({"natural_key": natural_key}, {"_id": 1})
    return found["_id"] if found else None


def delete_assignments(*, db: Database, assignment_ids: Iterable[str]) -> int:
    """Delete these assignments (one bulk write); returns how many were deleted."""
    ops = [DeleteOne({"_id": _id}) for _id in assignment_ids]
    if not ops:
        return 0
    return db.assignments.bulk_write(ops, ordered=False).deleted_count
