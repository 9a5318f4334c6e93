"""The respondent's side of a wave: open a personal link, save answers, submit.

The survey pages and the respondent JSON API call the same keyword-only functions here.
Completing a subject is one atomic update of its response document that also records the
pending `response.completed` event in the document's `outbox` (docs/data-model.md); the
caller then publishes it (`publish_response_event`), and `relay_response_outbox` republishes
whatever is still pending a few seconds later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.survey.errors import Conflict, Gone, NotFound, ValidationFailed
from services.survey.organisations import cached_branding
from shared import clock
from shared.bus import Bus
from shared.events import RESPONSE_COMPLETED, Event
from shared.ids import new_id
from shared.organisation import Branding
from shared.outbox import PUBLISH_LEASE, outbox_entry, publish_response_event
from shared.questionnaire import (
    AnswerError,
    Questionnaire,
    load_bank,
    merge_answers,
    missing_for_submit,
    validate_answers,
)
from shared.settings import Settings
from shared.store import Database, composite_id, invitations, programs, roster, waves
from shared.store import responses as response_store
from shared.tokens import invitation_link_from_token
from shared.vocabulary import (
    COMPLETED,
    DRAFT,
    ENDED_WAVE_STATUSES,
    IN_PROGRESS,
    INVITATION_STATUSES,
    INVITED,
    NOT_STARTED,
    SELLER,
)

log = logging.getLogger(__name__)

_SAVE_ATTEMPTS = 5  # optimistic-concurrency retries when two tabs save the same subject


# --- errors (ApiError subclasses: errors.py maps them to JSON; the pages render their own) ---


class LinkNotValid(NotFound):
    """Unknown, tampered or revoked link: always the same answer, with no detail."""

    def __init__(self) -> None:
        super().__init__("link not valid")


class WaveClosed(Gone):
    """The wave is closing or closed, or its closing time has passed."""

    def __init__(self, respondent: Respondent | None = None) -> None:
        super().__init__("this survey is closed")
        self.respondent = respondent


class UnknownSubject(NotFound):
    """The subject id is not one of this invitation's subjects."""

    def __init__(self) -> None:
        super().__init__("unknown subject")


class AlreadySubmitted(Conflict):
    """The subject's response is already completed; it cannot change."""

    def __init__(self) -> None:
        super().__init__("already submitted")


class InvalidAnswers(ValidationFailed):
    """Some answers cannot be saved; `details` maps each item id to its messages."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        super().__init__("invalid answers", details=details)


class NotReadyToSubmit(ValidationFailed):
    """Required answers are missing; `details` names them."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        super().__init__("required answers are missing", details=details)


class SaveConflict(Conflict):
    """The response kept changing underneath this save (two tabs saving at once)."""

    def __init__(self) -> None:
        super().__init__("the answers changed while saving; please try again")


# --- what a respondent sees ------------------------------------------------------------


@dataclass(frozen=True)
class SubjectState:
    """One relationship the respondent answers about, with what is saved so far."""

    subject_id: str
    contact_id: str
    label: str
    buyer_name: str | None
    status: str  # not_started, in_progress, completed
    answers: Mapping[str, Any]
    resume_section: str | None = None
    response_id: str | None = None
    rev: int = 0
    account_id: str | None = None  # when the invitation's subject carries it

    @property
    def completed(self) -> bool:
        return self.status == COMPLETED


@dataclass(frozen=True)
class Respondent:
    """An opened invitation: who answers, in which wave and language, about which subjects."""

    invitation: Mapping[str, Any]
    wave: Mapping[str, Any]
    language: str  # the item bank language used for this respondent
    branding: Branding  # the organisation asking, as respondents see it
    subjects: tuple[SubjectState, ...]
    closed: bool = False
    questionnaire: Questionnaire | None = None  # None: the default bank in full

    @property
    def bank(self) -> Questionnaire:
        """The questionnaire this respondent answers: the full bank, or its pulse version."""
        return self.questionnaire or load_bank()

    @property
    def sender(self) -> str | None:
        """The name of the company asking, when it has one respondents may read."""
        return self.branding.display_name

    @property
    def invitation_id(self) -> str:
        return self.invitation["_id"]

    @property
    def org_id(self) -> str:
        return self.invitation["org_id"]

    @property
    def wave_id(self) -> str:
        return self.invitation["wave_id"]

    @property
    def side(self) -> str:
        return self.invitation["side"]

    @property
    def name(self) -> str:
        return self.invitation.get("person_name") or ""

    @property
    def completed(self) -> bool:
        """True when every subject is submitted."""
        return all(s.completed for s in self.subjects)

    def subject(self, subject_id: str) -> SubjectState:
        """The subject with this id; UnknownSubject otherwise."""
        for subject in self.subjects:
            if subject.subject_id == subject_id:
                return subject
        raise UnknownSubject()

    def next_open_subject(self) -> SubjectState | None:
        """The first subject not yet submitted (sellers answer for each buyer in turn)."""
        return next((s for s in self.subjects if not s.completed), None)


