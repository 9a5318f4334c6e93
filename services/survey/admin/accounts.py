"""A program's accounts as the console shows them: a sorted, searchable page of the table,
one account with its contacts and sellers, and the tallies the table sorts on.

The numbers of contacts and sellers of each account, a case-folded `name_key` and the
account's position in each sort are stored on the account by `refresh_account_tallies`,
run after every roster import (the program holds its number of accounts), so a page of 50
accounts is one indexed range read whatever the program's size: no count over the roster,
no sort, skip or count on the server. A search reads the accounts that match, once.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.survey.admin.programs import get_program
from services.survey.errors import NotFound
from shared.store import Database, PyMongoError
from shared.store import programs as program_store
from shared.store import roster as roster_store

log = logging.getLogger(__name__)

PAGE_SIZE = 50
SEARCH_MAX = 100
SORTS = roster_store.ACCOUNT_SORTS  # name, revenue, contacts, sellers
_TALLIES = ("name_key", "contact_count", "seller_count")
_RANKS = tuple(roster_store.rank_field(sort) for sort in SORTS)
_SHOWN = ("external_id", "name", "annual_revenue", "segment", *_TALLIES)
_STORED = ("name", "external_id", "annual_revenue", *_TALLIES, *_RANKS)


@dataclass(frozen=True)
class AccountsQuery:
    """What the accounts table shows: a search, a sort column and direction, a page (from 1)."""

    search: str = ""
    sort: str = "name"
    descending: bool = False
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AccountsQuery:
        """The query of a page address; anything unknown falls back to the default."""
        sort = args.get("sort", "name")
        try:
            page = max(1, min(int(args.get("page", "1")), 100_000))
        except ValueError:
            page = 1
        return cls(
            search=" ".join((args.get("q") or "").split())[:SEARCH_MAX],
            sort=sort if sort in SORTS else "name",
            descending=args.get("dir") == "desc",
            page=page,
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        """The address arguments of this query with some changed (default values left out)."""
        values = {
            "q": self.search,
            "sort": self.sort,
            "dir": "desc" if self.descending else "asc",
            "page": self.page,
        }
        values.update(changes)
        defaults = {"q": "", "sort": "name", "dir": "asc", "page": 1}
        return {k: v for k, v in values.items() if v != defaults[k]}


def accounts_page(
    *, db: Database, org_id: str, program_id: str, query: AccountsQuery, per_page: int = PAGE_SIZE
) -> dict[str, Any]:
    """One page of the program's accounts for this query: items, total, page, pages."""
    program = get_program(db=db, org_id=org_id, program_id=program_id)
    if program.get("tallies_stale") or program.get("account_count") is None:
        # an import since the last tallies (or before they existed): count again first
        refresh_account_tallies(db=db, org_id=org_id, program_id=program_id)
        program = get_program(db=db, org_id=org_id, program_id=program_id)
    if query.search:
        found = roster_store.search_accounts(
            db=db, program_id=program_id, org_id=org_id, search=query.search, fields=_SHOWN
        )
        field = roster_store.rank_field(query.sort)
        found.sort(key=lambda a: a.get(field, 0), reverse=query.descending)
        total = len(found)
        page = min(query.page, max(1, -(-total // per_page)))
        items = found[(page - 1) * per_page : page * per_page]
    else:
        total = program["account_count"]
        page = min(query.page, max(1, -(-total // per_page)))
        items = _ranked_page(db, org_id, program_id, query, page, per_page, total)
        if len(items) != max(0, min(per_page, total - (page - 1) * per_page)):
            # positions out of step with the accounts (an import meanwhile): count again
            total = refresh_account_tallies(db=db, org_id=org_id, program_id=program_id)
            page = min(page, max(1, -(-total // per_page)))
            items = _ranked_page(db, org_id, program_id, query, page, per_page, total)
    return {"items": items, "total": total, "page": page, "pages": max(1, -(-total // per_page))}


def _ranked_page(
    db: Database,
    org_id: str,
    program_id: str,
    query: AccountsQuery,
    page: int,
    per_page: int,
    total: int,
) -> list[dict[str, Any]]:
    first, stop = (page - 1) * per_page, page * per_page
    if query.descending:  # the same positions counted from the end
        first, stop = max(0, total - stop), total - first
    items = roster_store.accounts_by_rank(
        db=db,
        program_id=program_id,
        org_id=org_id,
        sort=query.sort,
        first=first,
        stop=stop,
        fields=_SHOWN,
    )
    return items[::-1] if query.descending else items


def _sort_keys(account: Mapping[str, Any], tallies: Mapping[str, Any]) -> dict[str, tuple]:
    revenue = account.get("annual_revenue")
    return {
        "name": (tallies["name_key"], account["_id"]),
        "revenue": (revenue is not None, revenue or 0, account["_id"]),
        "contacts": (tallies["contact_count"], account["_id"]),
        "sellers": (tallies["seller_count"], account["_id"]),
    }


def refresh_account_tallies(*, db: Database, org_id: str, program_id: str) -> int:
    """Store on each of the program's accounts its numbers of contacts and sellers, its sort
    name and its position in each sort (writing only the accounts whose values changed), and
    on the program how many accounts it has; returns that number."""
    account_of: dict[str, str] = {}
    contacts: Counter[str] = Counter()
    for contact in roster_store.program_documents(
        db=db, family="contacts", program_id=program_id, fields=("email", "account_id")
    ):
        account_of[contact["email"]] = contact["account_id"]
        contacts[contact["account_id"]] += 1
    sellers: defaultdict[str, set[str]] = defaultdict(set)
    for assignment in roster_store.program_documents(
        db=db,
        family="assignments",
        program_id=program_id,
        fields=("contact_email", "seller_email"),
    ):
        account_id = account_of.get(assignment["contact_email"])
        if account_id is not None:
            sellers[account_id].add(assignment["seller_email"])
    accounts = list(
        roster_store.program_documents(
            db=db, family="accounts", program_id=program_id, fields=_STORED
        )
    )
    wanted: dict[str, dict[str, Any]] = {}
    keys: dict[str, dict[str, tuple]] = {}
    for account in accounts:
        tallies = {
            "name_key": (account.get("name") or account.get("external_id") or "").casefold(),
            "contact_count": contacts.get(account["_id"], 0),
            "seller_count": len(sellers.get(account["_id"], ())),
        }
        wanted[account["_id"]] = tallies
        keys[account["_id"]] = _sort_keys(account, tallies)
    for sort in SORTS:
        ordered = sorted(keys, key=lambda account_id: keys[account_id][sort])
        for position, account_id in enumerate(ordered):
            wanted[account_id][roster_store.rank_field(sort)] = position
    changes = {
        a["_id"]: wanted[a["_id"]]
        for a in accounts
        if any(a.get(k) != v for k, v in wanted[a["_id"]].items())
    }
    ids = list(changes)
    for start in range(0, len(ids), 1000):
        chunk = {account_id: changes[account_id] for account_id in ids[start : start + 1000]}
        roster_store.write(db=db, family="accounts", updates=chunk)
    program_store.update(
        db=db,
        org_id=org_id,
        program_id=program_id,
        changes={"account_count": len(accounts), "tallies_stale": False},
    )
    return len(accounts)


def mark_tallies_stale(*, db: Database, org_id: str, program_id: str) -> None:
    """Before an import writes: the accounts table counts again unless the tallies pass
    after the import completes."""
    program_store.update(
        db=db, org_id=org_id, program_id=program_id, changes={"tallies_stale": True}
    )


def refresh_after_import(*, db: Database, org_id: str, program_id: str) -> None:
    """The tallies pass after an import; a database failure here is logged, not raised (the
    rows are imported, and the program stays marked for the table to count again)."""
    try:
        refresh_account_tallies(db=db, org_id=org_id, program_id=program_id)
    except PyMongoError:
        log.warning("account tallies not refreshed", exc_info=True)


def account_detail(
    *, db: Database, org_id: str, program_id: str, account_id: str
) -> dict[str, Any]:
    """One account of the program with its contacts (each with their sellers, in order) and
    its sellers (each with the contacts they are assigned to)."""
    get_program(db=db, org_id=org_id, program_id=program_id)
    account = roster_store.get_account(db=db, account_id=account_id, org_id=org_id)
    if account is None or account.get("program_id") != program_id:
        raise NotFound("account not found")
    scope = {"db": db, "program_id": program_id, "org_id": org_id}
    contacts = sorted(
        roster_store.list_contacts(**scope, account_id=account_id),
        key=lambda c: (c.get("name") or "", c["email"]),
    )
    assignments = roster_store.assignments_of(
        **scope, contact_emails=[c["email"] for c in contacts]
    )
    seller_names = {
        s["email"]: s.get("name") or ""
        for s in roster_store.list_sellers(
            **scope, emails={a["seller_email"] for a in assignments}, fields=("email", "name")
        )
    }
    by_contact: defaultdict[str, list[str]] = defaultdict(list)
    by_seller: defaultdict[str, list[str]] = defaultdict(list)
    for assignment in sorted(assignments, key=lambda a: a.get("position", 0)):
        by_contact[assignment["contact_email"]].append(assignment["seller_email"])
        by_seller[assignment["seller_email"]].append(assignment["contact_email"])
    return {
        "account": account,
        "contacts": [
            {**c, "sellers": [(e, seller_names.get(e, "")) for e in by_contact[c["email"]]]}
            for c in contacts
        ],
        "sellers": [
            {"email": e, "name": seller_names.get(e, ""), "contacts": by_seller[e]}
            for e in sorted(by_seller, key=lambda e: (seller_names.get(e, ""), e))
        ],
    }
