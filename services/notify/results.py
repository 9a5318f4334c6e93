"""After `wave.scored`: each seller's results and coaching plan, and the program manager's digest.

Everything comes from what the scoring worker stores: the `results` document
(``{wave_id, final: true, results: <GET /results>}``) and one `scores` row per account
(``<GET /accounts/{id}>``).

A seller's email stays small enough for every mail client (Gmail clips HTML over about
100 KB): one chart of buyer against seller per dimension across the seller's
relationships, and for each contact one line with its level and gap and the dimensions
where the seller has a blind spot or undervalues the relationship.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from services.notify.delivery import Delivery, Outgoing, Tally
from services.notify.invitations import sent_for
from services.notify.rendering import Renderer, email_language
from shared import comments
from shared.organisation import Branding, load_branding
from shared.questionnaire import load_bank
from shared.settings import Settings
from shared.store import Database, invitations, programs, roster, scores, waves
from shared.store import results as result_store
from shared.vocabulary import BUYER, COMPLETED, DIMENSIONS, LEVEL_NAMES, SEGMENTS, SELLER

log = logging.getLogger(__name__)

# Buyers' words shown in one email, and the characters of each: with every text at the
# questionnaire's 2,000 characters the email still stays well under Gmail's ~100 KB.
SELLER_COMMENTS_SHOWN = 10
DIGEST_COMMENTS_SHOWN = 5
COMMENT_CHARS_SHOWN = 500


class ResultsNotReady(RuntimeError):
    """`wave.scored` arrived but the final results document is not there (yet)."""


def _lower(value: Any) -> str:
    return str(value or "").strip().lower()


def _text(value: Any, language: str) -> str:
    """A coaching behaviour: a string, or a {language: text} / {text: ...} mapping."""
    if isinstance(value, dict):
        return str(value.get(language) or value.get("text") or value.get("en") or "")
    return str(value)


def _ordered_dimensions(dimensions: dict[str, Any]) -> list[dict[str, Any]]:
    names = [d for d in DIMENSIONS if d in dimensions] + [
        d for d in dimensions if d not in DIMENSIONS
    ]
    return [{"name": name, **(dimensions[name] or {})} for name in names]


def _contact_view(contact: dict[str, Any]) -> dict[str, Any]:
    responded = contact.get("responded")
    if responded is None:
        responded = contact.get("relationship_index") is not None
    dimensions = _ordered_dimensions(contact.get("dimensions") or {})

    def flagged(gap_class: str) -> list[dict[str, Any]]:
        return [
            {"name": d["name"], "gap": d.get("gap")}
            for d in dimensions
            if d.get("gap_class") == gap_class
        ]

    return {
        "name": contact.get("name") or contact.get("email"),
        "email": contact.get("email"),
        "responded": bool(responded),
        "level": contact.get("level"),
        "relationship_index": contact.get("relationship_index"),
        "gap": contact.get("gap"),
        "gap_class": contact.get("gap_class"),
        "dimensions": dimensions,
        "blind_spots": flagged("blind_spot"),
        "undervalued": flagged("undervalued"),
    }


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def dimension_overview(relationships: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per dimension, over the seller's relationships where both sides scored it: the mean
    buyer score, the mean of the seller's estimates and the mean gap (so the bars and the gap
    describe the same contacts)."""
    contacts = [c for account in relationships for c in account["contacts"] if c["responded"]]
    overview = []
    for name in DIMENSIONS:
        cells = [
            d
            for c in contacts
            for d in c["dimensions"]
            if d["name"] == name and d.get("gap") is not None
        ]
        overview.append(
            {
                "name": name,
                "buyer": _mean([d["buyer"] for d in cells]),
                "seller": _mean([d["seller"] for d in cells]),
                "gap": _mean([d["gap"] for d in cells]),
                "n": len(cells),
            }
        )
    return overview


