"""The scoring worker: MongoDB and the bus around the pure engine.

On `response.completed` it scores that response's account from the account's slice of
the wave (its responses, contacts, pairs and account document, a few reads whatever the
wave's size) and marks the wave's provisional results stale; a periodic pass
(`refresh_provisional`, every RAPPORT_SCORING_REFRESH_S) recomputes the stale waves'
results once per burst of completions. On `wave.closed` it recomputes the wave in one
vectorised pass against the previous closed wave, writes final results and coaching
plans, marks the wave closed, then publishes `wave.scored` and one `relationship.alert`
per alert. Every write is an upsert keyed by `_id`, guarded so that provisional documents
never replace final ones or ones read from the wave later, and every event it publishes
has an id derived from the wave, so a redelivery or a restart after a kill leaves the
same stored results and sends nothing new.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from services.bootstrap import Container
from services.scoring import cases, engine
from services.scoring.coaching import load_coaching_library
from shared import clock
from shared.bus import Bus, BusError, ConsumerSpec
from shared.events import (
    RELATIONSHIP_ALERT,
    RESPONSE_COMPLETED,
    SCORES_UPDATED,
    WAVE_CLOSED,
    WAVE_SCORED,
    Event,
)
from shared.periodic import PeriodicPass
from shared.settings import Settings
from shared.store import Database, programs, responses, roster, scores, scoring_state, waves
from shared.store import results as result_store
from shared.store.results import ranking_chunks, ranking_key
from shared.store.scores import Score
from shared.vocabulary import BUYER, CLOSED, COMPLETED, SELLER

log = logging.getLogger(__name__)

CONSUMER = "scoring"
REFRESH_LEASE_S = 120.0  # a refresh that takes longer may run twice (harmless)


class WaveNotFound(LookupError):
    """An event names a wave that does not exist (it is logged and dropped, never retried)."""


@dataclass(frozen=True)
class LoadedWave:
    """A wave read from MongoDB, ready for the engine."""

    wave: Mapping[str, Any]
    program: Mapping[str, Any]
    input: engine.WaveInput
    settings: engine.ScoringSettings
    buyer_response_ids: list[str]
    seller_response_ids: list[str]
    owners: dict[str, str]  # account external id -> account owner email


def load_wave(db: Database, wave_id: str, *, account_id: str | None = None) -> LoadedWave:
    """Everything the engine needs for one wave: roster, completed responses, settings.

    With `account_id` only that account: its contacts, the sellers assigned to them and
    their responses.
    """
    wave = waves.get(db=db, org_id=None, wave_id=wave_id)
    if wave is None:
        raise WaveNotFound(wave_id)
    program = programs.get(db=db, org_id=wave["org_id"], program_id=wave["program_id"]) or {}
    found_roster = roster.engine_rows(db=db, program_id=wave["program_id"], account_id=account_id)
    rows, contacts, owners = found_roster.rows, found_roster.contacts, found_roster.owners
    on_roster = {r["contact_email"] for r in rows}
    assigned = {(r["seller_email"], r["contact_email"]) for r in rows}
    buyers, sellers, buyer_ids, seller_ids = [], [], [], []
    seen_buyers: set[str] = set()
    found = responses.for_scoring(
        db=db,
        wave_id=wave_id,
        fields=("answers", "side", "contact_id", "seller_email", "status"),
        contact_ids=None if account_id is None else contacts,
    )
    for response in found:
        if response.get("status") != COMPLETED:
            continue
        contact = contacts.get(response.get("contact_id"))
        if contact is None or contact["email"] not in on_roster:
            continue  # the contact left the roster after answering
        record = {"contact_email": contact["email"], "answers": response.get("answers") or {}}
        if response["side"] == BUYER:
            if contact["email"] in seen_buyers:
                continue
            seen_buyers.add(contact["email"])
            buyers.append(record)
            buyer_ids.append(response["_id"])
        elif (response.get("seller_email"), contact["email"]) in assigned:
            sellers.append({**record, "seller_email": response["seller_email"]})
            seller_ids.append(response["_id"])
    wave_input = engine.build_wave_input(
        roster=rows, buyer_responses=buyers, seller_responses=sellers
    )
    settings = engine.ScoringSettings.from_program(program.get("settings") or {})
    return LoadedWave(wave, program, wave_input, settings, buyer_ids, seller_ids, owners)


def _response_rows(loaded: LoadedWave, result: engine.WaveResult) -> list[dict[str, Any]]:
    """The scores of each completed response (the export's rows), stored in its account's
    document."""
    wave = result.wave
    pair_of = _pair_of_seller_row(result)
    rows = []
    sides = (
        (BUYER, result.buyers, loaded.buyer_response_ids, wave.buyer_contact, None),
        (SELLER, result.sellers, loaded.seller_response_ids, wave.seller_contact, wave.seller_id),
    )
    for side, found, ids, contact_of, seller_of in sides:
        for row, response_id in enumerate(ids):
            contact = int(contact_of[row])
            doc = {
                "key": response_id,
                "side": side,
                "contact_email": str(wave.contact_email[contact]),
                "account_external_id": str(wave.account_external_id[wave.contact_account[contact]]),
                "seller_email": None
                if seller_of is None
                else str(wave.seller_email[seller_of[row]]),
                **engine.response_scores_to_json(found, row),
            }
            if seller_of is not None:  # the seller's own pair with the buyer, None unanswered
                doc["pair"] = _pair_json(result, pair_of.get(row))
            rows.append(doc)
    return rows


def _pair_of_seller_row(result: engine.WaveResult) -> dict[int, int]:
    """The pair (section 3) of each seller response that has one, by seller row."""
    return {row: p for p, row in enumerate(result.pairs.seller_row.tolist())}


def _pair_json(result: engine.WaveResult, p: int | None) -> dict[str, Any] | None:
    """One pair's gaps as stored with the seller's response (what the view shows, as computed)."""
    if p is None:
        return None
    pairs = result.pairs
    return {
        "gap": _plain(pairs.gap[p]),
        "gap_class": engine.GAP_CLASSES[c] if (c := int(pairs.gap_class[p])) >= 0 else None,
        "nps_gap": _plain(pairs.nps_gap[p]),
        "dimension_gaps": {
            d: _plain(g) for d, g in zip(engine.DIMENSIONS, pairs.dimension_gaps[p], strict=True)
        },
    }


@functools.cache
def _coaching_library() -> dict[str, Any]:
    return load_coaching_library()


def _write_scores(
    db: Database, loaded: LoadedWave, found: list[Score], *, as_of: datetime, final: bool
) -> int:
    """Store the wave's scores (guarded: shared/store/scores.py); returns how many were kept
    off because final or later documents hold their place."""
    wave_id, org_id = loaded.wave["_id"], loaded.wave["org_id"]
    return scores.write(
        db=db, wave_id=wave_id, org_id=org_id, scores=found, as_of=as_of, final=final
    )


def _account_scores(
    loaded: LoadedWave,
    result: engine.WaveResult,
    *,
    skip: Set[str] | None = None,
    stored: Mapping[str, Set[str]] | None = None,
    alerts: Mapping[str, list[dict[str, Any]]] | None = None,
) -> list[Score]:
    """Two documents per account: its view (`account`) and its responses' scores
    (`responses`).

    With `skip` (ids of responses already scored), only the accounts with a response not in
    `skip`. With `stored` (the response ids each account's `responses` document holds: the
    close), every account's view with its `alerts`, and its responses only where they differ
    from the stored ones (a completed response's scores never change: the close does not
    rewrite them).
    """
    library = _coaching_library()
    by_account: dict[str, list[dict[str, Any]]] = {}
    for row in _response_rows(loaded, result):
        by_account.setdefault(row["account_external_id"], []).append(row)
    accounts = result.wave.account_external_id.tolist()
    if skip is not None:
        accounts = [a for a in accounts if any(r["key"] not in skip for r in by_account.get(a, ()))]
    writes = []
    for external_id in accounts:
        account = engine.account_to_json(result, external_id, coaching_library=library)
        fields: dict[str, Any] = {"account": account}
        if alerts is not None:
            fields["alerts"] = alerts.get(external_id, [])
        writes.append(Score(scores.ACCOUNT, external_id, fields))
        rows = by_account.get(external_id, [])
        if stored is None or set(stored.get(external_id, ())) != {r["key"] for r in rows}:
            writes.append(Score(scores.RESPONSES, external_id, scores.responses_fields(rows)))
    return writes


def write_account_scores(
    db: Database, loaded: LoadedWave, result: engine.WaveResult, *, as_of: datetime
) -> bool:
    """Store the provisional scores of one account's slice of a wave (`load_wave` with an
    accounts filter): its responses, contacts, pairs and the account document.

    Every figure of an account depends on that account's roster and responses alone, so it
    equals the whole wave's; only the coaching block differs: provisional, it ranks each
    seller's dimensions over this account's relationships, the final one over the wave.
    Returns False when final (or later) documents were already there and were kept.
    """
    return _write_scores(db, loaded, _account_scores(loaded, result), as_of=as_of, final=False) == 0


def write_results(
    db: Database,
    loaded: LoadedWave,
    result: engine.WaveResult,
    *,
    final: bool,
    as_of: datetime | None = None,
) -> bool:
    """Store the wave's results document and its ranked account list (shared.store.results); final
    results also every response's scores, the account documents, the alerts and the coaching
    plans.

    Provisional results (the periodic refresh of an open wave) write the results document
    only: each completion has already written its own account's scores. They never
    overwrite final results, nor results read from the wave later (`as_of`); returns False
    when they would have.
    """
    wave_id, org_id = loaded.wave["_id"], loaded.wave["org_id"]
    as_of = as_of or datetime.now(UTC)
    status = CLOSED if final else loaded.wave.get("status")
    results_json = engine.wave_result_to_json(result, wave_id=wave_id, status=status, final=final)
    # Alerts are stored per account: a large wave's alerts alone pass MongoDB's 16 MB limit;
    # the ranked account list in chunks (shared.store.results).
    alerts = results_json.pop("alerts", None) or ()
    chunks = ranking_chunks(results_json.pop("accounts"))
    ranking = [Score("ranking", ranking_key(i), {"accounts": c}) for i, c in enumerate(chunks)]
    if not final:
        _write_scores(db, loaded, ranking, as_of=as_of, final=False)
    else:
        library = _coaching_library()
        alerts_by_account: dict[str, list[dict[str, Any]]] = {}
        for alert in alerts:
            alerts_by_account.setdefault(alert["account_external_id"], []).append(alert)
        stored = scores.scored_response_ids(db=db, wave_id=wave_id)
        writes = _account_scores(loaded, result, stored=stored, alerts=alerts_by_account)
        writes += [
            Score(
                "coaching",
                email,
                {"plan": engine.seller_plan_to_json(result, s, coaching_library=library)},
            )
            for s, email in enumerate(result.wave.seller_email.tolist())
        ]
        _write_scores(db, loaded, writes + ranking, as_of=as_of, final=True)
    # never over final results, nor over a recompute that read the wave later than this one
    return result_store.write(
        db=db,
        wave_id=wave_id,
        org_id=org_id,
        results=results_json,
        ranking_chunks=len(chunks),
        as_of=as_of,
        computed_at=datetime.now(UTC),
        final=final,
    )


def _is_small(db: Database, wave_id: str, max_invited: int) -> bool:
    """Whether the wave invited at most `max_invited` people (decided by size, not by a
    measured time, so a burst that slows the machine does not switch paths)."""
    fields = ("invited_buyers", "invited_sellers")
    wave = waves.get(db=db, org_id=None, wave_id=wave_id, fields=fields) or {}
    invited = (wave.get("invited_buyers") or 0) + (wave.get("invited_sellers") or 0)
    return invited <= max_invited


def _contact_of(db: Database, response_id: str, contact_id: str | None) -> dict[str, Any] | None:
    """The completed response's contact as it is now (its account may have changed)."""
    if contact_id is None:
        response = responses.get(db=db, response_id=response_id, fields=("contact_id",))
        contact_id = response.get("contact_id") if response else None
    if contact_id is None:
        return None
    fields = ("account_id", "account_external_id", "email")
    return roster.get_contact(db=db, contact_id=contact_id, fields=fields)