def wave_is_closed(wave: Mapping[str, Any], *, now: datetime | None = None) -> bool:
    """Closing or closed, or past its closes_at."""
    if wave.get("status") in ENDED_WAVE_STATUSES:
        return True
    closes_at = clock.aware(wave.get("closes_at"))
    return closes_at is not None and closes_at <= (now or clock.now())


def wave_questionnaire(*, db: Database, wave: Mapping[str, Any]) -> Questionnaire:
    """The questionnaire of a wave: its program's `questionnaire` setting (full or pulse)."""
    program = programs.get(
        db=db, org_id=wave.get("org_id"), program_id=wave.get("program_id"), fields=("settings",)
    )
    kind = ((program or {}).get("settings") or {}).get("questionnaire")
    return load_bank().pulse() if kind == "pulse" else load_bank()


def load_respondent(
    *,
    db: Database,
    settings: Settings,
    token: str,
    opened: bool = False,
    allow_closed: bool = False,
    questionnaire: Questionnaire | None = None,
) -> Respondent:
    """The respondent behind a link; marks the invitation opened when `opened` is true.

    Raises LinkNotValid (unknown, tampered or revoked) and WaveClosed, unless
    `allow_closed`, in which case the result has `closed` set.
    """
    link = invitation_link_from_token(token, settings)
    if link is None:
        raise LinkNotValid()
    invitation_id, version = link
    invitation = invitations.get(db=db, invitation_id=invitation_id)
    if invitation is None or invitation.get("revoked"):
        raise LinkNotValid()
    if int(invitation.get("link_version") or 0) != version:
        raise LinkNotValid()  # an earlier link of a re-issued invitation
    wave = waves.get(db=db, org_id=invitation["org_id"], wave_id=invitation["wave_id"])
    if wave is None or wave.get("status") == DRAFT:
        raise LinkNotValid()
    bank = questionnaire or wave_questionnaire(db=db, wave=wave)
    closed = wave_is_closed(wave)
    responses = {
        r["subject_id"]: r
        for r in response_store.of_invitation(
            db=db,
            org_id=invitation["org_id"],
            wave_id=invitation["wave_id"],
            invitation_id=invitation_id,
        )
    }
    buyer_names: dict[str, str] = {}
    if invitation["side"] == SELLER:
        contact_ids = [s["contact_id"] for s in invitation.get("subjects", [])]
        buyer_names = {
            c["_id"]: c.get("name") or ""
            for c in roster.contacts_by_ids(
                db=db, contact_ids=contact_ids, org_id=invitation["org_id"], fields=("name",)
            )
        }
    subjects = []
    for subject in invitation.get("subjects", []):
        response = responses.get(subject["subject_id"])
        subjects.append(
            SubjectState(
                subject_id=subject["subject_id"],
                contact_id=subject.get("contact_id") or subject["subject_id"],
                label=subject.get("label") or "",
                buyer_name=buyer_names.get(subject.get("contact_id")),
                status=response["status"] if response else NOT_STARTED,
                answers=response.get("answers", {}) if response else {},
                resume_section=response.get("resume_section") if response else None,
                response_id=response["_id"] if response else None,
                rev=response.get("rev", 0) if response else 0,
                account_id=subject.get("account_id"),
            )
        )
    respondent = Respondent(
        invitation=invitation,
        wave=wave,
        language=bank.language_for(invitation.get("language")),
        branding=cached_branding(db, invitation["org_id"]),
        subjects=tuple(subjects),
        closed=closed,
        questionnaire=bank,
    )
    if closed and not allow_closed:
        raise WaveClosed(respondent)
    if opened and invitation.get("status") == INVITED:
        invitations.mark_opened(db=db, invitation_id=invitation_id, now=clock.now())
    return respondent


