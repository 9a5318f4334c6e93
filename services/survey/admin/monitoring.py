"""What the console's open-wave page shows: response rates by side, account and seller; who
has not answered (with the silent decision makers); the wave's email log; resend one email.

Plain data in, plain data out (no Flask): the pages and the API call the same functions.
The rates read the wave's invitations in one aggregation and the completed seller answers
in one query, then count in memory: a wave of 2,000 accounts is a few thousand rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from services.survey.admin.waves import get_wave
from services.survey.errors import Conflict, NotFound
from shared import clock
from shared.store import Database, emails, responses
from shared.store import invitations as invitation_store
from shared.store import roster as roster_store
from shared.vocabulary import BUYER, COMPLETED, INVITED, SELLER

DECISION_MAKER = "decision_maker"
RESENDABLE = ("failed", "sent")


def wave_rows(*, db: Database, org_id: str, wave_id: str) -> list[dict[str, Any]]:
    """The wave's active invitations as the rates and the not-answered list read them (one
    aggregation): a page showing both reads them once and passes them to each."""
    return invitation_store.progress_rows(db=db, org_id=org_id, wave_id=wave_id)


def _rate(completed: int, invited: int) -> float | None:
    return round(completed / invited, 4) if invited else None


def _tally() -> dict[str, int]:
    return {"invited": 0, "completed": 0}


def _counted(row: Mapping[str, Any]) -> bool:
    # as the wave's counts: who opted out before answering is not counted as invited
    return not (row.get("opted_out") and row.get("status") != COMPLETED)


def _with_rate(tally: Mapping[str, int]) -> dict[str, Any]:
    return {**tally, "rate": _rate(tally["completed"], tally["invited"])}


def response_rates(
    *, db: Database, org_id: str, wave_id: str, rows: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Response rates of an open (or any) wave.

    `sides`: buyers and sellers invited/completed/rate (a seller counts once, completed
    when every subject is answered). `accounts`: per account, its buyer contacts
    invited/completed and the seller answers about them expected/completed. `sellers`: per
    seller, their subjects answered and how many of their buyer contacts answered.
    `rows`: the wave's progress_rows when the caller read them already (one page, one read)."""
    wave = get_wave(db=db, org_id=org_id, wave_id=wave_id)
    if rows is None:
        rows = wave_rows(db=db, org_id=org_id, wave_id=wave_id)
    answered = responses.completed_seller_subjects(db=db, org_id=org_id, wave_id=wave_id)
    done_subjects: defaultdict[str, set[str]] = defaultdict(set)
    for response in answered:
        done_subjects[response["invitation_id"]].add(response.get("contact_id"))
    sides = {"buyers": _tally(), "sellers": _tally()}
    accounts: defaultdict[str, dict[str, int]] = defaultdict(
        lambda: {"buyers_invited": 0, "buyers_completed": 0, "seller_answers": 0, "seller_done": 0}
    )
    buyer_done: dict[str, bool] = {}
    for row in rows:
        if row.get("side") != BUYER or not _counted(row):
            continue
        completed = row.get("status") == COMPLETED
        sides["buyers"]["invited"] += 1
        sides["buyers"]["completed"] += completed
        for contact_id, account_id in zip(
            row.get("contact_ids") or [], row.get("account_ids") or [], strict=False
        ):
            buyer_done[contact_id] = completed
            accounts[account_id]["buyers_invited"] += 1
            accounts[account_id]["buyers_completed"] += completed
    sellers = []
    for row in rows:
        if row.get("side") != SELLER or not _counted(row):
            continue
        sides["sellers"]["invited"] += 1
        sides["sellers"]["completed"] += row.get("status") == COMPLETED
        contacts = row.get("contact_ids") or []
        done = done_subjects.get(row["_id"], set())
        for contact_id, account_id in zip(contacts, row.get("account_ids") or [], strict=False):
            accounts[account_id]["seller_answers"] += 1
            accounts[account_id]["seller_done"] += contact_id in done
        buyers_invited = sum(1 for c in contacts if c in buyer_done)
        buyers_completed = sum(1 for c in contacts if buyer_done.get(c))
        sellers.append(
            {
                "email": row.get("email"),
                "name": row.get("name") or "",
                "status": row.get("status"),
                "subjects": len(contacts),
                "subjects_completed": sum(1 for c in contacts if c in done),
                "rate": _rate(sum(1 for c in contacts if c in done), len(contacts)),
                "buyers_invited": buyers_invited,
                "buyers_completed": buyers_completed,
                "buyer_rate": _rate(buyers_completed, buyers_invited),
            }
        )
    by_account = _account_rates(db, org_id, wave["program_id"], accounts)
    by_account.sort(key=lambda a: (a["name"].casefold(), str(a["external_id"])))
    sellers.sort(key=lambda s: str(s["email"]))
    return {
        "wave_id": wave_id,
        "status": wave["status"],
        "sides": {side: _with_rate(tally) for side, tally in sides.items()},
        "accounts": by_account,
        "sellers": sellers,
    }


