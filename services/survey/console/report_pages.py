"""The console's one-click PDF reports: the same reports as the API's, with the console's
access checks (a seller only their own; another organisation's wave a 404)."""

from __future__ import annotations

from flask_login import current_user, login_required

from services.survey.console.blueprint import bp, container
from services.survey.reports import pdf_response, seller_report_html, wave_report_html


@bp.get("/waves/<wave_id>/report.pdf")
@login_required
def wave_report(wave_id: str):
    """The wave report as PDF."""
    db = container().db
    return pdf_response(
        lambda: wave_report_html(db=db, person=current_user, wave_id=wave_id),
        f"wave-{wave_id}-report.pdf",
    )


@bp.get("/waves/<wave_id>/sellers/<email>/report.pdf")
@login_required
def seller_report(wave_id: str, email: str):
    """A seller's report as PDF (a seller: only their own)."""
    db = container().db
    return pdf_response(
        lambda: seller_report_html(db=db, person=current_user, wave_id=wave_id, email=email),
        f"wave-{wave_id}-seller-report.pdf",
    )