def seller_relationships(
    *, contact_emails: list[tuple[str | None, str]], accounts: dict[str, dict]
) -> list[dict[str, Any]]:
    """The seller's contacts grouped by account, each with its scores (accounts in results only).

    `contact_emails` holds (account external id or None, contact email) pairs.
    """
    by_account: dict[str, dict[str, Any]] = {}
    for external_id, email in contact_emails:
        candidates = [external_id] if external_id in accounts else list(accounts)
        for candidate in candidates:
            account = accounts[candidate]
            contact = next(
                (
                    c
                    for c in account.get("contacts") or []
                    if _lower(c.get("email")) == _lower(email)
                ),
                None,
            )
            if contact is None:
                continue
            view = by_account.setdefault(
                candidate,
                {
                    "external_id": candidate,
                    "name": account.get("name") or candidate,
                    "level": account.get("level"),
                    "relationship_index": account.get("relationship_index"),
                    "ri_low_n": account.get("ri_low_n"),
                    "n_ri": account.get("n_ri"),
                    "contacts": [],
                },
            )
            if all(_lower(c["email"]) != _lower(email) for c in view["contacts"]):
                view["contacts"].append(_contact_view(contact))
            break
    return list(by_account.values())


def coaching_plan(
    *, seller_email: str, accounts: dict[str, dict], language: str
) -> dict[str, Any] | None:
    """The seller's plan: the top dimensions (the same in every account) and every action."""
    dimensions: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    found = False
    for external_id, account in accounts.items():
        names = {_lower(c.get("email")): c.get("name") for c in account.get("contacts") or []}
        for plan in account.get("coaching") or []:
            if _lower(plan.get("seller_email")) != _lower(seller_email):
                continue
            found = True
            if not dimensions:
                dimensions = [
                    {
                        "dimension": d.get("dimension"),
                        "gap_class": d.get("gap_class"),
                        "gap": d.get("gap"),
                        "behaviours": [_text(b, language) for b in d.get("behaviours") or []],
                    }
                    for d in plan.get("dimensions") or []
                    if isinstance(d, dict)
                ]
            for action in plan.get("actions") or []:
                email = action.get("contact_email")
                account_id = action.get("account_external_id") or external_id
                if (_lower(email), account_id) in seen:
                    continue
                seen.add((_lower(email), account_id))
                actions.append(
                    {
                        "type": action.get("type"),
                        "contact": names.get(_lower(email)) or email,
                        "account": (accounts.get(account_id) or account).get("name") or account_id,
                        "text": _text(action.get("text"), language) if action.get("text") else None,
                        "behaviours": [_text(b, language) for b in action.get("behaviours") or []],
                    }
                )
    return {"dimensions": dimensions, "actions": actions} if found else None


def shortened(text: str, limit: int = COMMENT_CHARS_SHOWN) -> str:
    """The text as written, cut at a word before `limit` characters with "…" when longer."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2 :] else cut) + "…"


def _comment_view(item: dict[str, Any], language: str) -> dict[str, Any]:
    """One buyer's comment for an email: the words, who wrote them, and what was asked."""
    bank = load_bank()
    if item["kind"] == "moment":
        tag = bank.moment_tags.get(item.get("tag") or "", {}).get(language) or item.get("tag")
        place = bank.touchpoints.get(item.get("touchpoint") or "", {}).get(language)
        label = ("moment", {"tag": tag or "", "touchpoint": place or item.get("touchpoint") or ""})
    else:
        label = (f"comment_{item['kind']}", {})
    who = item.get("contact_name") or item.get("contact_email") or ""
    return {
        "text": shortened(item.get("text") or ""),
        "who": who,
        "email": item.get("contact_email") or "",
        "account": item.get("account_name") or item.get("account_external_id") or "",
        "label": label,
    }


