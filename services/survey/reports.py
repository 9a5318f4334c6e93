"""PDF reports: a wave's results and a seller's page, printed by headless Chromium from the same
HTML and the same Vega-Lite specs as the console's pages (docs/results.md says why Chromium).

The report page is rendered by Flask, then opened in Chromium at a private origin whose every
request is answered from here (the page, and Rapport's own static files): nothing reaches the
network, and the console's Content Security Policy stays in force while the charts draw.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, render_template
from flask.views import MethodView
from flask_smorest import Blueprint

from services.survey.auth import require_org
from services.survey.console.people import ADMIN, Person
from services.survey.console.results_pages import results_context
from services.survey.console.seller_pages import seller_context

bp = Blueprint("reports", __name__, url_prefix="/api/v1/waves", description="PDF reports")

CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ORIGIN = "http://report.rapport.invalid"
CHARTS_TIMEOUT_MS = 30_000
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'"
)


class ReportFailed(RuntimeError):
    """Chromium could not draw or print the report."""


def api_person(org_id: str) -> Person:
    """The API key's holder as the console's access checks see them: the organisation's
    administrator (an API key reads every result of its organisation)."""
    return Person(id="api-key", org_id=org_id, email="api@rapport.invalid", role=ADMIN)


def wave_report_html(*, db: Any, person: Person, wave_id: str) -> str:
    """The wave report's page: the results page's numbers and charts, the ranking's first
    page, for print."""
    context = results_context(db=db, person=person, wave_id=wave_id, args={})
    return render_template("console/results/report_wave.html", person=person, **context)


def seller_report_html(*, db: Any, person: Person, wave_id: str, email: str) -> str:
    """A seller's report: their page, for print."""
    context = seller_context(db=db, person=person, wave_id=wave_id, email=email)
    return render_template("console/results/report_seller.html", person=person, **context)


def _static_file(static_folder: Path, path: str) -> tuple[bytes, str] | None:
    """A file of Rapport's static folder by its URL path (`/static/...`), never outside it."""
    if not path.startswith("/static/"):
        return None
    target = (static_folder / path.removeprefix("/static/")).resolve()
    if static_folder.resolve() not in target.parents or not target.is_file():
        return None
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return target.read_bytes(), kind


def print_pdf(html: str, static_folder: Path) -> bytes:
    """The page printed to A4 by headless Chromium once every chart is drawn."""
    from playwright.sync_api import Error, sync_playwright

    def answer(route: Any) -> None:
        path = route.request.url.removeprefix(ORIGIN).split("?", 1)[0]
        if path == "/report":
            route.fulfill(
                status=200,
                body=html,
                headers={
                    "Content-Type": "text/html; charset=utf-8",
                    "Content-Security-Policy": CSP,
                },
            )
            return
        found = _static_file(static_folder, path)
        if found is None:
            route.abort()
            return
        route.fulfill(status=200, body=found[0], headers={"Content-Type": found[1]})

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page(viewport={"width": 1000, "height": 1400})
                page.route("**/*", answer)
                page.goto(f"{ORIGIN}/report", wait_until="load")
                page.wait_for_function(
                    "() => [...document.querySelectorAll('[data-chart-spec]')]"
                    ".every(e => e.dataset.chartReady || e.dataset.chartError)",
                    timeout=CHARTS_TIMEOUT_MS,
                )
                page.emulate_media(media="print")
                return page.pdf(format="A4", print_background=True, margin=_MARGIN)
            finally:
                browser.close()
    except Error as exc:
        raise ReportFailed(f"the report could not be printed: {exc}") from exc


_MARGIN = {"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"}


def pdf_response(make_html: Callable[[], str], filename: str) -> Response:
    """Render, print and answer the PDF (never cached: results change until final)."""
    html = make_html()
    pdf = print_pdf(html, Path(current_app.static_folder or "static"))
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _pdf_doc(description: str) -> dict[str, Any]:
    return {
        "200": {
            "description": description,
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }


@bp.route("/<wave_id>/report.pdf")
class WaveReport(MethodView):
    @bp.doc(security=[{"bearer": []}], responses=_pdf_doc("the wave's results as PDF"))
    def get(self, wave_id: str):
        """The wave report: headline numbers with intervals and n, mixes, dimensions, drivers,
        trends, and the first page of the accounts ranked by priority, as PDF."""
        db, person = current_app.extensions["rapport"].db, api_person(require_org())
        return pdf_response(
            lambda: wave_report_html(db=db, person=person, wave_id=wave_id),
            f"wave-{wave_id}-report.pdf",
        )


@bp.route("/<wave_id>/sellers/<email>/report.pdf")
class SellerReport(MethodView):
    @bp.doc(security=[{"bearer": []}], responses=_pdf_doc("the seller's page as PDF"))
    def get(self, wave_id: str, email: str):
        """A seller's report: relationships with gaps, accuracy, coaching plan, as PDF."""
        db, person = current_app.extensions["rapport"].db, api_person(require_org())
        return pdf_response(
            lambda: seller_report_html(db=db, person=person, wave_id=wave_id, email=email),
            f"wave-{wave_id}-seller-report.pdf",
        )


def register(app: Flask) -> None:
    """Mount the report endpoints on the app's OpenAPI-documented API."""
    app.extensions["rapport_api"].register_blueprint(bp)
