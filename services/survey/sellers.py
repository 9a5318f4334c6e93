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
from shared.store import Database, scores
from shared.vocabulary import DIMENSIONS

bp = Blueprint("sellers", __name__, url_prefix="/api/v1/waves", description="Seller results")


def _relationship(response: Mapping[str, Any], account: Mapping[str, Any] | None) -> dict[str, Any]:
    """One contact the seller answered about: the buyer's own view (null until the buyer
    answers), the seller's prediction and the pair's gaps, all as stored."""
    contact = next(
        (
            c
            for c in (account or {}).get("contacts") or ()
            if c.get("email") == response.get("contact_email")
        ),
        {},
    )
    buyer_dimensions = contact.get("dimensions") or {}
    pair = response.get("pair")
    return {
        "contact_email": response.get("contact_email"),
        "contact_name": contact.get("name"),
        "role": contact.get("role"),
        "account_external_id": response.get("account_external_id"),
        "account_name": (account or {}).get("name"),
        "buyer_answered": pair is not None,
        "buyer": {
            "relationship_index": contact.get("relationship_index"),
            "level": contact.get("level"),
            "segment": contact.get("segment"),
            "nps_category": contact.get("nps_category"),
            "dimensions": {d: (buyer_dimensions.get(d) or {}).get("buyer") for d in DIMENSIONS},
        }
        if pair is not None
        else None,
        "seller": {
            "relationship_index": response.get("relationship_index"),
            "recommend": response.get("recommend"),
            "dimensions": dict(response.get("dimensions") or {}),
        },
        "gap": (pair or {}).get("gap"),
        "gap_class": (pair or {}).get("gap_class"),
        "nps_gap": (pair or {}).get("nps_gap"),
        "dimension_gaps": (pair or {}).get("dimension_gaps"),
        "trend": contact.get("trend"),
    }


def seller_results(*, db: Database, org_id: str, wave_id: str, email: str) -> dict[str, Any]:
    """The seller's accuracy (from the wave's results), their relationships (their responses'
    stored scores beside their contacts' account documents) and their final coaching plan
    (null until the wave closes). An unknown wave or seller is NotFound."""
    results = wave_results(db=db, org_id=org_id, wave_id=wave_id)
    seller = next((s for s in results.get("sellers") or () if s.get("email") == email), None)
    if seller is None:
        raise NotFound("seller not found in this wave")
    answered = scores.response_rows(db=db, wave_id=wave_id, org_id=org_id, seller_email=email)
    accounts = scores.of_keys(
        db=db,
        wave_id=wave_id,
        kind="account",
        keys=(r.get("account_external_id") for r in answered),
        org_id=org_id,
        fields=("account",),
    )
    plan = scores.get(db=db, wave_id=wave_id, kind="coaching", key=email, org_id=org_id)
    relationships = [
        _relationship(r, (accounts.get(r.get("account_external_id")) or {}).get("account"))
        for r in answered
    ]
    relationships.sort(key=lambda r: (str(r["account_name"] or ""), str(r["contact_name"] or "")))
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
        """One seller: `accuracy` (100 - mean |gap| over their pairs) with `n_pairs` and
        `accuracy_change` from the previous closed wave; `relationships`, each contact they
        answered about with the buyer's view, their prediction and the pair's gaps; `coaching`,
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
