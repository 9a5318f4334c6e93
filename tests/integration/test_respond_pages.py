"""The survey pages without a browser: every page saves, resume, validation, CSRF, errors."""

from __future__ import annotations

import re

import pytest

from shared.questionnaire import load_bank
from tests.conftest import isolated_settings
from tests.support.survey_fixtures import (
    close,
    complete_answers,
    csrf_token,
    make_wave,
    post_form,
    revoke,
    survey_app,
)


@pytest.fixture
def settings():
    return isolated_settings()


@pytest.fixture
def world(db, settings):
    return make_wave(db, settings, buyers=2, sellers=1)


@pytest.fixture
def client(db, settings):
    return survey_app(db, settings).test_client()


def _page(client, world, section, *, who=0):
    person = world.buyers[who]
    return f"/s/{person.token}/q/{person.subject_ids[0]}/{section}"


def _saved(db, person):
    response = db.responses.find_one({"invitation_id": person.invitation_id})
    return response["answers"] if response else {}


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_the_welcome_page_says_who_asks_why_how_long_and_what_happens(client, world, db):
    person = world.buyers[0]
    response = client.get(f"/s/{person.token}")
    assert response.status_code == 200
    html = _text(response)
    assert '<html lang="en">' in html
    assert "Northwind Supplies asks you, Buyer 1" in html
    assert f"about {load_bank().what_it_takes()['minutes']} minutes" in html
    assert "What happens with your answers" in html
    assert f'href="/s/{person.token}/q/{person.subject_ids[0]}/trust"' in html
    assert db.invitations.find_one({"_id": person.invitation_id})["status"] == "opened"


def test_pages_are_in_the_invitation_language_with_english_fallback(db, settings, client):
    german = make_wave(db, settings, buyers=1, language="de-AT")
    html = _text(client.get(f"/s/{german.buyers[0].token}"))
    assert '<html lang="de">' in html and "Wie lange" in html
    french = make_wave(db, settings, buyers=1)
    # a language the questionnaire lacks: the roster refuses one, so set it on the invitation
    db.invitations.update_one({"_id": french.buyers[0].invitation_id}, {"$set": {"language": "fr"}})
    html = _text(client.get(f"/s/{french.buyers[0].token}"))
    assert '<html lang="en">' in html and "How long" in html


def test_a_page_groups_three_dimensions_with_fieldsets_legends_dont_know_and_progress(
    client, world
):
    html = _text(client.get(_page(client, world, "trust")))
    assert html.count("<fieldset") == 9
    assert '<h1 id="q-top">Trust, competence and recognition</h1>' in html
    assert html.count('<h2 class="section-title">') == 3
    assert "<legend>Northwind Supplies keeps its promises.</legend>" in html
    assert html.count('value="dk"') == 9
    assert "Don&#39;t know / not applicable" in html
    assert "Page 1 of 7" in html
    assert re.search(r'<progress max="7" value="1" aria-labelledby="progress-label">', html)
    # a section inside a page shows that page
    # the same page again (the CSRF token is signed with the time: compared without it)
    assert _without_csrf(_text(client.get(_page(client, world, "competence")))) == _without_csrf(
        html
    )


def test_every_page_saves_and_the_link_resumes_where_the_respondent_stopped(client, world, db):
    person = world.buyers[0]
    saved = post_form(
        client,
        _page(client, world, "trust"),
        {"trust.1": "6", "trust.2": "dk", "action": "next"},
    )
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith("/proactivity")
    post_form(client, _page(client, world, "trust"), {"competence.1": "3", "action": "next"})
    assert _saved(db, person) == {"trust.1": 6, "trust.2": None, "competence.1": 3}
    assert db.invitations.find_one({"_id": person.invitation_id})["status"] == "in_progress"

    fresh = client.application.test_client()  # a new browser: no cookies
    resumed = fresh.get(f"/s/{person.token}")
    assert resumed.status_code == 303
    assert resumed.headers["Location"].endswith("/proactivity")
    back = post_form(fresh, _page(fresh, world, "proactivity"), {"action": "back"})
    assert back.headers["Location"].endswith("/trust")
    html = _text(fresh.get(_page(fresh, world, "trust")))
    assert re.search(r'name="competence.1" value="3" checked', html)


