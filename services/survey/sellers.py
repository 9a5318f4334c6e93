"""One seller's view of a wave (API.md 1.1 `/sellers/{email}`): their relationships, coaching
plan and prediction accuracy (SCORING.md section 8), as the scoring worker stored them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.survey.auth import require_org
from services.survey.errors import NotFound
from services.survey.results import wave_results
from shared.store import Database, invitations, roster, scores
from shared.vocabulary import DIMENSIONS, SELLER

bp = Blueprint("sellers", __name__, url_prefix="/api/v1/waves", description="Seller results")


def _relationship(
    person: Mapping[str, Any],
    response: Mapping[str, Any] | None,
    account: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """One buyer assigned to the seller: the buyer's own view (null until the buyer answers),
    the seller's prediction (null until the seller answers about them) and the pair's gaps,
    all as stored. `person` is the buyer as the roster knows them (email, name, role,
    account_external_id, account_name), for a buyer not scored yet."""
    email = person.get("email")
    contact = next(
        (c for c in (account or {}).get("contacts") or () if c.get("email") == email), {}
    )
    buyer_dimensions = contact.get("dimensions") or {}
    buyer_answered = bool(contact.get("responded"))
    pair = (response or {}).get("pair")
    return {
        "contact_email": email,
        "contact_name": contact.get("name", person.get("name")),
        "role": contact.get("role", person.get("role")),
        "account_external_id": person.get("account_external_id"),
        "account_name": (account or {}).get("name", person.get("account_name")),
        "buyer_answered": buyer_answered,
        "seller_answered": response is not None,
        "buyer": {
            "relationship_index": contact.get("relationship_index"),
            "level": contact.get("level"),
            "segment": contact.get("segment"),
            "nps_category": contact.get("nps_category"),
            "dimensions": {d: (buyer_dimensions.get(d) or {}).get("buyer") for d in DIMENSIONS},
        }
        if buyer_answered
        else None,
        "seller": {
            "relationship_index": response.get("relationship_index"),
            "recommend": response.get("recommend"),
            "dimensions": dict(response.get("dimensions") or {}),
        }
        if response is not None
        else None,
        "gap": (pair or {}).get("gap"),
        "gap_class": (pair or {}).get("gap_class"),
        "nps_gap": (pair or {}).get("nps_gap"),
        "dimension_gaps": (pair or {}).get("dimension_gaps"),
        "trend": contact.get("trend"),
    }


def _assigned(*, db: Database, org_id: str, wave_id: str, email: str) -> list[dict[str, Any]]:
    """The buyers the seller was asked about in this wave (their invitation's subjects), as
    the roster knows them: email, name, role, account_external_id, account_name."""
    invitation = invitations.of_person(
        db=db, org_id=org_id, wave_id=wave_id, side=SELLER, email=email, fields=["subjects"]
    )
    subjects = (invitation or {}).get("subjects") or ()
    contacts = roster.contacts_by_ids(
        db=db,
        contact_ids=[s.get("contact_id") for s in subjects],
        org_id=org_id,
        fields=["email", "name", "role", "account_id"],
    )
    accounts = {
        account_id: roster.get_account(
            db=db, account_id=account_id, org_id=org_id, fields=["external_id", "name"]
        )
        or {}
        for account_id in {c.get("account_id") for c in contacts}
    }
    return [
        {
            "email": c.get("email"),
            "name": c.get("name"),
            "role": c.get("role"),
            "account_external_id": accounts[c.get("account_id")].get("external_id"),
            "account_name": accounts[c.get("account_id")].get("name"),
        }
        for c in contacts
    ]


def seller_results(*, db: Database, org_id: str, wave_id: str, email: str) -> dict[str, Any]:
    """The seller's accuracy (from the wave's results), their relationships and their final
    coaching plan (null until the wave closes). The relationships are every buyer the seller
    was asked about in the wave, answered or not by either side (`seller_answered`,
    `buyer_answered`), and any other buyer the seller answered about: their responses' stored
    scores beside their contacts' account documents. An unknown wave or seller is NotFound."""
    results = wave_results(db=db, org_id=org_id, wave_id=wave_id)
    seller = next((s for s in results.get("sellers") or () if s.get("email") == email), None)
    if seller is None:
        raise NotFound("seller not found in this wave")
    answered = {
        r.get("contact_email"): r
        for r in scores.response_rows(db=db, wave_id=wave_id, org_id=org_id, seller_email=email)
    }
    people = {p["email"]: p for p in _assigned(db=db, org_id=org_id, wave_id=wave_id, email=email)}
    for contact_email, response in answered.items():
        people.setdefault(
            contact_email,
            {"email": contact_email, "account_external_id": response.get("account_external_id")},
        )
    accounts = scores.of_keys(
        db=db,
        wave_id=wave_id,
        kind="account",
        keys=(p["account_external_id"] for p in people.values() if p["account_external_id"]),
        org_id=org_id,
        fields=("account",),
    )
    plan = scores.get(db=db, wave_id=wave_id, kind="coaching", key=email, org_id=org_id)
    relationships = [
        _relationship(
            person,
            answered.get(contact_email),
            (accounts.get(person["account_external_id"]) or {}).get("account"),
        )
        for contact_email, person in people.items()
    ]
    relationships.sort(
        key=lambda r: (
            str(r["account_name"] or ""),
            str(r["contact_name"] or ""),
            str(r["contact_email"]),
        )
    )
    return {
        "wave_id": wave_id,
        "status": results["status"],
        "final": results["final"],
        **seller,
        "coaching": {k: plan["plan"].get(k) for k in ("dimensions", "actions")} if plan else None,
        "relationships": relationships,
    }


@bp.route("/<wave_id>/sellers/<email>")
class SellerResults(MethodView):
    @bp.doc(
        security=[{"bearer": []}],
        responses={
            "200": {
                "description": "the seller's relationships, coaching plan and accuracy",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    )
    def get(self, wave_id: str, email: str):
        """One seller: `accuracy` (100 - mean |gap| over their pairs) with `n_pairs` (also as
        its `n`, with `low_n` under the program's min_n) and
        `accuracy_change` from the previous closed wave; `relationships`, every buyer they
        were asked about (answered or not: `seller_answered`, `buyer_answered`, null where a
        side has not answered) with the buyer's view, their prediction and the pair's gaps; `coaching`,
        their plan (top three dimensions and actions), null until the wave closes."""
        return seller_results(
            db=current_app.extensions["rapport"].db,
            org_id=require_org(),
            wave_id=wave_id,
            email=email,
        )


def register(app: Flask) -> None:
    """Mount the seller endpoint on the app's OpenAPI-documented API."""
    app.extensions["rapport_api"].register_blueprint(bp)
