"""A seller's page: their relationships with level and gap, their accuracy and its change, and
their coaching plan with "I'll do this" on each behaviour (stored, for the next results email).

A seller sees only their own page (anything else is a 404, as another organisation's wave);
admins, managers and viewers see any seller's page of their organisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import redirect, request, url_for
from flask_login import current_user, login_required

from services.survey.admin.waves import get_wave
from services.survey.console import charts
from services.survey.console.blueprint import bp, container, render
from services.survey.console.people import SELLER, Person, require_program
from services.survey.errors import NotFound, ValidationFailed
from services.survey.sellers import seller_results
from shared import clock
from shared.store import Database, commitments, waves
from shared.vocabulary import CLOSED


def require_seller_page(
    *, db: Database, person: Person, wave_id: str, email: str
) -> dict[str, Any]:
    """The wave, when the person may see this seller's page: the seller themself, or a
    non-seller of the organisation; otherwise NotFound."""
    if person.role == SELLER and person.email.lower() != email.lower():
        raise NotFound("seller not found in this wave")
    wave = get_wave(db=db, org_id=person.org_id, wave_id=wave_id)
    require_program(db=db, person=person, program_id=wave["program_id"])
    return wave


def seller_context(*, db: Database, person: Person, wave_id: str, email: str) -> dict[str, Any]:
    """The seller's results (the seller API's own function) and their commitments."""
    wave = require_seller_page(db=db, person=person, wave_id=wave_id, email=email)
    seller = seller_results(db=db, org_id=person.org_id, wave_id=wave_id, email=email)
    committed = {
        (c["dimension"], c["behaviour"])
        for c in commitments.of_seller(
            db=db, org_id=person.org_id, wave_id=wave_id, seller_email=email
        )
    }
    plan = [
        {
            **dimension,
            "name": charts.words(dimension.get("dimension")),
            "behaviours": [
                {
                    "index": i,
                    "text": text,
                    "committed": (dimension.get("dimension"), i) in committed,
                }
                for i, text in enumerate(dimension.get("behaviours") or ())
            ],
        }
        for dimension in ((seller.get("coaching") or {}).get("dimensions") or ())
    ]
    relationships = seller.get("relationships") or []
    return {
        "wave": {"id": wave_id, "name": wave.get("name"), "status": seller.get("status")},
        "seller": seller,
        "plan": plan,
        "actions": (seller.get("coaching") or {}).get("actions") or [],
        "charts": [charts.relationships_chart("chart-relationships", relationships)]
        if relationships
        else [],
        "own": person.email.lower() == email.lower(),
    }


def commit_behaviour(
    *, db: Database, person: Person, wave_id: str, email: str, form: Mapping[str, str]
) -> None:
    """The seller's "I'll do this" on one behaviour of their plan; only the seller themself."""
    if person.email.lower() != email.lower():
        raise NotFound("seller not found in this wave")
    seller_context_ = seller_context(db=db, person=person, wave_id=wave_id, email=email)
    dimension = (form.get("dimension") or "").strip()
    try:
        index = int(form.get("behaviour") or "")
    except ValueError:
        raise ValidationFailed(
            "behaviour: not a number", details={"behaviour": ["not a number"]}
        ) from None
    chosen = next((d for d in seller_context_["plan"] if d.get("dimension") == dimension), None)
    if chosen is None or not 0 <= index < len(chosen["behaviours"]):
        raise ValidationFailed(
            "behaviour: not in your coaching plan", details={"behaviour": ["not in your plan"]}
        )
    commitments.commit(
        db=db,
        org_id=person.org_id,
        wave_id=wave_id,
        seller_email=email,
        dimension=dimension,
        behaviour=index,
        text=chosen["behaviours"][index]["text"],
        now=clock.stored_now(),
    )


def latest_closed_wave(*, db: Database, person: Person) -> str | None:
    """A seller's newest closed wave among their programs (what they see first)."""
    for program_id in _programs_of(db, person):
        for wave in waves.of_program(db=db, org_id=person.org_id, program_id=program_id):
            if wave.get("status") == CLOSED:
                return wave["_id"]
    return None


def _programs_of(db: Database, person: Person) -> list[str]:
    from services.survey.console.pages import programs_context

    return [p["id"] for p in programs_context(db=db, person=person)["programs"]]


# --- views ----------------------------------------------------------------------------------


@bp.get("/waves/<wave_id>/sellers/<email>")
@login_required
def seller_page(wave_id: str, email: str):
    """One seller's results."""
    context = seller_context(db=container().db, person=current_user, wave_id=wave_id, email=email)
    return render("console/results/seller.html", saved=request.args.get("saved") == "1", **context)


@bp.post("/waves/<wave_id>/sellers/<email>/commitments")
@login_required
def seller_commitment(wave_id: str, email: str):
    """ "I'll do this": store the commitment, back to the plan."""
    commit_behaviour(
        db=container().db, person=current_user, wave_id=wave_id, email=email, form=request.form
    )
    return redirect(url_for("console.seller_page", wave_id=wave_id, email=email, saved=1) + "#plan")


@bp.get("/me")
@login_required
def my_results():
    """A seller's first page: their page of their newest closed wave."""
    box = container()
    if current_user.role != SELLER:
        return redirect(url_for("console.programs"))
    wave_id = latest_closed_wave(db=box.db, person=current_user)
    if wave_id is None:
        return redirect(url_for("console.programs"))
    return redirect(url_for("console.seller_page", wave_id=wave_id, email=current_user.email))
