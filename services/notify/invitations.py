"""Invitation and reminder emails: who is asking, the signed link, the closing date."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from services.notify.delivery import Delivery, Outgoing, Tally
from services.notify.rendering import Renderer, Words, email_language
from shared.organisation import Branding, load_branding, logo_path
from shared.questionnaire import load_bank
from shared.settings import Settings
from shared.store import Database, opt_outs, programs, roster, waves
from shared.store import invitations as invitation_store
from shared.tokens import optout_url, survey_url
from shared.vocabulary import (
    BUYER,
    COMPLETED,
    ENDED_WAVE_STATUSES,
    IN_PROGRESS,
    OPENED,
    SELLER,
)

log = logging.getLogger(__name__)


def as_datetime(value: Any) -> datetime | None:
    """A stored date as an aware UTC datetime (BSON dates, or ISO strings from older writers)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def sent_for(branding: Branding) -> dict[str, str | None]:
    """The Outgoing fields that send an email in the organisation's name."""
    return {"sender_name": branding.from_name, "reply_to": branding.reply_to}


def opted_out_emails(db: Database, org_id: str, emails: list[str]) -> set[str]:
    """Which of these addresses opted out of the organisation's survey email."""
    lowered = sorted({e.strip().lower() for e in emails if isinstance(e, str)})
    if not lowered:
        return set()
    return opt_outs.emails(db=db, org_id=org_id, among=lowered)


class WaveContext:
    """The documents an invitation email needs, loaded once per batch."""

    def __init__(self, *, db: Database, wave: dict) -> None:
        self.db = db
        self.wave = wave
        self.program = programs.get(db=db, org_id=None, program_id=wave.get("program_id")) or {}
        self.branding = load_branding(db, wave["org_id"])
        self.org_name = self.branding.display_name  # None: the wording says "your account team"
        self._askers: dict[str, str | None] = {}

    def load_askers(self, invitations: list[dict]) -> None:
        """The primary seller's name for each buyer contact of these invitations."""
        contact_ids = [
            s.get("contact_id")
            for inv in invitations
            if inv.get("side") == BUYER
            for s in inv.get("subjects") or []
        ]
        contact_ids = [c for c in contact_ids if c and c not in self._askers]
        if not contact_ids:
            return
        contacts = roster.contacts_by_ids(
            db=self.db, contact_ids=contact_ids, fields=("primary_seller_email", "program_id")
        )
        seller_emails = sorted({c.get("primary_seller_email") for c in contacts} - {None})
        names = {
            s["email"]: s.get("name")
            for s in roster.list_sellers(
                db=self.db,
                program_id=self.wave.get("program_id"),
                emails=seller_emails,
                fields=("email", "name"),
            )
        }
        for contact in contacts:
            email = contact.get("primary_seller_email")
            self._askers[contact["_id"]] = names.get(email) or email
        for contact_id in contact_ids:
            self._askers.setdefault(contact_id, None)

    def logo_url(self, settings: Settings) -> str | None:
        """The organisation's logo at the public address, for the email's header."""
        version = self.branding.logo_version
        if not version:
            return None
        return f"{settings.public_url}{logo_path(self.wave['org_id'], version)}"

    def asker(self, invitation: dict) -> str | None:
        for subject in invitation.get("subjects") or []:
            name = self._askers.get(subject.get("contact_id"))
            if name:
                return name
        return None


def render_invitation(
    *,
    renderer: Renderer,
    settings: Settings,
    context: WaveContext,
    invitation: dict,
    reminder: bool,
):
    """The rendered invitation (or reminder) of one invitation, and its opt-out link."""
    side = SELLER if invitation.get("side") == SELLER else BUYER
    language = email_language(invitation.get("language"))
    closes_at = context.wave.get("closes_at")
    unsubscribe = optout_url(invitation["_id"], settings)
    subject_key = f"{'reminder' if reminder else 'invitation'}_subject_{side}"
    rendered = renderer.render(
        "invitation",
        language=language,
        subject=(
            subject_key,
            {
                "org": context.org_name,
                "wave": context.wave.get("name", ""),
                "closes": Words(language, html=False).date(closes_at),
            },
        ),
        side=side,
        reminder=reminder,
        started=invitation.get("status") in (OPENED, IN_PROGRESS) and reminder,
        name=invitation.get("person_name") or "",
        org_name=context.org_name,
        program_name=context.program.get("name", ""),
        wave_name=context.wave.get("name", ""),
        asker=context.asker(invitation) if side == BUYER else None,
        facts=load_bank().what_it_takes(),
        subjects=[s.get("label", "") for s in invitation.get("subjects") or [] if s.get("label")],
        closes_at=closes_at,
        url=survey_url(invitation["_id"], settings, int(invitation.get("link_version") or 0)),
        logo_url=context.logo_url(settings),
        unsubscribe_url=unsubscribe,
    )
    return rendered, language, unsubscribe