def clean_answers(answers: object, *, questionnaire: Questionnaire | None = None) -> dict[str, Any]:
    """Answers checked against the item bank; InvalidAnswers names each bad field."""
    try:
        return validate_answers(answers, questionnaire=questionnaire)
    except AnswerError as exc:
        raise InvalidAnswers(exc.details) from None


def save_answers(
    *,
    db: Database,
    respondent: Respondent,
    subject_id: str,
    answers: Mapping[str, Any],
    resume_section: str | None = None,
    questionnaire: Questionnaire | None = None,
) -> SubjectState:
    """Validate and merge answers into the subject's response; the first save creates it.

    Raises UnknownSubject, InvalidAnswers, AlreadySubmitted, WaveClosed.
    """
    if respondent.closed:
        raise WaveClosed(respondent)
    subject = respondent.subject(subject_id)
    cleaned = clean_answers(answers, questionnaire=questionnaire or respondent.bank)
    saved, _ = _write(
        db=db,
        respondent=respondent,
        subject=subject,
        new_answers=cleaned,
        extra={"resume_section": resume_section} if resume_section else {},
    )
    _advance_invitation(db=db, respondent=respondent, to=IN_PROGRESS)
    return saved


def submit_answers(
    *,
    db: Database,
    bus: Bus | None,
    respondent: Respondent,
    subject_id: str,
    answers: Mapping[str, Any] | None = None,
    questionnaire: Questionnaire | None = None,
    min_dimensions: int | None = None,
    relay_after_s: float = 5.0,
) -> SubjectState:
    """Complete one subject: merge any last answers, check the submit rule, mark it completed.

    The completion and its pending `response.completed` event are one atomic write; the
    event is then published at once when `bus` is given (the relay retries it otherwise).
    Raises UnknownSubject, InvalidAnswers, NotReadyToSubmit (400), AlreadySubmitted (409),
    WaveClosed (410).
    """
    if respondent.closed:
        raise WaveClosed(respondent)
    bank = questionnaire or respondent.bank
    subject = respondent.subject(subject_id)
    cleaned = clean_answers(answers or {}, questionnaire=bank)

    def completion(merged: Mapping[str, Any], response_id: str) -> dict[str, Any]:
        missing = missing_for_submit(merged, questionnaire=bank, min_dimensions=min_dimensions)
        if missing:
            raise NotReadyToSubmit(missing)
        now = clock.now()
        event = Event(
            RESPONSE_COMPLETED,
            {
                "org_id": respondent.org_id,
                "wave_id": respondent.wave_id,
                "response_id": response_id,
                "invitation_id": respondent.invitation_id,
                "subject_id": subject.subject_id,
                "side": respondent.side,
                "contact_id": subject.contact_id,
            },
            event_id=new_id(),
            occurred_at=now,
        )
        # The completing request owns the first publish; the relay waits this long.
        held = now + timedelta(seconds=relay_after_s) + PUBLISH_LEASE if bus is not None else now
        return {
            "set": {"status": COMPLETED, "completed_at": now, "resume_section": None},
            "push": outbox_entry(event, lease_until=held),
        }

    try:
        saved, event = _write(
            db=db,
            respondent=respondent,
            subject=subject,
            new_answers=cleaned,
            extra={},
            completing=completion,
        )
    except NotReadyToSubmit:
        if cleaned:
            # Not complete yet, but what was sent is kept: nothing typed is lost.
            _write(db=db, respondent=respondent, subject=subject, new_answers=cleaned, extra={})
            _advance_invitation(db=db, respondent=respondent, to=IN_PROGRESS)
        raise
    assert event is not None  # a completing write always records its event
    _advance_invitation(db=db, respondent=respondent, to=IN_PROGRESS)
    _complete_invitation_if_done(db=db, respondent=respondent)
    log.info(
        "response completed",
        extra={
            "wave_id": respondent.wave_id,
            "invitation_id": respondent.invitation_id,
            "response_id": saved.response_id,
            "event_id": event["event_id"],
        },
    )
    if bus is not None:
        publish_response_event(db=db, bus=bus, response_id=saved.response_id, entry=event)
    return saved


