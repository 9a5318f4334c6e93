"""The organisation's logo: uploaded through the admin API, served at a public address, shown
on the survey pages.

`PUT /api/v1/organisation/logo` takes image/png or image/svg+xml of at most 200 KB (413
above, 415 for another type, 400 for a file that is not what it says). A PNG is checked by
its signature; an SVG is rebuilt by shared.svg_logo's allow-list. The logo is served at
`/logo/<org_id>/<version>` (the version is a hash of the bytes, so it is cached for good)
with a CSP that lets nothing in it run.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, current_app

from services.survey.errors import ApiError, NotFound, ValidationFailed
from services.survey.organisations import forget_branding
from shared.organisation import logo_path
from shared.store import Database, organisations
from shared.svg_logo import NotAnSvg, sanitise_svg

MAX_LOGO_BYTES = 200 * 1024
PNG, SVG = "image/png", "image/svg+xml"
LOGO_TYPES = (PNG, SVG)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

bp = Blueprint("logo", __name__)


class LogoTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class LogoTypeRefused(ApiError):
    status, code = 415, "unsupported_media_type"


def store_logo(*, db: Database, org_id: str, content_type: str, data: bytes) -> dict[str, str]:
    """Check, clean and store the logo; {content_type, version, url} of what is stored."""
    if content_type not in LOGO_TYPES:
        raise LogoTypeRefused(
            f"send the logo as image/png or image/svg+xml, not {content_type or 'no type'}"
        )
    if len(data) > MAX_LOGO_BYTES:
        raise LogoTooLarge(f"the logo is {len(data) // 1024} KB: at most 200 KB")
    if not data:
        raise ValidationFailed("the logo is empty", details={"body": ["is empty"]})
    if content_type == PNG and not data.startswith(_PNG_SIGNATURE):
        raise ValidationFailed("the file is not a PNG image", details={"body": ["not a PNG image"]})
    if content_type == SVG:
        try:
            data = sanitise_svg(data)
        except NotAnSvg as exc:
            raise ValidationFailed(
                f"the file is not a usable SVG: {exc}", details={"body": [str(exc)]}
            ) from exc
    version = hashlib.sha256(content_type.encode() + b"\0" + data).hexdigest()[:20]
    organisations.put_logo(
        db=db,
        org_id=org_id,
        content_type=content_type,
        data=data,
        version=version,
        now=datetime.now(UTC),
    )
    forget_branding(db, org_id)
    return {"content_type": content_type, "version": version, "url": logo_path(org_id, version)}


@bp.get("/logo/<org_id>/<version>")
def serve_logo(org_id: str, version: str) -> Response:
    """The logo, cached for good (a new upload has a new version); nothing in it runs."""
    logo = organisations.get_logo(db=current_app.extensions["rapport"].db, org_id=org_id)
    if logo is None or logo.get("version") != version:
        raise NotFound("no such logo")
    response = Response(bytes(logo["data"]), mimetype=logo["content_type"])
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def register(app: Flask) -> None:
    """Serve the logos."""
    app.register_blueprint(bp)