def test_back_from_the_first_page_goes_to_the_welcome_page(client, world):
    response = post_form(client, _page(client, world, "trust"), {"action": "back"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/welcome")


def test_a_tampered_value_is_shown_next_to_its_field_and_nothing_is_saved(client, world, db):
    response = post_form(
        client,
        _page(client, world, "trust"),
        {"trust.1": "9", "trust.2": "5", "action": "next"},
    )
    assert response.status_code == 400
    html = _text(response)
    field = re.search(
        r'<fieldset class="item rated has-error" id="q-trust-1"[^>]*>(.*?)</fieldset>', html, re.S
    )
    assert field, "the bad field is marked"
    assert 'aria-describedby="q-trust-1-error"' in html
    assert (
        '<p class="field-error" id="q-trust-1-error">Choose one of the options.</p>'
        in field.group(1)
    )
    assert re.search(r'name="trust.2" value="5" checked', html), "other answers stay on the page"
    assert _saved(db, world.buyers[0]) == {}


def test_a_post_without_the_csrf_token_is_refused(client, world, db):
    response = client.post(_page(client, world, "trust"), data={"trust.1": "6"})
    assert response.status_code == 400
    assert "Please try again" in _text(response)
    assert _saved(db, world.buyers[0]) == {}


def test_texts_and_critical_moments_are_saved_and_an_incomplete_moment_is_flagged(
    client, world, db
):
    bad = post_form(
        client,
        _page(client, world, "moments"),
        {"moments-present": "1", "moments-1-touchpoint": "sales", "moments-1-text": "Late"},
    )
    assert bad.status_code == 400
    assert 'id="q-moments-1-error"' in _text(bad)
    good = post_form(
        client,
        _page(client, world, "moments"),
        {
            "moments-present": "1",
            "moments-1-touchpoint": "delivery",
            "moments-1-tag": "let_down",
            "moments-1-text": "Shipment two weeks late",
            "action": "next",
        },
    )
    assert good.status_code == 303
    post_form(
        client,
        _page(client, world, "comments"),
        {"comment.start": "Visit us", "comment.stop": "", "comment.continue": "x"},
    )
    saved = _saved(db, world.buyers[0])
    assert saved["moments"] == [
        {"touchpoint": "delivery", "tag": "let_down", "text": "Shipment two weeks late"}
    ]
    assert saved["comment.start"] == "Visit us"
    assert saved["comment.stop"] is None


def test_the_moments_page_has_as_many_slots_as_its_wording_states(client, world, db):
    limit = load_bank().item("moments").max_items
    html = _text(client.get(_page(client, world, "moments")))
    assert f"You can describe up to {limit} moments" in html
    assert html.count('<fieldset class="moment') == limit
    assert len(re.findall(r'name="moments-\d+-(touchpoint|tag|text)"', html)) == 3 * limit
    assert set(re.findall(r"up to (\d+)", html)) == {str(limit)}  # no other number is stated
    # the last slot is a real one: what is written there is saved
    saved = post_form(
        client,
        _page(client, world, "moments"),
        {
            "moments-present": "1",
            f"moments-{limit}-touchpoint": "billing",
            f"moments-{limit}-tag": "angry",
            f"moments-{limit}-text": "Invoice sent twice",
            "action": "next",
        },
    )
    assert saved.status_code == 303
    assert _saved(db, world.buyers[0])["moments"] == [
        {"touchpoint": "billing", "tag": "angry", "text": "Invoice sent twice"}
    ]


def test_the_welcome_page_states_the_submit_rule_that_submitting_applies(client, world, db):
    bank = load_bank()
    rule = bank.submit_rule()
    html = " ".join(_text(client.get(f"/s/{world.buyers[0].token}")).split())
    assert "Only the 0–10 recommendation question is required" not in html
    assert (
        f"answer the 0–10 recommendation question and at least {rule.answered_per_dimension} "
        f"of the {rule.items_per_dimension} statements on {rule.min_dimensions} of the "
        f"{rule.dimensions} topics"
    ) in html
    assert rule.required == ("recommend",)

    # exactly what the page states is enough; one topic fewer is not
    def stated(topics: int) -> dict:
        answers = {"recommend": 8}
        for dimension in bank.dimensions[:topics]:
            ids = bank.dimension_items()[dimension][: rule.answered_per_dimension]
            answers.update(dict.fromkeys(ids, 5))
        return answers

    short, person = world.buyers[1], world.buyers[0]
    url = "/api/v1/respond/{}/subjects/{}/submit"
    refused = client.post(
        url.format(short.token, short.subject_ids[0]),
        json={"answers": stated(rule.min_dimensions - 1)},
    )
    assert refused.status_code == 400
    accepted = client.post(
        url.format(person.token, person.subject_ids[0]),
        json={"answers": stated(rule.min_dimensions)},
    )
    assert accepted.status_code == 200, accepted.get_json()


def test_review_names_what_is_missing_and_submit_thanks_the_respondent(client, world, db):
    person = world.buyers[0]
    review_url = _page(client, world, "review")
    review = client.get(review_url)
    assert review.status_code == 200
    # nothing is called missing before the respondent tries to submit
    assert "Answer the recommendation question (0–10)." not in _text(review)
    assert "Before you can submit" not in _text(review)
    refused = client.post(review_url, data={"csrf_token": csrf_token(_text(review))})
    assert refused.status_code == 400
    assert "Before you can submit" in _text(refused)
    assert "Answer the recommendation question (0–10)." in _text(refused)
    check = client.get(_page(client, world, "recommend") + "?check=1")
    assert 'id="q-recommend-error"' in _text(check)

    for section in ("trust", "competence", "recognition", "proactivity", "recommend"):
        fields = {k: str(v) for k, v in complete_answers().items() if k.split(".")[0] == section}
        post_form(client, _page(client, world, section), {**fields, "action": "next"})
    submitted = post_form(client, review_url, {})
    assert submitted.status_code == 303
    assert submitted.headers["Location"] == f"/s/{person.token}/done"
    done = client.get(submitted.headers["Location"])
    assert done.status_code == 200 and "Thank you" in _text(done)
    assert db.responses.find_one({"invitation_id": person.invitation_id})["status"] == "completed"
    assert db.invitations.find_one({"_id": person.invitation_id})["status"] == "completed"

    again = client.get(f"/s/{person.token}")
    assert again.status_code == 200 and "Already submitted" in _text(again)
    late = client.post(
        _page(client, world, "trust"), data={"csrf_token": csrf_token(_text(review))}
    )
    assert late.status_code == 409 and "Already submitted" in _text(late)


def test_done_before_submitting_goes_back_to_the_survey(client, world):
    response = client.get(f"/s/{world.buyers[0].token}/done")
    assert response.status_code == 303


def test_a_seller_sees_their_buyers_with_status_and_answers_for_each_in_turn(client, world, db):
    seller = world.sellers[0]
    first, second = seller.subject_ids
    welcome = _text(client.get(f"/s/{seller.token}"))
    assert "answer for 2 buyer contacts" in welcome
    listing = _text(client.get(f"/s/{seller.token}/buyers"))
    assert listing.count('class="status status-not_started"') == 2
    assert "Next: Buyer 1, Account 1" in listing

    page = _text(client.get(f"/s/{seller.token}/q/{first}/trust"))
    assert "Buyer 1 would say that we keep our promises." in page
    assert "About Buyer 1, Account 1" in page
    api = client.post(
        f"/api/v1/respond/{seller.token}/subjects/{first}/submit",
        json={"answers": complete_answers()},
    )
    assert api.status_code == 200
    after = client.get(f"/s/{seller.token}")
    assert after.status_code == 303 and after.headers["Location"].endswith("/buyers")
    listing = _text(client.get(f"/s/{seller.token}/buyers"))
    assert 'class="status status-completed">Completed' in listing
    assert "Next: Buyer 2, Account 1" in listing

    for section in ("trust", "competence", "recognition", "proactivity", "recommend"):
        fields = {k: str(v) for k, v in complete_answers().items() if k.split(".")[0] == section}
        post_form(client, f"/s/{seller.token}/q/{second}/{section}", {**fields, "action": "next"})
    submitted = post_form(client, f"/s/{seller.token}/q/{second}/review", {})
    assert submitted.headers["Location"] == f"/s/{seller.token}/done"
    assert "answered for all your buyer contacts" in _text(client.get(f"/s/{seller.token}/done"))
    assert db.invitations.find_one({"_id": seller.invitation_id})["status"] == "completed"


def test_a_seller_goes_back_to_the_list_after_each_buyer(client, world):
    seller = world.sellers[0]
    first = seller.subject_ids[0]
    for section in ("trust", "competence", "recognition", "proactivity", "recommend"):
        fields = {k: str(v) for k, v in complete_answers().items() if k.split(".")[0] == section}
        post_form(client, f"/s/{seller.token}/q/{first}/{section}", {**fields, "action": "next"})
    submitted = post_form(client, f"/s/{seller.token}/q/{first}/review", {})
    assert submitted.status_code == 303
    listing = _text(client.get(submitted.headers["Location"]))
    assert "Thank you: your answers about Buyer 1, Account 1 are submitted." in listing


@pytest.mark.parametrize("kind", ["garbage", "tampered", "revoked", "other-subject"])
def test_unknown_tampered_or_revoked_links_get_one_plain_404_page(client, world, db, kind):
    person = world.buyers[0]
    if kind == "garbage":
        url = "/s/this-is-not-a-link"
    elif kind == "tampered":
        url = f"/s/{person.token[:-3]}xyz"
    elif kind == "revoked":
        revoke(db, person.invitation_id)
        url = f"/s/{person.token}"
    else:
        url = f"/s/{person.token}/q/{world.buyers[1].subject_ids[0]}/trust"
    response = client.get(url)
    assert response.status_code == 404
    html = _text(response)
    assert "<h1>Link not valid</h1>" in html
    assert "revoked" not in html.lower() and "signature" not in html.lower()


def test_a_closed_wave_gets_a_410_page_in_the_respondents_language(db, settings, client):
    world = make_wave(db, settings, buyers=1, language="de")
    close(db, settings, world)
    response = client.get(f"/s/{world.buyers[0].token}")
    assert response.status_code == 410
    assert "Diese Umfrage ist beendet" in _text(response)
    page = client.get(_page(client, world, "trust"))
    assert page.status_code == 410


def test_a_post_to_a_closed_wave_saves_nothing(db, settings, client, world):
    url = _page(client, world, "trust")
    token = csrf_token(_text(client.get(url)))
    close(db, settings, world, scored=False)
    response = client.post(url, data={"csrf_token": token, "trust.1": "6"})
    assert response.status_code == 410
    assert _saved(db, world.buyers[0]) == {}


def test_names_are_escaped_and_pages_carry_security_headers(db, settings, client):
    world = make_wave(db, settings, buyers=1, buyer_names=["<script>alert(1)</script>"])
    response = client.get(f"/s/{world.buyers[0].token}")
    html = _text(response)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_stylesheet_is_served_from_the_service(client):
    response = client.get("/static/survey.css")
    assert response.status_code == 200
    assert "font-family" in _text(response)


def _without_csrf(html: str) -> str:
    return re.sub(r'(name="csrf_token" (?:type="hidden" )?value=")[^"]*"', r'\1"', html)
