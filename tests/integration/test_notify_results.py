"""After `wave.scored`: sellers' results and coaching, the manager's digest; no alert emails."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter

import pytest

from deploy.local.mail_capture import CaptureServer
from services.notify.results import ResultsNotReady
from services.notify.worker import consumer_specs
from shared.events import RELATIONSHIP_ALERT, WAVE_SCORED, Event
from tests.support.notify_fixtures import DIMENSIONS, make_notifier, make_world, write_results
from tests.support.waiting import wait_for


def _results_mail(smtp) -> list:
    """The captured emails but each owner's email of new cases (tests/integration/
    test_case_emails.py): these tests read the results emails."""
    return [m for m in smtp.handler.snapshot() if "new cases to follow up" not in m.subject]


@pytest.fixture
def smtp():
    server = CaptureServer().start()
    yield server
    server.stop()


def _scored(world) -> Event:
    return Event(
        WAVE_SCORED,
        {"org_id": world.org_id, "wave_id": world.wave_id, "program_id": world.program_id},
    )


def _plain(mail) -> str:
    return mail.part("plain").replace("\r\n", "\n")


def _one(value: float) -> str:
    return f"{value:,.1f}"


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + _one(value)


def _words(name: str) -> str:
    return name.replace("_", " ")


def _section(text: str, start: str, ends: list[str]) -> str:
    """The part of `text` from `start` to the first of `ends` after it."""
    begin = text.index(start)
    stops = [text.index(e, begin + len(start)) for e in ends if e in text[begin + len(start) :]]
    return text[begin : min(stops) if stops else len(text)]


def test_after_wave_scored_each_seller_gets_one_results_email_with_the_stored_numbers(
    db, rabbit_bus, smtp
):
    world = make_world(db)
    stored = write_results(db, world)
    notifier = make_notifier(db, smtp.url, bus=rabbit_bus)
    (spec,) = consumer_specs(notifier.container, notifier)
    consumer = rabbit_bus.consumer(spec)
    consumer.start()
    try:
        event = _scored(world)
        rabbit_bus.publish(event)
        rabbit_bus.publish(event)  # redelivered
        wait_for(lambda: len(_results_mail(smtp)) >= 3, message="two sellers and the manager")
        time.sleep(0.5)  # time for the redelivered copy to be handled (and skipped)
    finally:
        consumer.stop()
    mails = _results_mail(smtp)
    assert Counter(m.rcpt_tos[0] for m in mails) == Counter(
        {"sam@northwind.example": 1, "tess@northwind.example": 1, "pm@northwind.example": 1}
    )
    sellers_contacts = {
        "sam@northwind.example": ["ann@acme.example", "bob@acme.example", "cleo@globex.example"],
        "tess@northwind.example": ["cleo@globex.example"],
    }
    contacts = {
        c["email"]: c for account in stored["accounts"].values() for c in account["contacts"]
    }
    names = [c["name"] for c in contacts.values()]
    for seller, emails in sellers_contacts.items():
        mail = next(m for m in mails if m.rcpt_tos == [seller])
        assert mail.subject == "Your relationship results and coaching plan: Spring 2025"
        text, html = _plain(mail), mail.part("html")
        for email in emails:
            contact = contacts[email]
            block = _section(text, f"  {contact['name']}\n", [*names, "The gap is"])
            if contact["relationship_index"] is None:
                assert "has not answered" in block
                continue
            assert (
                f"{_words(contact['level'])} · relationship index "
                f"{_one(contact['relationship_index'])} · gap {_signed(contact['gap'])} "
                f"({_words(contact['gap_class'])})"
            ) in block
            # each blind spot and each undervalued dimension of the contact is named with its gap
            for gap_class, label in (("blind_spot", "Blind spots"), ("undervalued", "Undervalued")):
                flagged = [
                    d for d in DIMENSIONS if contact["dimensions"][d]["gap_class"] == gap_class
                ]
                if not flagged:
                    assert label not in block
                    continue
                line = next(line for line in block.splitlines() if line.strip().startswith(label))
                for d in flagged:
                    assert f"{d.title()} ({_signed(contact['dimensions'][d]['gap'])})" in line
        # one chart over the relationships both sides scored: means of the stored scores
        answered = [contacts[e] for e in emails if contacts[e]["relationship_index"] is not None]
        overview = _section(text, "== How your buyers see you", ["== Your relationships =="])
        html_chart = _section(html, "How your buyers see you", ["Your relationships"])
        lines = overview.splitlines()
        for d in DIMENSIONS:
            buyer = [
                c["dimensions"][d]["buyer"]
                for c in answered
                if c["dimensions"][d]["buyer"] is not None
            ]
            mine = [
                c["dimensions"][d]["seller"]
                for c in answered
                if c["dimensions"][d]["seller"] is not None
            ]
            at = next(i for i, line in enumerate(lines) if line.startswith(d.title()))
            assert lines[at].rstrip().endswith(_one(sum(buyer) / len(buyer)))
            assert _one(sum(mine) / len(mine)) in lines[at + 1]
            for value, colour in (
                (sum(buyer) / len(buyer), "#1d4ed8"),
                (sum(mine) / len(mine), "#93c5fd"),
            ):
                assert f'width="{round(value)}%" height="12" bgcolor="{colour}"' in html_chart
        assert len(html.encode()) < 100_000  # Gmail clips larger messages
    sam = _plain(next(m for m in mails if m.rcpt_tos == ["sam@northwind.example"]))
    plan = sam[sam.index("== Your coaching plan ==") :]
    assert plan.index("1. Recognition (blind spot)") < plan.index("2. Trust (blind spot)")
    # the coaching library's first behaviour for a blind spot on trust
    assert "   - Confirm every promise in writing with a date, and send it the same day." in plan
    assert "- Ask for the next piece of business. (Cleo Cole, Globex)" in plan
    tess = _plain(next(m for m in mails if m.rcpt_tos == ["tess@northwind.example"]))
    assert "Acme Corp" not in tess and "1. Proactivity (aligned)" in tess
    # the HTML has only inline styles: no <style> block, no CSS classes, no scripts
    html = next(m for m in mails if m.rcpt_tos == ["sam@northwind.example"]).part("html")
    assert "<style" not in html and "class=" not in html and "<script" not in html


def test_the_program_manager_gets_rates_distributions_revenue_at_risk_and_priorities(db, smtp):
    world = make_world(db)
    stored = write_results(db, world, without=["tess@northwind.example"])  # nor does Bob answer
    make_notifier(db, smtp.url).handle(_scored(world))
    digest = next(m for m in _results_mail(smtp) if m.rcpt_tos == ["pm@northwind.example"])
    assert digest.subject == "Wave results: Spring 2025"
    text = _plain(digest)
    assert "Buyers: 2 of 3 completed (67%)" in text
    assert "Sellers: 1 of 2 completed (50%)" in text
    results = stored["results"]
    assert f"Revenue at risk: {results['revenue_at_risk']:,.0f}" in text
    assert f"Relationship index: {_one(results['relationship_index']['value'])}" in text
    for level, count in results["levels"].items():
        name = "not enough answers" if level == "insufficient" else _words(level)
        assert re.search(rf"^{re.escape(name)} +\[[#-]+\] {count}$", text, re.M), level
    for segment, count in results["segments"].items():
        assert re.search(rf"^{segment} +\[[#-]+\] {count}$", text, re.M), segment
    first, second = sorted(results["accounts"], key=lambda a: -a["priority"])
    assert text.index(f"1. {first['name']}:") < text.index(f"2. {second['name']}:")
    assert f"Priority {first['priority']:,.0f}" in text


def test_the_digest_lists_as_many_priority_accounts_as_the_setting_says(db, smtp):
    world = make_world(db)
    stored = write_results(db, world)
    first, second = sorted(stored["results"]["accounts"], key=lambda a: -a["priority"])
    # RAPPORT_PRIORITY_ACCOUNTS_SHOWN=1
    make_notifier(db, smtp.url, priority_accounts_shown=1).handle(_scored(world))
    digest = next(m for m in _results_mail(smtp) if m.rcpt_tos == ["pm@northwind.example"])
    text = _plain(digest)
    assert f"1. {first['name']}:" in text
    assert f"2. {second['name']}:" not in text and f"{second['name']}:" not in text


def test_a_seller_none_of_whose_buyers_answered_gets_a_short_note_with_the_response_count(db, smtp):
    # Cleo (Globex) did not answer: Tess, whose only buyer she is, has nothing to compare;
    # Sam still has Ann's answers.
    world = make_world(db)
    write_results(db, world, without=("cleo@globex.example",))
    make_notifier(db, smtp.url).handle(_scored(world))
    mails = {m.rcpt_tos[0]: m for m in _results_mail(smtp)}
    tess = mails["tess@northwind.example"]
    text = " ".join(_plain(tess).split())
    assert tess.subject == "No results this time: Spring 2025"
    assert "Your buyer contact did not answer the survey Spring 2025" in text
    assert "- Cleo Cole, Globex" in _plain(tess)
    for part in (_plain(tess), tess.part("html")):
        assert "No coaching plan" not in part and "–" not in part and "[---" not in part
    sam = _plain(mails["sam@northwind.example"])
    assert "== Your coaching plan ==" in sam and "Ann Archer" in sam


def test_the_note_counts_how_many_of_the_sellers_buyers_answered(db, smtp):
    # Nobody answered at all: every seller gets the note, with their own count.
    world = make_world(db)
    write_results(
        db, world, without=("ann@acme.example", "bob@acme.example", "cleo@globex.example")
    )
    make_notifier(db, smtp.url).handle(_scored(world))
    mails = {m.rcpt_tos[0]: m for m in _results_mail(smtp)}
    sam = " ".join(_plain(mails["sam@northwind.example"]).split())
    assert "0 of your 3 buyer contacts answered the survey Spring 2025" in sam
    assert "No coaching plan" not in sam and "== How your buyers see you" not in sam
    stored = db.emails.find_one({"to": "sam@northwind.example"})
    assert stored["kind"] == "results" and stored["status"] == "sent"


def test_without_a_manager_email_the_digest_is_skipped_with_a_log_line(db, smtp, caplog):
    world = make_world(db, manager_email=None)
    write_results(db, world)
    with caplog.at_level(logging.INFO, logger="services.notify.results"):
        make_notifier(db, smtp.url).handle(_scored(world))
    assert sorted(m.rcpt_tos[0] for m in _results_mail(smtp)) == [
        "sam@northwind.example",
        "tess@northwind.example",
    ]
    assert any("no manager_email" in r.getMessage() for r in caplog.records)


def test_wave_scored_before_the_results_are_final_fails_so_the_bus_retries(db, smtp):
    world = make_world(db)
    write_results(db, world, final=False)
    with pytest.raises(ResultsNotReady):
        make_notifier(db, smtp.url).handle(_scored(world))
    assert _results_mail(smtp) == []


def test_a_german_seller_gets_german_results_with_decimal_commas(db, smtp):
    world = make_world(db, seller_language="de")
    stored = write_results(db, world)
    make_notifier(db, smtp.url, bus=None).handle(_scored(world))
    tess = next(m for m in _results_mail(smtp) if m.rcpt_tos == ["tess@northwind.example"])
    text = _plain(tess)
    cleo = next(c for c in stored["accounts"]["G-7"]["contacts"] if c["name"] == "Cleo Cole")
    assert tess.subject.startswith("Ihre Beziehungsergebnisse")
    assert "== Ihre Beziehungen ==" in text and "== Ihr Coaching-Plan ==" in text
    assert f"Beziehungsindex {_one(cleo['relationship_index']).replace('.', ',')}" in text
    assert "Vertrauen" in text and "unterschätzt" in text


def test_a_relationship_alert_sends_no_email_of_its_own(db, smtp):
    # its case is in the owner's one email of the wave (tests/integration/test_case_emails.py)
    world = make_world(db)
    make_notifier(db, smtp.url).handle(
        Event(
            RELATIONSHIP_ALERT,
            {
                "org_id": world.org_id,
                "wave_id": world.wave_id,
                "account_external_id": "A-1",
                "owner_email": "owner@northwind.example",
                "kind": "level_drop",
                "contact_email": "ann@acme.example",
                "detail": {"previous": "predisposed", "current": "transactional"},
            },
        )
    )
    assert _results_mail(smtp) == [] and db.emails.count_documents({}) == 0


def test_figures_from_too_few_answers_say_how_many_answers_they_rest_on(db, smtp):
    # Bob does not answer: the wave's RI and NPS rest on 2 buyers, each account's RI on 1
    world = make_world(db)
    stored = write_results(db, world)
    results = stored["results"]
    assert results["relationship_index"]["low_n"] and results["relationship_index"]["n"] == 2
    make_notifier(db, smtp.url).handle(_scored(world))
    mails = {m.rcpt_tos[0]: m for m in _results_mail(smtp)}

    digest = mails["pm@northwind.example"]
    text = _plain(digest)
    ri = _one(results["relationship_index"]["value"])
    assert f"Relationship index: {ri} (based on 2 answers)" in text
    assert f"NPS: {_one(results['nps']['value'])} (based on 2 answers)" in text
    acme = next(a for a in results["accounts"] if a["external_id"] == "A-1")
    assert acme["ri_low_n"] and acme["n_ri"] == 1
    assert f"Relationship index {_one(acme['relationship_index'])} (based on 1 answer)," in text
    assert f"<strong>{ri}</strong> (based on 2 answers)" in digest.part("html")

    sam = mails["sam@northwind.example"]
    account_line = f"relationship index {_one(acme['relationship_index'])} (based on 1 answer)"
    assert account_line in _plain(sam)
    assert account_line in sam.part("html")


def test_a_german_seller_reads_how_many_answers_a_thin_figure_rests_on(db, smtp):
    world = make_world(db, seller_language="de")
    stored = write_results(db, world)
    make_notifier(db, smtp.url).handle(_scored(world))
    tess = next(m for m in _results_mail(smtp) if m.rcpt_tos == ["tess@northwind.example"])
    globex = stored["accounts"]["G-7"]
    ri = _one(globex["relationship_index"]).replace(".", ",")
    assert f"Beziehungsindex {ri} (auf Grundlage einer Antwort)" in _plain(tess)
