"""Bearer API keys for the admin API: every admin request knows its organisation."""

from __future__ import annotations

from flask import current_app, g, request

from services.survey.errors import Unauthorized
from services.survey.organisations import organisation_for_key


def require_org() -> str:
    """The org_id of the request's `Authorization: Bearer <api key>`, or a 401."""
    if "org_id" in g:
        return g.org_id
    header = request.headers.get("Authorization", "")
    scheme, _, api_key = header.partition(" ")
    if scheme.lower() != "bearer" or not api_key.strip():
        raise Unauthorized("missing API key: send 'Authorization: Bearer <api key>'")
    org_id = organisation_for_key(db=current_app.extensions["rapport"].db, api_key=api_key.strip())
    if org_id is None:
        raise Unauthorized("API key not valid")
    g.org_id = org_id
    return org_id
