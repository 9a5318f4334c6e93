"""The console's results pages (issue 16) with the Flask test client on a scored synthetic
wave: the numbers on each page are the results API's for the same wave, roles and
organisations see only what is theirs, the ranking exports as CSV, commitments are stored."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import uuid

import pytest

from services.survey.console.results_pages import ACCOUNTS_PER_PAGE
from services.survey.organisations import create_api_key
from shared.store import commitments
from shared.store.database import ensure_indexes
from shared.vocabulary import DIMENSIONS
from tests.conftest import isolated_settings
from tests.support.console import make_user, post_form, sign_in
from tests.support.scored_wave import scored_program
from tests.support.survey_fixtures import make_wave, survey_app


@pytest.fixture(scope="module")
def world(mongo_client):
    """Two scored waves of 12 accounts (the second has trends), an app, an API key."""
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    db = mongo_client[name]
    ensure_indexes(db)
    settings = isolated_settings()
    program = scored_program(db, settings, accounts=12)
    app = survey_app(db, settings)
    key = create_api_key(db=db, org_id=program.org_id)
    make_user(db, email="manager@acme.example", role="manager")
    make_user(db, email="viewer@acme.example", role="viewer")
    make_user(db, email="seller0@vendor.example.com", role="seller")
    make_user(db, email="seller1@vendor.example.com", role="seller")
    make_user(db, org="other", email="manager@other.example", role="manager")
    yield {"db": db, "app": app, "key": key, "program": program}
    mongo_client.drop_database(name)


def _client(world, email):
    client = world["app"].test_client()
    assert sign_in(client, email).status_code == 302
    return client


def _api(world, path):
    client = world["app"].test_client()
    answer = client.get(path, headers={"Authorization": f"Bearer {world['key']}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def _one(value):
    return f"{round(value, 1):.1f}"


def _specs(html):
    found = re.findall(
        r'<script type="application/json" id="([^"]+)-spec">(.*?)</script>', html, re.S
    )
    return {chart_id: json.loads(text) for chart_id, text in found}


def test_results_page_shows_the_api_headline_with_intervals_and_n(world):
    wave_id = world["program"].wave_id
    results = _api(world, f"/api/v1/waves/{wave_id}/results")
    page = _client(world, "manager@acme.example").get(f"/app/waves/{wave_id}/results")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for key in ("relationship_index", "nps"):
        figure = results[key]
        assert f">{_one(figure['value'])}</p>" in html
        low, high = figure["ci95"]
        assert f"95 % interval {_one(low)} to {_one(high)}" in html
        assert f"n = {figure['n']} answers from {figure['n_accounts']} accounts" in html
    weighted = results["nps_revenue_weighted"]
    assert _one(weighted["value"]) in html
    assert f"effective n = {_one(weighted['effective_n'])} accounts" in html
    assert f"{results['revenue_at_risk']:,.0f}" in html
    # every chart is on the page as a spec, with its table
    specs = _specs(html)
    assert set(specs) == {
        "chart-levels",
        "chart-segments",
        "chart-dimensions",
        "chart-drivers",
        "chart-trends",
    }
    dumbbell = [d for d in specs["chart-dimensions"]["data"]["values"] if d["side"] == "Buyer"]
    assert [d["score"] for d in dumbbell] == [
        round(results["dimensions"][d]["buyer"], 1) for d in DIMENSIONS
    ]
    assert html.count('<table class="data">') >= 5


def test_ranking_puts_decision_maker_blind_spots_first_and_filters(world):
    wave_id = world["program"].wave_id
    db = world["db"]
    results = _api(world, f"/api/v1/waves/{wave_id}/results")
    client = _client(world, "manager@acme.example")
    export = client.get(f"/app/waves/{wave_id}/results/accounts.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert {r["external_id"] for r in rows} == {a["external_id"] for a in results["accounts"]}
    blind = {
        doc["key"]
        for doc in db.scores.find({"wave_id": wave_id, "kind": "account"})
        if any(a["reason"] == "decision_maker_blind_spot" for a in doc.get("alerts") or ())
    }
    assert blind, "the synthetic wave has a decision maker blind spot"
    flags = [r["blind_spot_at_decision_maker"] == "true" for r in rows]
    assert flags == sorted(flags, reverse=True)  # all the blind spots first
    assert {r["external_id"] for r in rows if r["blind_spot_at_decision_maker"] == "true"} == blind
    rank = {a["external_id"]: i for i, a in enumerate(results["accounts"], start=1)}
    assert [int(r["rank"]) for r in rows] == [rank[r["external_id"]] for r in rows]
    html = client.get(f"/app/waves/{wave_id}/results").get_data(as_text=True)
    for account in results["accounts"]:
        assert account["name"] in html

    level = rows[-1]["level"]
    page = client.get(f"/app/waves/{wave_id}/results?level={level}").get_data(as_text=True)
    shown = [
        a
        for a in results["accounts"]
        if a["name"] in page.split('id="accounts"')[1].split('id="competitors"')[0]
    ]
    assert shown and all(a["level"] == level for a in shown)
    filtered = client.get(f"/app/waves/{wave_id}/results/accounts.csv?level={level}")
    assert {r["level"] for r in csv.DictReader(io.StringIO(filtered.get_data(as_text=True)))} == {
        level
    }


def test_comments_are_searchable_and_filterable(world):
    wave_id = world["program"].wave_id
    client = _client(world, "manager@acme.example")
    api = _api(world, f"/api/v1/waves/{wave_id}/comments?kind=moment&tag=angry")
    page = client.get(f"/app/waves/{wave_id}/results?kind=moment&tag=angry").get_data(as_text=True)
    section = page.split('id="comments"')[1]
    assert section.count('<li class="comment">') == len(api["items"]) > 0
    for item in api["items"]:
        assert item["text"] in section
    word = api["items"][0]["text"].split()[1]
    searched = client.get(f"/app/waves/{wave_id}/results?q={word}").get_data(as_text=True)
    assert all(
        word.lower() in t.lower() for t in re.findall(r"<blockquote>(.*?)</blockquote>", searched)
    )


def test_account_page_shows_the_api_numbers_and_the_committee(world):
    wave_id = world["program"].wave_id
    results = _api(world, f"/api/v1/waves/{wave_id}/results")
    external_id = results["accounts"][0]["external_id"]
    account = _api(world, f"/api/v1/waves/{wave_id}/accounts/{external_id}")
    page = _client(world, "viewer@acme.example").get(f"/app/waves/{wave_id}/accounts/{external_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-figure="RI">{_one(account["relationship_index"])}<' in html
    assert f'data-figure="NPS">{_one(account["nps"])}<' in html
    assert f"n = {account['n_ri']}" in html or f"based on {account['n_ri']} answers" in html
    committee = _specs(html)["chart-committee"]
    people = committee["data"]["values"]
    assert len(people) == len(account["contacts"])
    silent = [c for c in account["contacts"] if c.get("relationship_index") is None]
    assert sum(1 for p in people if not p["answered"]) == len(silent)
    weights = {"Decision maker": 3, "Influencer": 2, "User": 1, "Other": 1}
    assert all(p["weight"] == weights[p["role"]] for p in people)
    plan = account["plan"]
    for lever in plan["levers"]:
        assert lever["dimension"].capitalize() in html


def test_sellers_and_other_organisations_get_404(world):
    wave_id = world["program"].wave_id
    external_id = _api(world, f"/api/v1/waves/{wave_id}/results")["accounts"][0]["external_id"]
    seller = _client(world, "seller0@vendor.example.com")
    other = _client(world, "manager@other.example")
    for client in (seller, other):
        assert client.get(f"/app/waves/{wave_id}/results").status_code == 404
        assert client.get(f"/app/waves/{wave_id}/accounts/{external_id}").status_code == 404
        assert client.get(f"/app/waves/{wave_id}/results/accounts.csv").status_code == 404
    assert seller.get(f"/app/waves/{wave_id}/sellers/seller1@vendor.example.com").status_code == 404
    assert other.get(f"/app/waves/{wave_id}/sellers/seller0@vendor.example.com").status_code == 404


def test_seller_sees_their_own_page_first_and_commits_to_a_behaviour(world):
    wave_id = world["program"].wave_id
    email = "seller0@vendor.example.com"
    api = _api(world, f"/api/v1/waves/{wave_id}/sellers/{email}")
    client = _client(world, email)
    first = client.get("/app/", follow_redirects=True)
    assert first.request.path == f"/app/waves/{wave_id}/sellers/{email}"
    html = first.get_data(as_text=True)
    assert f'data-figure="Accuracy">{_one(api["accuracy"])}<' in html
    assert f'data-figure="Accuracy change">{api["accuracy_change"]:+.1f}<' in html
    for relationship in api["relationships"]:
        assert (relationship["contact_name"] or relationship["contact_email"]) in html
    dimension = api["coaching"]["dimensions"][0]
    path = f"/app/waves/{wave_id}/sellers/{email}"
    done = post_form(
        client,
        f"{path}/commitments",
        {"dimension": dimension["dimension"], "behaviour": "1"},
        form_page=path,
    )
    assert done.status_code == 302
    (stored,) = commitments.of_seller(
        db=world["db"], org_id=world["program"].org_id, wave_id=wave_id, seller_email=email
    )
    assert stored["text"] == dimension["behaviours"][1]
    again = client.get(path).get_data(as_text=True)
    assert "You will do this" in again
    refused = post_form(
        client, f"{path}/commitments", {"dimension": "trust", "behaviour": "99"}, form_page=path
    )
    assert refused.status_code == 400
    # another seller cannot commit for this one; a manager reads the page but has no button
    other = _client(world, "seller1@vendor.example.com")
    own_path = f"/app/waves/{wave_id}/sellers/seller1@vendor.example.com"
    assert (
        post_form(
            other,
            f"{path}/commitments",
            {"dimension": dimension["dimension"], "behaviour": "0"},
            form_page=own_path,
        ).status_code
        == 404
    )
    manager_view = _client(world, "manager@acme.example").get(path).get_data(as_text=True)
    assert "I'll do this</button>" not in manager_view


def test_program_page_links_closed_waves_to_results(world):
    program = world["program"]
    html = (
        _client(world, "manager@acme.example")
        .get(f"/app/programs/{program.program_id}")
        .get_data(as_text=True)
    )
    for wave_id in program.wave_ids:
        assert f"/app/waves/{wave_id}/results" in html


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode()


def test_wave_report_pdf_carries_the_headline_and_the_first_ranking_page(world, tmp_path):
    wave_id = world["program"].wave_id
    results = _api(world, f"/api/v1/waves/{wave_id}/results")
    client = world["app"].test_client()
    answer = client.get(
        f"/api/v1/waves/{wave_id}/report.pdf", headers={"Authorization": f"Bearer {world['key']}"}
    )
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    text = _pdf_text(answer.data, tmp_path)
    for key in ("relationship_index", "nps"):
        assert _one(results[key]["value"]) in text
        low, high = results[key]["ci95"]
        assert f"95 % interval {_one(low)} to {_one(high)}" in text
    assert _one(results["nps_revenue_weighted"]["value"]) in text
    for account in results["accounts"][:ACCOUNTS_PER_PAGE]:
        assert account["name"] in text
    # the charts are drawn in the PDF too: their axis titles are text
    assert "Impact (correlation with RI)" in text and "Score (0-100)" in text
    # from the console, one click; another organisation gets 404
    console = _client(world, "manager@acme.example").get(f"/app/waves/{wave_id}/report.pdf")
    assert console.status_code == 200 and console.data.startswith(b"%PDF")
    other = _client(world, "manager@other.example").get(f"/app/waves/{wave_id}/report.pdf")
    assert other.status_code == 404


def test_seller_report_pdf_is_theirs_only(world, tmp_path):
    wave_id = world["program"].wave_id
    email = "seller1@vendor.example.com"
    api = _api(world, f"/api/v1/waves/{wave_id}/sellers/{email}")
    seller = _client(world, email)
    answer = seller.get(f"/app/waves/{wave_id}/sellers/{email}/report.pdf")
    assert answer.status_code == 200
    text = _pdf_text(answer.data, tmp_path)
    assert _one(api["accuracy"]) in text
    for relationship in api["relationships"]:
        assert (relationship["contact_name"] or relationship["contact_email"]) in text
    other = f"/app/waves/{wave_id}/sellers/seller0@vendor.example.com/report.pdf"
    assert seller.get(other).status_code == 404


def test_an_open_wave_nobody_answered_shows_its_pages_without_numbers(db):
    """Before the first answer is scored: every figure a dash, the accounts listed, no 500."""
    settings = isolated_settings()
    world = make_wave(db, settings, buyers=2, sellers=1, accounts=1)
    make_user(db, org="Northwind Supplies", email="manager@northwind.example", role="manager")
    client = survey_app(db, settings).test_client()
    assert sign_in(client, "manager@northwind.example").status_code == 302
    page = client.get(f"/app/waves/{world.wave_id}/results")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "no answers yet" in html and "Account 1" in html
    account = client.get(f"/app/waves/{world.wave_id}/accounts/A0001")
    assert account.status_code == 200
    assert "? did not answer" in account.get_data(as_text=True)