def buyer_words(
    *, db: Database, wave: dict, contact_ids: list[str], language: str
) -> dict[str, Any] | None:
    """What the seller's buyers wrote (their own words, never the sellers' guesses), at most
    SELLER_COMMENTS_SHOWN taken in turn from each buyer, and how many more there are."""
    responses = comments.contacts_responses(
        db, wave_id=wave["_id"], org_id=wave["org_id"], contact_ids=contact_ids
    )
    people = comments.People(db, org_id=wave["org_id"], program_id=wave.get("program_id"))
    per_buyer = [
        [people.item(r, c) for c in comments.comments_in(r.get("answers"))]
        for found in responses.values()
        for r in found
        if r.get("side") == BUYER
    ]
    total = sum(len(said) for said in per_buyer)
    if not total:
        return None
    # one from each buyer in turn, so one talkative buyer does not hide the others
    chosen: set[tuple[int, int]] = set()
    for depth in range(max(len(said) for said in per_buyer)):
        for b, said in enumerate(per_buyer):
            if depth < len(said) and len(chosen) < SELLER_COMMENTS_SHOWN:
                chosen.add((b, depth))
    shown = [
        _comment_view(item, language)
        for b, said in enumerate(per_buyer)
        for i, item in enumerate(said)
        if (b, i) in chosen
    ]
    return {
        "shown": shown,
        "more": total - len(shown),
        "heading_key": "buyer_words_heading",
        "more_key": "buyer_words_more",
    }


def load_final_results(db: Database, wave_id: str) -> dict[str, Any]:
    """The wave's final results, with each account's document (stored one per `scores` row)."""
    doc = result_store.read(db=db, wave_id=wave_id)
    if doc is None or not doc.get("final"):
        raise ResultsNotReady(f"no final results for wave {wave_id}")
    accounts = scores.of_kind(db=db, wave_id=wave_id, kind="account", fields=("key", "account"))
    return {**doc, "accounts": {a["key"]: a["account"] for a in accounts}}


def send_seller_results(
    *,
    db: Database,
    delivery: Delivery,
    renderer: Renderer,
    event_id: str,
    wave: dict,
    results_doc: dict,
    org_name: str | None,
    branding: Branding | None = None,
) -> Tally:
    """One results email per invited seller with at least one scored relationship; a seller
    none of whose buyers answered gets a short note saying so instead."""
    tally = Tally()
    sellers = invitations.of_side(db=db, wave_id=wave["_id"], side=SELLER)
    contact_ids = sorted(
        {s.get("contact_id") for inv in sellers for s in inv.get("subjects") or []} - {None}
    )
    mail = _SellerMail(
        db=db,
        renderer=renderer,
        wave=wave,
        org_name=org_name,
        accounts=results_doc.get("accounts") or {},
        contacts={
            c["_id"]: c
            for c in roster.contacts_by_ids(
                db=db, contact_ids=contact_ids, fields=("email", "account_external_id")
            )
        },
        answered=answered_contacts(db, wave["_id"]),
    )
    sender = sent_for(branding or Branding(display_name=org_name))

    def emails() -> Iterator[Outgoing]:
        for invitation in sellers:
            subjects = [s for s in invitation.get("subjects") or [] if s.get("contact_id")]
            if not subjects:
                tally.skip("no_buyers")
                continue
            email = invitation.get("person_email") or ""
            key = f"{event_id}:{email}:results"
            meta = {"event_id": event_id, "org_id": wave["org_id"], "wave_id": wave["_id"]}
            to = delivery.recipient(
                key=key,
                kind="results",
                email=email,
                name=invitation.get("person_name"),
                tally=tally,
                meta=meta,
            )
            if to is None:
                continue
            language = email_language(invitation.get("language"))
            yield Outgoing(
                key=key,
                kind="results",
                to=to,
                rendered=mail.render(invitation, subjects, language),
                language=language,
                meta=meta,
                **sender,
            )

    return tally.count(delivery.send_all(emails()))