def send_invitation_emails(
    *,
    delivery: Delivery,
    renderer: Renderer,
    settings: Settings,
    context: WaveContext,
    invitations: list[dict],
    key_of: Callable[[dict], str],
    kind: str,
    reminder: bool,
    meta: dict[str, Any],
) -> Tally:
    """Record and send one email per invitation; skips revoked and opted-out people."""
    tally = Tally()
    context.load_askers(invitations)
    opted_out = opted_out_emails(
        context.db, context.wave["org_id"], [i.get("person_email") for i in invitations]
    )

    def emails() -> Iterator[Outgoing]:
        for invitation in invitations:
            email = invitation.get("person_email") or ""
            if invitation.get("revoked"):
                tally.skip("revoked")
                continue
            if invitation.get("opted_out") or str(email).strip().lower() in opted_out:
                tally.skip("opted_out")
                continue
            key = key_of(invitation)
            email_meta = {
                **meta,
                "org_id": invitation.get("org_id"),
                "wave_id": invitation.get("wave_id"),
                "invitation_id": invitation["_id"],
                "side": invitation.get("side"),
            }
            to = delivery.recipient(
                key=key,
                kind=kind,
                email=email,
                name=invitation.get("person_name"),
                tally=tally,
                meta=email_meta,
            )
            if to is None:
                continue
            rendered, language, unsubscribe = render_invitation(
                renderer=renderer,
                settings=settings,
                context=context,
                invitation=invitation,
                reminder=reminder,
            )
            yield Outgoing(
                key=key,
                kind=kind,
                to=to,
                rendered=rendered,
                language=language,
                unsubscribe_url=unsubscribe,
                meta=email_meta,
                **sent_for(context.branding),
            )

    return tally.count(delivery.send_all(emails()))


def reminder_round_key(invitation_id: str, round_id: str) -> str:
    """The idempotency key of a reminder asked for from the console (one per round)."""
    return f"reminder:{invitation_id}:manual:{round_id}"


def send_invitations(
    *,
    db: Database,
    delivery: Delivery,
    renderer: Renderer,
    settings: Settings,
    event_id: str,
    payload: dict[str, Any],
) -> Tally:
    """Handle `invitations.created`: one invitation email per invitee of the batch."""
    org_id, wave_id = payload["org_id"], payload["wave_id"]
    wave = waves.get(db=db, org_id=org_id, wave_id=wave_id)
    if wave is None:
        log.warning("invitations for an unknown wave", extra={"wave_id": wave_id})
        return Tally()
    if wave.get("status") in ENDED_WAVE_STATUSES:
        log.info("wave already closing; invitations not sent", extra={"wave_id": wave_id})
        return Tally()
    ids = [str(i) for i in payload.get("invitation_ids") or []]
    invitations = invitation_store.get_many(
        db=db, org_id=org_id, wave_id=wave_id, invitation_ids=ids
    )
    order = {invitation_id: n for n, invitation_id in enumerate(ids)}
    invitations.sort(key=lambda inv: order.get(inv["_id"], 0))
    meta = {"event_id": event_id, "expires_at": as_datetime(wave.get("closes_at"))}
    reminder_round = payload.get("reminder_round")
    if payload.get("kind") == "reminder" and reminder_round:
        # A reminder asked for from the console: one email per invitation and round.
        invitations = [i for i in invitations if i.get("status") != COMPLETED]
        meta["reminder_round"] = str(reminder_round)
        tally = send_invitation_emails(
            delivery=delivery,
            renderer=renderer,
            settings=settings,
            context=WaveContext(db=db, wave=wave),
            invitations=invitations,
            key_of=lambda inv: reminder_round_key(inv["_id"], str(reminder_round)),
            kind="reminder",
            reminder=True,
            meta=meta,
        )
    else:
        tally = send_invitation_emails(
            delivery=delivery,
            renderer=renderer,
            settings=settings,
            context=WaveContext(db=db, wave=wave),
            invitations=invitations,
            key_of=lambda inv: f"{event_id}:{inv['person_email']}:invitation.{inv.get('side')}",
            kind="invitation",
            reminder=False,
            meta=meta,
        )
    log.info(
        "invitations handled",
        extra={"event_id": event_id, "wave_id": wave_id, **tally.__dict__},
    )
    return tally
