"""The console's results pages: a wave's results and one account's, from the stored results.

Each page's context comes from one function that checks access first and reads through the
results API's own functions (services/survey/results.py); nothing is recomputed here, the
numbers are only picked, ordered and filtered. Sellers never see these pages (a 404, as for
anything not theirs): they have their own page (seller_pages.py).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Response, request, stream_with_context
from flask_login import current_user, login_required

from services.survey.admin.monitoring import response_rates
from services.survey.admin.waves import get_wave
from services.survey.console import charts
from services.survey.console.blueprint import bp, container, render
from services.survey.console.charts_committee import committee_chart
from services.survey.console.charts_drivers import drivers_chart, trends_chart
from services.survey.console.people import SELLER, Person, require_program
from services.survey.errors import NotFound
from services.survey.results import account_results, wave_results
from shared import comments
from shared.csv_cells import CsvWriter
from shared.store import Database, roster, scores, waves
from shared.vocabulary import (
    CLOSED,
    DIMENSIONS,
    GAP_CLASSES,
    LEVEL_NAMES,
    MOMENT_TAGS,
    SEGMENTS,
    TOUCHPOINTS,
)

ACCOUNTS_PER_PAGE = 50
COMMENTS_SHOWN = 25
ACCOUNT_FILTERS = ("level", "segment", "owner", "gap_class")
COMMENT_FILTERS = ("account", "touchpoint", "tag", "kind", "q")
BLIND_SPOT_AT_DECISION_MAKER = "decision_maker_blind_spot"


def require_results(*, db: Database, person: Person, wave_id: str) -> dict[str, Any]:
    """The wave, when the person may read its results: admins, managers and viewers of the
    organisation; a seller (or another organisation's wave) is NotFound."""
    if person.role == SELLER:
        raise NotFound("wave not found")
    wave = get_wave(db=db, org_id=person.org_id, wave_id=wave_id)
    require_program(db=db, person=person, program_id=wave["program_id"])
    return wave


def program_waves(*, db: Database, person: Person, program_id: str) -> list[dict[str, Any]]:
    """The program's waves by name, newest first, each with where its results are: the
    results page (a seller: their own page) once the wave is closed."""
    found = waves.of_program(
        db=db, org_id=person.org_id, program_id=program_id, fields=("name", "status")
    )
    return [
        {
            "id": w["_id"],
            "name": w.get("name"),
            "status": w.get("status"),
            "closed": w.get("status") == CLOSED,
        }
        for w in found
    ]


def figure(stored: Mapping[str, Any] | None, label: str, *, digits: int = 1) -> dict[str, Any]:
    """A headline number as the page shows it: value, 95 % interval, n, and low_n (greyed)."""
    stored = stored or {}
    low, high = (stored.get("ci95") or [None, None])[:2]
    return {
        "label": label,
        "value": charts.rounded(stored.get("value"), digits),
        "low": charts.rounded(low, digits),
        "high": charts.rounded(high, digits),
        "n": stored.get("n"),
        "n_accounts": stored.get("n_accounts"),
        "effective_n": charts.rounded(stored.get("effective_n")),
        "largest_share": stored.get("largest_share"),
        "low_n": bool(stored.get("low_n")),
    }


def headline(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """RI, NPS, and their revenue-weighted forms (with effective n)."""
    ri = results.get("relationship_index") or {}
    return [
        figure(ri, "Relationship index (RI)"),
        figure(results.get("nps"), "Net promoter score (NPS)"),
        figure(ri.get("revenue_weighted"), "RI, revenue-weighted"),
        figure(results.get("nps_revenue_weighted"), "NPS, revenue-weighted"),
    ]


def owners_of(db: Database, wave: Mapping[str, Any]) -> dict[str, str]:
    """Each account's owner email (its roster `owner_email`, else its first seller)."""
    return roster.engine_rows(db=db, program_id=wave["program_id"]).owners


def blind_spot_accounts(db: Database, wave: Mapping[str, Any]) -> set[str]:
    """Accounts where a decision maker's gap class is blind_spot (the stored alerts)."""
    stored = scores.of_kind(
        db=db,
        wave_id=wave["_id"],
        kind=scores.ACCOUNT,
        org_id=wave["org_id"],
        fields=("key", "alerts"),
    )
    return {
        doc["key"]
        for doc in stored
        if any(a.get("reason") == BLIND_SPOT_AT_DECISION_MAKER for a in doc.get("alerts") or ())
    }


def ranked_accounts(
    accounts: list[Mapping[str, Any]],
    *,
    owners: Mapping[str, str],
    blind: set[str],
    where: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The stored ranking (by priority), the accounts with a blind spot at a decision maker
    first, then the filters (level, segment, owner, gap class); nothing recomputed."""
    ranked = []
    for rank, account in enumerate(accounts, start=1):
        row = {
            **account,
            "rank": rank,
            "owner": owners.get(account.get("external_id"), ""),
            "blind_spot_at_decision_maker": account.get("external_id") in blind,
        }
        if all(not where.get(f) or str(row.get(f) or "") == where[f] for f in ACCOUNT_FILTERS):
            ranked.append(row)
    ranked.sort(key=lambda a: (not a["blind_spot_at_decision_maker"], a["rank"]))
    return ranked


def _filters(args: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {name: args[name].strip()[:200] for name in names if (args.get(name) or "").strip()}


def _rates(db: Database, person: Person, wave_id: str) -> list[dict[str, Any]]:
    sides = response_rates(db=db, org_id=person.org_id, wave_id=wave_id).get("sides") or {}
    return [
        {"side": side.capitalize(), **(sides.get(side) or {})} for side in ("buyers", "sellers")
    ]


def results_context(
    *, db: Database, person: Person, wave_id: str, args: Mapping[str, str]
) -> dict[str, Any]:
    """A wave's results page: headline, rates, mixes, dimensions, drivers, trends, ranking
    (filtered and paged), competitors and a first page of comments."""
    wave = require_results(db=db, person=person, wave_id=wave_id)
    results = wave_results(db=db, org_id=person.org_id, wave_id=wave_id)
    owners = owners_of(db, wave)
    where = _filters(args, ACCOUNT_FILTERS)
    ranked = ranked_accounts(
        results.get("accounts") or [],
        owners=owners,
        blind=blind_spot_accounts(db, wave),
        where=where,
    )
    page = max(1, min(_int(args.get("page"), 1), 1 + (len(ranked) - 1) // ACCOUNTS_PER_PAGE))
    distributions = results.get("distributions") or {}
    shown = [
        charts.mix_chart("chart-levels", distributions.get("levels") or {}, of="levels"),
        charts.mix_chart("chart-segments", distributions.get("segments") or {}, of="segments"),
        charts.dimensions_chart("chart-dimensions", results.get("dimensions") or {}),
        drivers_chart("chart-drivers", results.get("touchpoints") or {}),
    ]
    trends = results.get("trends")
    if trends:
        shown.append(trends_chart("chart-trends", trends))
    return {
        "wave": {"id": wave_id, "name": wave.get("name"), "status": results.get("status")},
        "program_id": wave["program_id"],
        "results": results,
        "headline": headline(results),
        "rates": _rates(db, person, wave_id),
        "charts": shown,
        "trends": trends,
        "accounts": ranked[(page - 1) * ACCOUNTS_PER_PAGE : page * ACCOUNTS_PER_PAGE],
        "accounts_total": len(ranked),
        "page": page,
        "pages": 1 + (len(ranked) - 1) // ACCOUNTS_PER_PAGE if ranked else 1,
        "where": where,
        "choices": {
            "level": LEVEL_NAMES,
            "segment": SEGMENTS,
            "gap_class": GAP_CLASSES,
            "owner": sorted(set(owners.values())),
        },
        **comments_context(db=db, wave=wave, results=results, args=args),
    }


def comments_context(
    *, db: Database, wave: Mapping[str, Any], results: Mapping[str, Any], args: Mapping[str, str]
) -> dict[str, Any]:
    """The newest comments matching the filters (the comments API's own function)."""
    chosen = _filters(args, COMMENT_FILTERS)
    if chosen.get("touchpoint") not in (None, *TOUCHPOINTS):
        chosen.pop("touchpoint")
    if chosen.get("tag") not in (None, *MOMENT_TAGS):
        chosen.pop("tag")
    if chosen.get("kind") not in (None, *comments.KINDS):
        chosen.pop("kind")
    where = comments.CommentFilter(**{name: chosen.get(name) for name in COMMENT_FILTERS})
    page = comments.wave_comments(db, wave=wave, where=where, limit=COMMENTS_SHOWN, cursor=None)
    return {
        "comments": page.items,
        "comments_more": page.next_cursor is not None,
        "comment_where": chosen,
        "comment_choices": {
            "touchpoint": TOUCHPOINTS,
            "tag": MOMENT_TAGS,
            "kind": comments.KINDS,
            "account": [(a["external_id"], a.get("name")) for a in results.get("accounts") or ()],
        },
    }


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def seller_predictions(
    db: Database, wave: Mapping[str, Any], account: Mapping[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """Each contact's sellers and their predicted RI (their stored response scores)."""
    sellers = {
        s.get("seller_email"): s.get("seller_name")
        for c in account.get("contacts") or ()
        for s in c.get("seller_comments") or ()
    }
    stored = scores.get(
        db=db,
        wave_id=wave["_id"],
        kind=scores.RESPONSES,
        key=account.get("external_id"),
        org_id=wave["org_id"],
        fields=("responses",),
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for response in (stored or {}).get("responses") or ():
        email = response.get("seller_email")
        if response.get("side") != SELLER or email is None:
            continue
        found.setdefault(response.get("contact_email"), []).append(
            {"seller": sellers.get(email) or email, "ri": response.get("relationship_index")}
        )
    return found


def account_context(
    *, db: Database, person: Person, wave_id: str, external_id: str
) -> dict[str, Any]:
    """One account: numbers with n, the buying committee, dimensions, moments, comments,
    coaching, trend and the account plan."""
    wave = require_results(db=db, person=person, wave_id=wave_id)
    account = account_results(db=db, org_id=person.org_id, wave_id=wave_id, external_id=external_id)
    contacts = account.get("contacts") or []
    dims = account.get("dimensions") or {}
    points = [
        (
            charts.words(d),
            (dims.get(d) or {}).get("buyer"),
            _seller_side(dims.get(d) or {}),
            (dims.get(d) or {}).get("gap"),
        )
        for d in DIMENSIONS
    ]
    shown = [
        committee_chart("chart-committee", contacts, seller_predictions(db, wave, account)),
        charts.dumbbell_chart(
            "chart-account-dimensions", points, title="Buyer against seller, per dimension"
        ),
    ]
    return {
        "wave": {"id": wave_id, "name": wave.get("name"), "status": wave.get("status")},
        "account": account,
        "charts": shown,
        "plan": account.get("plan"),
        "closed": wave.get("status") == CLOSED,
    }


def _seller_side(dimension: Mapping[str, Any]) -> float | None:
    """An account dimension stores the buyer score and the gap (seller minus buyer)."""
    if dimension.get("seller") is not None:
        return dimension["seller"]
    buyer, gap = dimension.get("buyer"), dimension.get("gap")
    return None if buyer is None or gap is None else buyer + gap


RANKING_COLUMNS = (
    "rank",
    "external_id",
    "name",
    "owner",
    "annual_revenue",
    "priority",
    "relationship_index",
    "level",
    "nps",
    "segment",
    "gap",
    "gap_class",
    "blind_spot_at_decision_maker",
    "n_buyers",
    "low_n",
    "revenue_at_risk",
)


def ranking_csv(
    *, db: Database, person: Person, wave_id: str, args: Mapping[str, str]
) -> Iterator[str]:
    """The ranked accounts (with the page's filters) as CSV, every cell through CsvWriter."""
    wave = require_results(db=db, person=person, wave_id=wave_id)
    results = wave_results(db=db, org_id=person.org_id, wave_id=wave_id)
    ranked = ranked_accounts(
        results.get("accounts") or [],
        owners=owners_of(db, wave),
        blind=blind_spot_accounts(db, wave),
        where=_filters(args, ACCOUNT_FILTERS),
    )
    buffer = io.StringIO()
    writer = CsvWriter(buffer)
    writer.writerow(RANKING_COLUMNS)
    for account in ranked:
        writer.writerow([account.get(c) for c in RANKING_COLUMNS])
    yield buffer.getvalue()


# --- how numbers read ----------------------------------------------------------------------


@bp.app_template_filter("number")
def number(value: Any, digits: int = 1) -> str:
    """A stored number to one decimal; a dash when missing."""
    shown = charts.rounded(value, digits)
    return "–" if shown is None else f"{shown:.{digits}f}"


@bp.app_template_filter("signed")
def signed(value: Any) -> str:
    """A change or a gap, with its sign."""
    shown = charts.rounded(value)
    return "–" if shown is None else f"{shown:+.1f}"


@bp.app_template_filter("money")
def money(value: Any) -> str:
    """Revenue, whole units with thousands separators."""
    shown = charts.rounded(value, 0)
    return "–" if shown is None else f"{shown:,.0f}"


@bp.app_template_filter("percent")
def percent(value: Any) -> str:
    """A 0-1 share as a percentage."""
    shown = charts.rounded(value, 3)
    return "–" if shown is None else f"{shown * 100:.0f} %"


@bp.app_template_filter("words")
def words(value: Any) -> str:
    """A stored name in the users' words."""
    return charts.words(value)


@bp.app_template_filter("cell")
def cell(value: Any) -> str:
    """A data table cell: numbers to one decimal (whole ones as they are), missing a dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


# --- views ----------------------------------------------------------------------------------


@bp.get("/waves/<wave_id>/results")
@login_required
def wave_results_page(wave_id: str):
    """A wave's results."""
    context = results_context(
        db=container().db, person=current_user, wave_id=wave_id, args=request.args
    )
    return render("console/results/wave.html", **context)


@bp.get("/waves/<wave_id>/results/accounts.csv")
@login_required
def ranking_export(wave_id: str):
    """The ranked accounts as CSV (with the same filters as the page)."""
    rows = ranking_csv(db=container().db, person=current_user, wave_id=wave_id, args=request.args)
    first = next(rows)  # access is checked before anything is sent
    return Response(
        stream_with_context(iter([first, *rows])),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="wave-{wave_id}-accounts.csv"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/waves/<wave_id>/accounts/<external_id>")
@login_required
def account_page(wave_id: str, external_id: str):
    """One account's results."""
    context = account_context(
        db=container().db, person=current_user, wave_id=wave_id, external_id=external_id
    )
    return render("console/results/account.html", **context)
