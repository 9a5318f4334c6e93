"""Open answers as people wrote them: `comment.start`, `comment.stop`, `comment.continue` and
the texts of critical moments, with who wrote them (SCORING.md section 8: never scored).

They are read from the completed responses at the time they are asked for, so every wave,
scored before this module existed or not, reports them. The survey service (the comments
list, the account view, the export) and the notify service (the sellers' results, the
manager's digest) read them through these functions.

Answer keys contain dots ("comment.start"), which MongoDB cannot query or project, so the
texts are picked out of each response's `answers` here. A wave's list is read newest first
in pages: a page examines at most `scan_limit` responses, so a filter that matches rarely
costs the same per page in a wave of 100,000 responses as in one of 100.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared import clock
from shared.store import Database, responses, roster
from shared.vocabulary import BUYER, SELLER

TEXT_KINDS: tuple[str, ...] = ("start", "stop", "continue")
KINDS: tuple[str, ...] = (*TEXT_KINDS, "moment")
PAGE_SIZE = 100  # comments per page unless asked otherwise
PAGE_MAX = 500
SCAN_LIMIT = 2000  # responses examined per page at most
_FIELDS = ("answers", "completed_at", "side", "contact_id", "seller_email")


class BadCursor(ValueError):
    """The cursor was not given out by this list."""


@dataclass(frozen=True)
class Comment:
    """One open answer of one response: a start/stop/continue text or a critical moment."""

    kind: str  # start, stop, continue, moment
    text: str
    touchpoint: str | None = None
    tag: str | None = None


def comments_in(answers: Mapping[str, Any] | None) -> list[Comment]:
    """The open answers in one response's answers, in questionnaire order (moments last).

    A moment without words still says where and how it felt, so it is kept with text "".
    """
    answers = answers or {}
    found = []
    for kind in TEXT_KINDS:
        text = answers.get(f"comment.{kind}")
        if isinstance(text, str) and text.strip():
            found.append(Comment(kind, text))
    for moment in answers.get("moments") or ():
        if isinstance(moment, Mapping):
            found.append(
                Comment(
                    "moment",
                    str(moment.get("text") or ""),
                    touchpoint=moment.get("touchpoint"),
                    tag=moment.get("tag"),
                )
            )
    return found


def texts(comments: Iterable[Comment]) -> dict[str, str | None]:
    """`{start, stop, continue}` of one response (API.md 1.1 per contact), None when not given."""
    given = {c.kind: c.text for c in comments if c.kind in TEXT_KINDS}
    return {kind: given.get(kind) for kind in TEXT_KINDS}


@dataclass(frozen=True)
class CommentFilter:
    """What a reader narrows a wave's comments to; None is no restriction."""

    account: str | None = None  # account external id
    contact: str | None = None  # contact email
    side: str | None = None
    kind: str | None = None
    touchpoint: str | None = None
    tag: str | None = None
    q: str | None = None  # words the text contains, any case

    def keeps(self, side: str, comment: Comment) -> bool:
        """Whether a comment of this side passes every restriction but account and contact."""
        if self.side is not None and side != self.side:
            return False
        if self.kind is not None and comment.kind != self.kind:
            return False
        if self.touchpoint is not None and comment.touchpoint != self.touchpoint:
            return False
        if self.tag is not None and comment.tag != self.tag:
            return False
        return not self.q or self.q.casefold() in comment.text.casefold()


@dataclass(frozen=True)
class CommentPage:
    """One page of a wave's comments; `next_cursor` is None on the last page."""

    items: list[dict[str, Any]]
    next_cursor: str | None