def _account_rates(
    db: Database, org_id: str, program_id: str, accounts: Mapping[str, Mapping[str, int]]
) -> list[dict[str, Any]]:
    names = {
        a["_id"]: a
        for a in roster_store.list_accounts(
            db=db, org_id=org_id, program_id=program_id, fields=("name", "external_id")
        )
    }
    by_account = []
    for account_id, tally in accounts.items():
        account = names.get(account_id) or {}
        by_account.append(
            {
                "account_id": account_id,
                "external_id": account.get("external_id"),
                "name": account.get("name") or "",
                "buyers_invited": tally["buyers_invited"],
                "buyers_completed": tally["buyers_completed"],
                "buyer_rate": _rate(tally["buyers_completed"], tally["buyers_invited"]),
                "seller_answers_expected": tally["seller_answers"],
                "seller_answers_completed": tally["seller_done"],
                "seller_rate": _rate(tally["seller_done"], tally["seller_answers"]),
            }
        )
    return by_account


def not_answered(
    *,
    db: Database,
    org_id: str,
    wave_id: str,
    side: str | None = None,
    silent_decision_makers: bool = False,
    rows: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Who has not completed yet (revoked links left out; opted-out people flagged), by side
    then email. `silent_decision_makers`: only buyer contacts whose role is decision_maker.
    `rows`: the wave's progress_rows when the caller read them already."""
    wave = get_wave(db=db, org_id=org_id, wave_id=wave_id)
    if silent_decision_makers:
        side = BUYER
    if rows is None:
        rows = wave_rows(db=db, org_id=org_id, wave_id=wave_id)
    rows = [
        r for r in rows if r.get("status") != COMPLETED and (side is None or r.get("side") == side)
    ]
    # the program's contacts in one read: cheaper than a `$in` over the ids on the stand-in
    contacts = {
        c["_id"]: c
        for c in roster_store.list_contacts(
            db=db, org_id=org_id, program_id=wave["program_id"], fields=("role",)
        )
    }
    names = _account_names(db, org_id, wave["program_id"])
    people = []
    for row in rows:
        role, account_ids = None, row.get("account_ids") or []
        if row.get("side") == BUYER:
            contact = contacts.get((row.get("contact_ids") or [None])[0]) or {}
            role = contact.get("role")
        if silent_decision_makers and role != DECISION_MAKER:
            continue
        people.append(
            {
                "email": row.get("email"),
                "name": row.get("name") or "",
                "side": row.get("side"),
                "status": row.get("status") or INVITED,
                "role": role,
                "accounts": sorted({names.get(a, "") for a in account_ids if a}),
                "opted_out": bool(row.get("opted_out")),
                "last_reminded_at": clock.aware(row.get("last_reminded_at")),
            }
        )
    people.sort(key=lambda p: (p["side"] or "", str(p["email"])))
    return people


def _account_names(db: Database, org_id: str, program_id: str) -> dict[str, str]:
    return {
        a["_id"]: a.get("name") or a.get("external_id") or ""
        for a in roster_store.list_accounts(
            db=db, org_id=org_id, program_id=program_id, fields=("name", "external_id")
        )
    }


def _log_item(email: Mapping[str, Any]) -> dict[str, Any]:
    status = email.get("status")
    return {
        "id": email["_id"],
        "to": email.get("to"),
        "kind": email.get("kind"),
        "status": status,
        "subject": email.get("subject"),
        "side": email.get("side"),
        "attempts": email.get("attempts", 0),
        "failure_reason": email.get("last_error") if status in ("failed", "cancelled") else None,
        "created_at": clock.aware(email.get("created_at")),
        "sent_at": clock.aware(email.get("sent_at")),
        "resent_at": clock.aware(email.get("resent_at")),
        "can_resend": status in RESENDABLE and not email.get("resent_at"),
    }


def email_log(
    *,
    db: Database,
    org_id: str,
    wave_id: str,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The wave's emails, newest first: to whom, which kind, its status and any failure reason."""
    get_wave(db=db, org_id=org_id, wave_id=wave_id)
    found = emails.of_wave(
        db=db,
        org_id=org_id,
        wave_id=wave_id,
        kind=kind,
        status=status,
        limit=max(1, min(limit, 5000)),
        skip=max(0, offset),
    )
    return [_log_item(e) for e in found]


def resend(*, db: Database, org_id: str, email_id: str) -> dict[str, Any]:
    """Put one failed or sent email back in notify's queue, once; its log line after.

    404 for another organisation's or an unknown email; 409 when it is still queued, was
    cancelled (the survey closed or the person completed), or was resent before. Notify's
    retry loop sends it, checking again that the person still wants it."""
    email = emails.get_of_org(db=db, org_id=org_id, email_id=email_id)
    if email is None:
        raise NotFound("email not found")
    requeued = emails.requeue_once(
        db=db,
        org_id=org_id,
        email_id=email_id,
        from_statuses=RESENDABLE,
        now=clock.stored_now(),
    )
    if requeued is not None:
        return _log_item(requeued)
    if email.get("resent_at"):
        raise Conflict("this email was resent once already")
    if email.get("status") == "failed" and email.get("next_attempt_at") is None:
        raise Conflict(
            f"this email was never sent ({email.get('last_error')}): correct the address in "
            "the roster and invite again"
        )
    raise Conflict(f"the email is {email.get('status')}: only a failed or sent email is resent")