@dataclass(frozen=True)
class _SellerMail:
    """What every seller's results email of one wave is made from."""

    db: Database
    renderer: Renderer
    wave: dict
    org_name: str | None
    accounts: dict[str, dict]  # the stored account documents, by external id
    contacts: dict[str, dict]  # the sellers' buyer contacts, by id
    answered: set[str]  # the contact ids of the buyers who completed the wave

    def render(self, invitation: dict, subjects: list[dict], language: str) -> Any:
        """The seller's results and coaching, or the short note when no buyer answered."""
        known = [s for s in subjects if s["contact_id"] in self.contacts]
        pairs = [
            (
                self.contacts[s["contact_id"]].get("account_external_id"),
                self.contacts[s["contact_id"]]["email"],
            )
            for s in known
        ]
        relationships = seller_relationships(contact_emails=pairs, accounts=self.accounts)
        wave_name = self.wave.get("name", "")
        common = {
            "seller_name": invitation.get("person_name") or "",
            "wave_name": wave_name,
            "org_name": self.org_name,
        }
        if not any(c["responded"] for a in relationships for c in a["contacts"]):
            # Nothing to compare: no chart of dashes, just how many buyers answered.
            return self.renderer.render(
                "seller_no_answers",
                language=language,
                subject=("no_answers_subject", {"wave": wave_name}),
                **common,
                answered=sum(s["contact_id"] in self.answered for s in subjects),
                invited=len(subjects),
                contacts=[s.get("label") for s in subjects if s.get("label")],
            )
        email = invitation.get("person_email") or ""
        return self.renderer.render(
            "seller_results",
            language=language,
            subject=("results_subject", {"wave": wave_name}),
            **common,
            accounts=relationships,
            overview=dimension_overview(relationships),
            plan=coaching_plan(seller_email=email, accounts=self.accounts, language=language),
            buyer_words=buyer_words(
                db=self.db,
                wave=self.wave,
                contact_ids=[s["contact_id"] for s in known],
                language=language,
            ),
        )


def answered_contacts(db: Database, wave_id: str) -> set[str]:
    """The contact ids of the buyers who completed the wave."""
    return {
        s.get("contact_id")
        for inv in invitations.of_side(
            db=db, wave_id=wave_id, side=BUYER, status=COMPLETED, fields=("subjects",)
        )
        for s in inv.get("subjects") or []
    }


def _distribution(counts: dict[str, Any] | None, order: tuple[str, ...]) -> list[dict[str, Any]]:
    counts = {k: v for k, v in (counts or {}).items() if isinstance(v, int | float)}
    total = sum(counts.values()) or 0
    names = [n for n in order if n in counts] + [n for n in counts if n not in order]
    return [
        {"name": n, "count": int(counts[n]), "share": (counts[n] / total) if total else 0.0}
        for n in names
    ]


def response_rates(db: Database, wave_id: str) -> list[dict[str, Any]]:
    """Invited and completed per side, from the wave's invitations."""
    rates = []
    for side, label in ((BUYER, "buyers"), (SELLER, "sellers")):
        invited = invitations.count(db=db, wave_id=wave_id, side=side)
        completed = invitations.count(db=db, wave_id=wave_id, side=side, status=COMPLETED)
        rates.append(
            {
                "side": label,
                "invited": invited,
                "completed": completed,
                "share": completed / invited if invited else None,
            }
        )
    return rates


def _priority_order(account: dict[str, Any]) -> tuple[bool, float]:
    # Highest priority first; accounts without one last.
    priority = account.get("priority")
    known = isinstance(priority, int | float) and not isinstance(priority, bool)
    return (not known, -float(priority) if known else 0.0)


def _value(estimate: Any) -> Any:
    return estimate.get("value") if isinstance(estimate, dict) else estimate


def digest_words(*, db: Database, wave: dict, language: str) -> dict[str, Any]:
    """For the manager: how many comments the buyers wrote, by kind, and the most recent."""
    summary = comments.buyer_comment_summary(db, wave=wave, shown=DIGEST_COMMENTS_SHOWN)
    shown = [_comment_view(item, language) for item in summary.recent]
    return {
        "shown": shown,
        "more": summary.count - len(shown),
        "heading_key": "digest_words_heading",
        "more_key": "digest_words_more",
        "count": summary.count,
        "by_kind": summary.by_kind,
    }


