"""A program's accounts as the console shows them: a sorted, searchable page of the table,
one account with its contacts and sellers, and the tallies the table sorts on.

The numbers of contacts and sellers of each account are stored on the account (with a
case-folded `name_key` for sorting by name) by `refresh_account_tallies`, run after every
roster import, so a page of 50 accounts is one indexed, sorted, limited read whatever the
program's size, rather than a count over the whole roster on every request.
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
from shared.store import roster as roster_store

log = logging.getLogger(__name__)

PAGE_SIZE = 50
SEARCH_MAX = 100
SORTS = tuple(roster_store.ACCOUNT_SORT_FIELDS)  # name, revenue, contacts, sellers
_TALLIES = ("name_key", "contact_count", "seller_count")
_SHOWN = ("external_id", "name", "annual_revenue", "segment", *_TALLIES)


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
    get_program(db=db, org_id=org_id, program_id=program_id)

    def read(page: int) -> tuple[list[dict[str, Any]], int]:
        return roster_store.accounts_page(
            db=db,
            program_id=program_id,
            org_id=org_id,
            search=query.search,
            sort=query.sort,
            descending=query.descending,
            skip=(page - 1) * per_page,
            limit=per_page,
            fields=_SHOWN,
        )

    items, total = read(query.page)
    if any("contact_count" not in item for item in items):
        # accounts imported before the tallies existed (or a tallies pass that failed)
        refresh_account_tallies(db=db, org_id=org_id, program_id=program_id)
        items, total = read(query.page)
    pages = max(1, -(-total // per_page))
    if query.page > pages and total:
        return accounts_page(
            db=db,
            org_id=org_id,
            program_id=program_id,
            query=AccountsQuery(query.search, query.sort, query.descending, pages),
            per_page=per_page,
        )
    return {"items": items, "total": total, "page": query.page, "pages": pages}


def refresh_account_tallies(*, db: Database, org_id: str, program_id: str) -> int:
    """Store on each of the program's accounts its numbers of contacts and sellers and its
    sort name; writes only the accounts whose values changed, returns how many."""
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
    changes: dict[str, dict[str, Any]] = {}
    for account in roster_store.program_documents(
        db=db, family="accounts", program_id=program_id, fields=("name", "external_id", *_TALLIES)
    ):
        wanted = {
            "name_key": (account.get("name") or account.get("external_id") or "").casefold(),
            "contact_count": contacts.get(account["_id"], 0),
            "seller_count": len(sellers.get(account["_id"], ())),
        }
        if any(account.get(k) != v for k, v in wanted.items()):
            changes[account["_id"]] = wanted
    for start in range(0, len(changes), 1000):
        chunk = dict(list(changes.items())[start : start + 1000])
        roster_store.write(db=db, family="accounts", updates=chunk)
    return len(changes)


def refresh_after_import(*, db: Database, org_id: str, program_id: str) -> None:
    """The tallies pass after an import; a database failure here is logged, not raised (the
    rows are imported; the table recounts when it finds an account without tallies)."""
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