def score_response(
    *,
    db: Database,
    response_id: str,
    wave_id: str,
    contact_id: str | None = None,
    org_id: str | None = None,
    bus: Bus | None = None,
    whole_wave_max_invited: int = Settings.whole_wave_max_invited,
) -> bool:
    """Score one completed response: its account's responses, contacts, pairs and account
    document, from that account's slice of the wave (a few reads, whatever the wave's size).

    The wave's provisional results are marked stale first (`refresh_provisional` recomputes
    them, once for a burst of completions). A wave of at most `whole_wave_max_invited`
    invitations (RAPPORT_WHOLE_WAVE_MAX_INVITED) is instead recomputed whole here, results
    included. A response whose scores are already stored was included by a recompute that read the wave after its
    completion (a completed response never changes), so in a burst most completions cost
    two reads. The wave is marked stale before any scores are written, and whenever the
    stored results were read before the response's scores, so a crash at any point leaves
    a mark. Once the response's scores are stored it publishes `scores.updated` on `bus`.
    Returns False when this call wrote nothing.
    """
    started = time.perf_counter()
    as_of = clock.now()
    contact = _contact_of(db, response_id, contact_id)
    account_key = (contact or {}).get("account_external_id")
    scored = account_key and scores.response_scored(
        db=db, wave_id=wave_id, account_key=account_key, response_id=response_id
    )
    if scored:
        # included by a recompute that read the wave after this completion; the wave's
        # results include it too unless they were read before that recompute
        state = scoring_state.get(db=db, wave_id=wave_id) or {}
        if not (scored.get("final") or state.get("final")):
            if state.get("results_as_of") is None or state["results_as_of"] < scored["as_of"]:
                mark_stale(db, wave_id, org_id)
            _announce(
                bus, org_id, wave_id, response_id, {"contact_email": contact["email"]} | contact
            )
        return False
    state = mark_stale(db, wave_id, org_id)
    if state.get("final"):
        return False
    if contact is None or not contact.get("account_id"):
        log.warning(
            "completed response without a contact on the roster", extra={"wave_id": wave_id}
        )
        return False
    if _is_small(db, wave_id, whole_wave_max_invited):
        # recomputing all of a small wave costs about what a slice does (on the local
        # stand-in, less under a burst), and its results are current at once
        how = "whole wave"
        written = recompute_provisional(db, wave_id, as_of=clock.now(), new_accounts=True)
    else:
        how = "account slice"
        written = _score_account_slice(db, wave_id, contact["account_id"], as_of=as_of)
    if written:
        stored = {"contact_email": contact["email"]} | contact
        _announce(bus, org_id, wave_id, response_id, stored)
    log.info(
        "response scored",
        extra={
            "wave_id": wave_id,
            "response_id": response_id,
            "how": how,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return written


def _announce(
    bus: Bus | None,
    org_id: str | None,
    wave_id: str,
    response_id: str,
    scored: Mapping[str, Any],
) -> None:
    """`scores.updated` for whoever listens, once the response's scores are stored (also by
    a recompute made for another completion; the id is the response's, so a listener that
    drops duplicates hears of each once). Nothing in Rapport needs it: not required, and a
    broker that cannot take it loses a notification, not a score."""
    if bus is None:
        return
    payload = {
        "org_id": org_id,
        "wave_id": wave_id,
        "response_id": response_id,
        "contact_email": scored.get("contact_email"),
        "account_external_id": scored.get("account_external_id"),
    }
    try:
        bus.publish(
            Event(SCORES_UPDATED, payload, event_id=f"scores-{response_id}"), required=False
        )
    except BusError as exc:
        log.warning("scores.updated not published", extra={"wave_id": wave_id, "error": repr(exc)})


def _score_account_slice(db: Database, wave_id: str, account_id: str, *, as_of: datetime) -> bool:
    loaded = load_wave(db, wave_id, account_id=account_id)
    if loaded.wave.get("status") == CLOSED:
        return False
    settings = dataclasses.replace(loaded.settings, bootstrap_samples=0)  # wave figures: refresh
    return write_account_scores(db, loaded, engine.score_wave(loaded.input, settings), as_of=as_of)


def mark_stale(db: Database, wave_id: str, org_id: str | None = None) -> dict[str, Any]:
    """Record that the wave's provisional results miss a completion committed before now;
    returns the wave's `scoring_state` document.

    `dirty_at` only grows ($max), so a recompute that read the wave after it includes every
    completion marked so far, and may clear `stale` (see recompute_provisional).
    """
    return scoring_state.mark_stale(db=db, wave_id=wave_id, org_id=org_id, now=clock.now())


def recompute_provisional(
    db: Database, wave_id: str, *, as_of: datetime, new_accounts: bool = False
) -> bool:
    """Recompute an open wave's provisional results from a read at `as_of` and clear its
    `stale` mark unless a completion was marked since. With `new_accounts`, also store the
    scores of responses not scored yet and their accounts. Returns whether results were
    written (False: the wave is closed, or final or later results are there)."""
    started = time.perf_counter()
    try:
        loaded = load_wave(db, wave_id)
        if loaded.wave.get("status") == CLOSED:
            return False
        result = engine.score_wave(loaded.input, loaded.settings)
        if new_accounts:
            stored = scores.scored_response_ids(db=db, wave_id=wave_id)
            scored = {r for ids in stored.values() for r in ids}
            found = _account_scores(loaded, result, skip=scored)
            _write_scores(db, loaded, found, as_of=as_of, final=False)
        written = write_results(db, loaded, result, final=False, as_of=as_of)
        if written:
            took_s = time.perf_counter() - started
            scoring_state.record_results(db=db, wave_id=wave_id, as_of=as_of, took_s=took_s)
        return written
    finally:
        # stale stays set when a completion was marked after this read, or in the same
        # millisecond (BSON dates keep milliseconds): at worst one more recompute
        scoring_state.clear_stale(db=db, wave_id=wave_id, read_at=as_of)


def refresh_provisional(db: Database, *, lease_s: float = REFRESH_LEASE_S) -> int:
    """One pass of the periodic refresh: recompute the provisional results of every open
    wave marked stale. A wave is claimed with a lease, so several scoring processes do not
    recompute it at once; one that dies mid-way leaves it to the next after the lease.
    Returns how many waves were refreshed."""
    refreshed = 0
    lease = timedelta(seconds=lease_s)
    for wave_id in scoring_state.stale_waves(db=db):
        if not scoring_state.claim_refresh(db=db, wave_id=wave_id, now=clock.now(), lease=lease):
            continue  # another process is on it, or it was just refreshed or finalised
        try:
            refreshed += int(recompute_provisional(db, wave_id, as_of=clock.now()))
        except WaveNotFound:
            log.warning("stale results of an unknown wave dropped", extra={"wave_id": wave_id})
            scoring_state.clear_stale(db=db, wave_id=wave_id)
        finally:
            scoring_state.release_refresh(db=db, wave_id=wave_id)
    return refreshed


def start_background(container: Container) -> PeriodicPass:
    """The periodic refresh of provisional results, on a daemon thread of this process:
    every RAPPORT_SCORING_REFRESH_S, and busy at most a quarter of the time."""
    db, interval = container.db, container.settings.scoring_refresh_s
    # a refresh reads the whole wave: on a big one it takes seconds, and must leave room
    # for the completions' own account updates
    return PeriodicPass(
        "scoring_refresh", lambda: refresh_provisional(db), interval_s=interval, busy_share=0.25
    ).start()


def close_wave(*, db: Database, bus: Bus, wave_id: str) -> engine.WaveResult:
    """The closing recompute: final results, coaching plans, `wave.scored` and the alerts."""
    started = time.perf_counter()
    loaded = load_wave(db, wave_id)
    previous_id = waves.previous_closed(db=db, wave=loaded.wave)
    previous = load_wave(db, previous_id).input if previous_id else None
    # closed: no more answers can come, so a decision maker who did not answer alerts
    result = engine.score_wave(loaded.input, loaded.settings, previous, closed=True)
    write_results(db, loaded, result, final=True)
    waves.mark_closed(db=db, wave_id=wave_id, now=datetime.now(UTC))
    scoring_state.mark_final(db=db, wave_id=wave_id, org_id=loaded.wave["org_id"])
    # close the loop: one case per trigger, opened once (services/scoring/cases.py)
    cases.open_for_wave(db, loaded.wave, loaded.program, result.alerts, loaded.owners, previous_id)
    org_id, program_id = loaded.wave["org_id"], loaded.wave["program_id"]
    # Ids derived from the wave: a redelivered wave.closed republishes the same events,
    # which the notify service recognises and does not send twice.
    for n, alert in enumerate(result.alerts):
        payload = {
            "org_id": org_id,
            "wave_id": wave_id,
            "program_id": program_id,
            "account_external_id": alert.account_external_id,
            "owner_email": loaded.owners.get(alert.account_external_id),
            "kind": alert.reason,
            "contact_email": alert.contact_key,
            "detail": {"previous": _plain(alert.previous), "current": _plain(alert.current)},
        }
        bus.publish(Event(RELATIONSHIP_ALERT, payload, event_id=f"alert-{wave_id}-{n}"))
    bus.publish(
        Event(
            WAVE_SCORED,
            {"org_id": org_id, "wave_id": wave_id, "program_id": program_id},
            event_id=f"scored-{wave_id}",
        )
    )
    log.info(
        "wave scored",
        extra={
            "wave_id": wave_id,
            "alerts": len(result.alerts),
            "ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return value


def handle(
    event: Event,
    *,
    db: Database,
    bus: Bus,
    whole_wave_max_invited: int = Settings.whole_wave_max_invited,
) -> None:
    """Dispatch one event; an unknown wave is logged and dropped (retrying cannot help)."""
    try:
        if event.type == RESPONSE_COMPLETED:
            score_response(
                db=db,
                response_id=event.payload["response_id"],
                wave_id=event.payload["wave_id"],
                contact_id=event.payload.get("contact_id"),
                org_id=event.payload.get("org_id"),
                bus=bus,
                whole_wave_max_invited=whole_wave_max_invited,
            )
        elif event.type == WAVE_CLOSED:
            close_wave(db=db, bus=bus, wave_id=event.payload["wave_id"])
    except WaveNotFound:
        log.warning("event for an unknown wave dropped", extra={"event_id": event.event_id})


def consumer_specs(container: Container) -> list[ConsumerSpec]:
    """The scoring consumer, bound to completions and closings."""
    return [
        ConsumerSpec(
            name=CONSUMER,
            bindings=(RESPONSE_COMPLETED, WAVE_CLOSED),
            handler=lambda event: handle(
                event,
                db=container.db,
                bus=container.bus,
                whole_wave_max_invited=container.settings.whole_wave_max_invited,
            ),
            idempotency=container.idempotency(),
        )
    ]