def send_manager_digest(
    *,
    db: Database,
    delivery: Delivery,
    renderer: Renderer,
    event_id: str,
    wave: dict,
    program: dict,
    results_doc: dict,
    org_name: str | None,
    branding: Branding | None = None,
    priority_accounts_shown: int = Settings.priority_accounts_shown,
) -> Tally:
    """The program manager's summary, its `priority_accounts_shown` first accounts included
    (RAPPORT_PRIORITY_ACCOUNTS_SHOWN); skipped with a log line when no manager_email is set."""
    tally = Tally()
    settings = program.get("settings") or {}
    email = settings.get("manager_email")
    if not email:
        log.info(
            "no manager_email in program settings; digest skipped", extra={"wave_id": wave["_id"]}
        )
        tally.skip("no_manager_email")
        return tally
    languages = settings.get("languages") or []
    language = email_language(settings.get("manager_language") or (languages[:1] or ["en"])[0])
    results = results_doc.get("results") or {}
    accounts = sorted(results.get("accounts") or [], key=_priority_order)
    key = f"{event_id}:{email}:digest"
    meta = {"event_id": event_id, "org_id": wave["org_id"], "wave_id": wave["_id"]}
    to = delivery.recipient(key=key, kind="digest", email=email, name=None, tally=tally, meta=meta)
    if to is None:
        return tally
    rendered = renderer.render(
        "manager_digest",
        language=language,
        subject=("digest_subject", {"wave": wave.get("name", "")}),
        wave_name=wave.get("name", ""),
        program_name=program.get("name", ""),
        org_name=org_name,
        rates=response_rates(db, wave["_id"]),
        relationship_index=_value(results.get("relationship_index")),
        nps=_value(results.get("nps")),
        ri_figure=results.get("relationship_index") or {},
        nps_figure=results.get("nps") or {},
        revenue_at_risk=results.get("revenue_at_risk"),
        levels=_distribution(results.get("levels"), LEVEL_NAMES),
        segments=_distribution(results.get("segments"), SEGMENTS),
        priority_accounts=accounts[:priority_accounts_shown],
        buyer_words=digest_words(db=db, wave=wave, language=language),
    )
    email = Outgoing(
        key=key,
        kind="digest",
        to=to,
        rendered=rendered,
        language=language,
        meta=meta,
        **sent_for(branding or Branding(display_name=org_name)),
    )
    return tally.count(delivery.send_all([email]))


def send_wave_results(
    *,
    db: Database,
    delivery: Delivery,
    renderer: Renderer,
    settings: Settings,
    event_id: str,
    payload: dict[str, Any],
) -> Tally:
    """Handle `wave.scored`: the sellers' results emails, then the manager's digest."""
    org_id, wave_id = payload["org_id"], payload["wave_id"]
    wave = waves.get(db=db, org_id=org_id, wave_id=wave_id)
    if wave is None:
        log.warning("wave.scored for an unknown wave", extra={"wave_id": wave_id})
        return Tally()
    results_doc = load_final_results(db, wave_id)
    program = programs.get(db=db, org_id=org_id, program_id=wave.get("program_id")) or {}
    branding = load_branding(db, org_id)
    org_name = branding.display_name
    tally = send_seller_results(
        db=db,
        delivery=delivery,
        renderer=renderer,
        event_id=event_id,
        wave=wave,
        results_doc=results_doc,
        org_name=org_name,
        branding=branding,
    )
    digest = send_manager_digest(
        db=db,
        delivery=delivery,
        renderer=renderer,
        event_id=event_id,
        wave=wave,
        program=program,
        results_doc=results_doc,
        org_name=org_name,
        branding=branding,
        priority_accounts_shown=settings.priority_accounts_shown,
    )
    tally.merge(digest)
    log.info(
        "results emails handled", extra={"event_id": event_id, "wave_id": wave_id, **tally.__dict__}
    )
    return tally