class People:
    """Who wrote a comment: contacts, their accounts and sellers, read once each per use."""

    def __init__(self, db: Database, *, org_id: str, program_id: str | None) -> None:
        self._db, self._org_id, self._program_id = db, org_id, program_id
        self._contacts: dict[str, Mapping[str, Any]] = {}
        self._accounts: dict[str, Mapping[str, Any]] = {}
        self._sellers: dict[str, Mapping[str, Any]] = {}

    def contact(self, contact_id: str | None) -> Mapping[str, Any]:
        """The contact document (an empty mapping when it is gone)."""
        if contact_id is None:
            return {}
        if contact_id not in self._contacts:
            found = roster.get_contact(
                db=self._db,
                contact_id=contact_id,
                org_id=self._org_id,
                fields=("email", "name", "role", "account_id", "account_external_id"),
            )
            self._contacts[contact_id] = found or {}
        return self._contacts[contact_id]

    def account(self, account_id: str | None) -> Mapping[str, Any]:
        """The account document (an empty mapping when it is gone)."""
        if account_id is None:
            return {}
        if account_id not in self._accounts:
            found = roster.get_account(
                db=self._db,
                account_id=account_id,
                org_id=self._org_id,
                fields=("external_id", "name"),
            )
            self._accounts[account_id] = found or {}
        return self._accounts[account_id]

    def seller(self, email: str | None) -> Mapping[str, Any]:
        """The program's seller with this email (an empty mapping when unknown)."""
        if not email:
            return {}
        if email not in self._sellers:
            found = roster.find_seller(
                db=self._db,
                program_id=self._program_id,
                email=email,
                org_id=self._org_id,
                fields=("name",),
            )
            self._sellers[email] = found or {}
        return self._sellers[email]

    def item(self, response: Mapping[str, Any], comment: Comment) -> dict[str, Any]:
        """A comment as the items of `GET /waves/{id}/comments`: what was said, and by whom."""
        contact = self.contact(response.get("contact_id"))
        account = self.account(contact.get("account_id"))
        side = response.get("side")
        seller_email = response.get("seller_email") if side == SELLER else None
        completed_at = clock.aware(response.get("completed_at"))
        return {
            "side": side,
            "kind": comment.kind,
            "touchpoint": comment.touchpoint,
            "tag": comment.tag,
            "text": comment.text,
            "account_external_id": account.get("external_id") or contact.get("account_external_id"),
            "account_name": account.get("name"),
            "contact_email": contact.get("email"),
            "contact_name": contact.get("name"),
            "role": contact.get("role"),
            "seller_email": seller_email,
            "seller_name": self.seller(seller_email).get("name") if seller_email else None,
            "completed_at": completed_at.isoformat() if completed_at else None,
        }


def contacts_responses(
    db: Database, *, wave_id: str, org_id: str, contact_ids: Iterable[str]
) -> dict[str, list[dict[str, Any]]]:
    """The completed responses (both sides) about each contact, one indexed read per contact
    (the local MongoDB stand-in answers `$in` by scanning the collection)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for contact_id in dict.fromkeys(contact_ids):
        found[contact_id] = responses.completed_about(
            db=db, wave_id=wave_id, org_id=org_id, contact_id=contact_id, fields=_FIELDS
        )
    return found


def wave_comments(
    db: Database,
    *,
    wave: Mapping[str, Any],
    where: CommentFilter = CommentFilter(),
    limit: int = PAGE_SIZE,
    cursor: str | None = None,
    scan_limit: int = SCAN_LIMIT,
) -> CommentPage:
    """A page of the wave's comments, newest response first, with who wrote each.

    A page holds at most `limit` comments and examines at most `scan_limit` responses, so
    with a narrow filter a page may be short (even empty) while `next_cursor` is set.
    Raises BadCursor for a cursor this list did not give out.
    """
    org_id, program_id = wave["org_id"], wave.get("program_id")
    after = _read_cursor(cursor) if cursor else None
    people = People(db, org_id=org_id, program_id=program_id)
    if where.account is not None or where.contact is not None:
        found: Iterable[Mapping[str, Any]] = _chosen_responses(
            db, wave=wave, where=where, after=after
        )
    else:
        found = responses.completed_newest_first(
            db=db,
            wave_id=wave["_id"],
            org_id=org_id,
            fields=_FIELDS,
            limit=scan_limit,
            side=where.side,
            # resume at the cursor's response (inclusive) or after it
            before=None if after is None else (after[0], after[1], after[2] is not None),
        )
    items: list[dict[str, Any]] = []
    next_cursor = None
    scanned = 0
    last: Mapping[str, Any] | None = None
    for response in found:
        scanned += 1
        last = response
        start = (after[2] or 0) if after and response["_id"] == after[1] else 0
        for index, comment in enumerate(comments_in(response.get("answers"))):
            if index < start or not where.keeps(response.get("side"), comment):
                continue
            if len(items) == limit:  # one more exists: the next page starts at it
                next_cursor = _write_cursor(response, index)
                break
            items.append(people.item(response, comment))
        if next_cursor is not None or scanned >= scan_limit:
            break
    if next_cursor is None and scanned >= scan_limit and last is not None:
        next_cursor = _write_cursor(last, None)  # the next page starts after it
    return CommentPage(items=items, next_cursor=next_cursor)


def _chosen_responses(
    db: Database,
    *,
    wave: Mapping[str, Any],
    where: CommentFilter,
    after: tuple[datetime, str, int | None] | None,
) -> list[Mapping[str, Any]]:
    """The completed responses about one account's or one contact's contacts, newest first."""
    program = {"program_id": wave.get("program_id"), "org_id": wave["org_id"]}
    if where.account is not None:
        account = roster.find_account(db=db, **program, external_id=where.account, fields=("_id",))
        if account is None:
            return []
        contacts = roster.list_contacts(
            db=db, **program, account_id=account["_id"], fields=("email",)
        )
    else:
        contacts = []
    if where.contact is not None:
        email = where.contact.strip().lower()
        if where.account is not None:
            contacts = [c for c in contacts if c.get("email") == email]
        else:
            contacts = roster.list_contacts(db=db, **program, email=email, fields=("email",))
    by_contact = contacts_responses(
        db, wave_id=wave["_id"], org_id=wave["org_id"], contact_ids=[c["_id"] for c in contacts]
    )
    found = [
        r
        for about in by_contact.values()
        for r in about
        if where.side is None or r.get("side") == where.side
    ]
    found.sort(key=_order_key, reverse=True)
    if after is not None:
        at, response_id, index = after
        found = [
            r
            for r in found
            if _order_key(r) < (at, response_id)
            or (index is not None and _order_key(r) == (at, response_id))
        ]
    return found


def _order_key(response: Mapping[str, Any]) -> tuple[datetime, str]:
    return (clock.aware(response.get("completed_at")) or datetime.min.replace(tzinfo=UTC)), str(
        response["_id"]
    )


def _write_cursor(response: Mapping[str, Any], index: int | None) -> str:
    """A cursor to resume at comment `index` of this response, or after it (None)."""
    at = clock.aware(response.get("completed_at")) or datetime.min.replace(tzinfo=UTC)
    raw = json.dumps([at.isoformat(), str(response["_id"]), index], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[datetime, str, int | None]:
    """(completed_at, response id, index of its first comment to give, or None: after it)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, response_id, index = json.loads(raw)
        moment = clock.aware(datetime.fromisoformat(at))
        if not isinstance(response_id, str) or not (
            index is None or (type(index) is int and index >= 0)
        ):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadCursor("not a cursor given out by this list: use next_cursor as it came") from None
    assert moment is not None
    return moment, response_id, index