def _write(
    *,
    db: Database,
    respondent: Respondent,
    subject: SubjectState,
    new_answers: Mapping[str, Any],
    extra: Mapping[str, Any],
    completing: Callable[[Mapping[str, Any], str], dict[str, Any]] | None = None,
) -> tuple[SubjectState, dict[str, Any] | None]:
    """Merge answers into the response under optimistic concurrency (the `rev` counter).

    Answer keys contain dots ("trust.1"), so the answers are written as one whole map,
    guarded by the revision read; a concurrent save makes this one re-read and retry.
    With `completing`, the same write also completes the response and pushes its event.
    """
    current: Mapping[str, Any] | None = None
    if subject.response_id is not None:
        current = {
            "_id": subject.response_id,
            "status": subject.status,
            "answers": subject.answers,
            "rev": subject.rev,
        }
    for attempt in range(_SAVE_ATTEMPTS):
        if attempt:
            current = response_store.find(
                db=db,
                org_id=respondent.org_id,
                wave_id=respondent.wave_id,
                invitation_id=respondent.invitation_id,
                subject_id=subject.subject_id,
            )
        now = clock.now()
        if current is not None and current.get("status") == COMPLETED:
            raise AlreadySubmitted()
        merged = merge_answers(current.get("answers", {}) if current else {}, new_answers)
        response_id = (
            current["_id"]
            if current
            else composite_id(respondent.invitation_id, subject.subject_id)
        )
        change = completing(merged, response_id) if completing else {"set": {}, "push": None}
        fields = {"answers": merged, "updated_at": now, **extra, **change["set"]}
        if current is None:
            doc = _new_response(db=db, respondent=respondent, subject=subject, now=now)
            doc.update(_id=response_id, rev=1, **fields)
            if change["push"]:
                doc["outbox"] = [change["push"]]
            if not response_store.insert_new(db=db, response=doc):
                continue  # the other tab created it first: merge into theirs
            written = doc
        else:
            written = response_store.update_unchanged(
                db=db,
                org_id=respondent.org_id,
                response_id=response_id,
                rev=current.get("rev", 0),
                fields=fields,
                event=change["push"],
            )
            if written is None:
                continue
        state = SubjectState(
            subject_id=subject.subject_id,
            contact_id=subject.contact_id,
            label=subject.label,
            buyer_name=subject.buyer_name,
            status=written["status"],
            answers=written["answers"],
            resume_section=written.get("resume_section"),
            response_id=written["_id"],
            rev=written.get("rev", 0),
            account_id=subject.account_id,
        )
        return state, change["push"]
    raise SaveConflict()


def _new_response(
    *, db: Database, respondent: Respondent, subject: SubjectState, now: datetime
) -> dict[str, Any]:
    account_id = subject.account_id
    if account_id is None:
        contact = roster.get_contact(
            db=db, contact_id=subject.contact_id, org_id=respondent.org_id, fields=("account_id",)
        )
        account_id = contact.get("account_id") if contact else None
    doc: dict[str, Any] = {
        "org_id": respondent.org_id,
        "program_id": respondent.invitation.get("program_id"),
        "wave_id": respondent.wave_id,
        "invitation_id": respondent.invitation_id,
        "subject_id": subject.subject_id,
        "side": respondent.side,
        "contact_id": subject.contact_id,
        "account_id": account_id,
        "answers": {},
        "status": IN_PROGRESS,
        "created_at": now,
        "updated_at": now,
        "completed_at": None,
        "outbox": [],
    }
    if respondent.side == SELLER:
        doc["seller_email"] = respondent.invitation.get("person_email")
    return doc


def _advance_invitation(*, db: Database, respondent: Respondent, to: str) -> None:
    """Move the invitation's status forward (never back), once."""
    current = respondent.invitation.get("status", INVITED)
    if INVITATION_STATUSES.index(current) >= INVITATION_STATUSES.index(to):
        return
    earlier = list(INVITATION_STATUSES[: INVITATION_STATUSES.index(to)])
    now = clock.now()
    changes: dict[str, Any] = {"status": to}
    if not respondent.invitation.get("opened_at"):
        changes["opened_at"] = now
    invitations.advance(
        db=db, invitation_id=respondent.invitation_id, earlier=earlier, changes=changes
    )


def _complete_invitation_if_done(*, db: Database, respondent: Respondent) -> None:
    """Completed when every subject's response is: counted in the store, not in memory."""
    wanted = len(respondent.subjects)
    done = response_store.count_completed(
        db=db, wave_id=respondent.wave_id, invitation_id=respondent.invitation_id
    )
    if done >= wanted:
        invitations.mark_completed(db=db, invitation_id=respondent.invitation_id, now=clock.now())