def responses_comments(
    db: Database, *, wave_id: str, org_id: str
) -> Iterator[tuple[str, list[Comment]]]:
    """Every completed response of the wave with its open answers, in response id order (the
    order of the export's rows, so the export reads both side by side in one pass)."""
    found = responses.completed(
        db=db, wave_id=wave_id, org_id=org_id, fields=("answers",), by_id=True
    )
    for response in found:
        yield str(response["_id"]), comments_in(response.get("answers"))


@dataclass(frozen=True)
class CommentSummary:
    """How many comments buyers wrote in a wave, by kind, and the most recent few."""

    count: int
    by_kind: dict[str, int]
    recent: list[dict[str, Any]]


def buyer_comment_summary(db: Database, *, wave: Mapping[str, Any], shown: int) -> CommentSummary:
    """Count the buyers' comments of a wave and keep the `shown` most recent (one pass; only
    those few are kept in memory)."""
    by_kind = dict.fromkeys(KINDS, 0)
    newest: list[tuple[tuple[datetime, str, int], Mapping[str, Any], Comment]] = []
    buyers = responses.completed(
        db=db, wave_id=wave["_id"], org_id=wave["org_id"], fields=_FIELDS, side=BUYER
    )
    for response in buyers:
        at, response_id = _order_key(response)
        for index, comment in enumerate(comments_in(response.get("answers"))):
            by_kind[comment.kind] += 1
            # the earlier comment of one response first: a negative index ranks it higher
            entry = ((at, response_id, -index), response, comment)
            if len(newest) < shown:
                heapq.heappush(newest, entry)  # type: ignore[misc]
            elif shown and entry[0] > newest[0][0]:
                heapq.heapreplace(newest, entry)  # type: ignore[misc]
    people = People(db, org_id=wave["org_id"], program_id=wave.get("program_id"))
    recent = [
        people.item(response, comment)
        for _, response, comment in sorted(newest, key=lambda e: e[0], reverse=True)
    ]
    return CommentSummary(count=sum(by_kind.values()), by_kind=by_kind, recent=recent)
