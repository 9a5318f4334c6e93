"""Every email reads correctly in every language, whichever optional value is missing.

Each template is rendered with everything set, then with each optional value missing in
turn, then with all of them missing; the subject, the text and the HTML are proof-read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.notify.rendering import TEMPLATES, Renderer, Words, wording
from shared.questionnaire import load_bank
from tests.support.reading import reading_problems, text_lines, visible_lines

CLOSES = datetime(2030, 3, 14, tzinfo=UTC)
FACTS = load_bank().what_it_takes()


def _contact(name: str, responded: bool) -> dict[str, Any]:
    dims = [{"name": "trust", "gap": 12.0}] if responded else []
    return {
        "name": name,
        "email": "ann@acme.example",
        "responded": responded,
        "level": "transactional" if responded else "insufficient",
        "relationship_index": 55.0 if responded else None,
        "gap": 12.0 if responded else None,
        "gap_class": "blind_spot" if responded else None,
        "blind_spots": dims,
        "undervalued": [],
    }


# Per email: its subject, a context with every value set, and the values that may be missing
# (each entry: the context key and what "missing" looks like for it).
EMAILS: dict[str, dict[str, Any]] = {
    "invitation (buyer)": {
        "template": "invitation",
        "subject": ("invitation_subject_buyer", ("org", "wave", "closes")),
        "context": dict(
            side="buyer", reminder=False, started=False, name="Ann Archer",
            org_name="Northwind Supplies", program_name="Key accounts", wave_name="Spring",
            asker="Sam Seller", subjects=["Ann Archer, Acme"], closes_at=CLOSES,
            url="https://survey.example/s/t", unsubscribe_url="https://survey.example/optout/t",
            facts=FACTS,
        ),
        "optional": {"name": "", "org_name": None, "asker": None, "unsubscribe_url": None},
    },
    "reminder (buyer, started)": {
        "template": "invitation",
        "subject": ("reminder_subject_buyer", ("org", "wave", "closes")),
        "context": dict(
            side="buyer", reminder=True, started=True, name="Ann Archer",
            org_name="Northwind Supplies", program_name="Key accounts", wave_name="Spring",
            asker="Sam Seller", subjects=["Ann Archer, Acme"], closes_at=CLOSES,
            url="https://survey.example/s/t", unsubscribe_url="https://survey.example/optout/t",
            facts=FACTS,
        ),
        "optional": {"name": "", "org_name": None, "asker": None, "unsubscribe_url": None},
    },
    "invitation (seller)": {
        "template": "invitation",
        "subject": ("invitation_subject_seller", ("org", "wave", "closes")),
        "context": dict(
            side="seller", reminder=False, started=False, name="Sam Seller",
            org_name="Northwind Supplies", program_name="Key accounts", wave_name="Spring",
            asker=None, subjects=["Ann Archer, Acme", "Cleo Cole, Globex"], closes_at=CLOSES,
            url="https://survey.example/s/t", unsubscribe_url="https://survey.example/optout/t",
            facts=FACTS,
        ),
        "optional": {"name": "", "org_name": None, "subjects": [], "unsubscribe_url": None},
    },
    "reminder (seller)": {
        "template": "invitation",
        "subject": ("reminder_subject_seller", ("org", "wave", "closes")),
        "context": dict(
            side="seller", reminder=True, started=False, name="Sam Seller",
            org_name="Northwind Supplies", program_name="Key accounts", wave_name="Spring",
            asker=None, subjects=["Ann Archer, Acme"], closes_at=CLOSES,
            url="https://survey.example/s/t", unsubscribe_url="https://survey.example/optout/t",
            facts=FACTS,
        ),
        "optional": {"name": "", "org_name": None, "subjects": [], "unsubscribe_url": None},
    },
    "seller results": {
        "template": "seller_results",
        "subject": ("results_subject", ("wave",)),
        "context": dict(
            seller_name="Sam Seller", wave_name="Spring", org_name="Northwind Supplies",
            accounts=[{"name": "Acme", "level": "transactional", "relationship_index": 55.0,
                       "ri_low_n": True, "n_ri": 2,
                       "contacts": [_contact("Ann Archer", True), _contact("Bob Baker", False)]}],
            overview=[{"name": "trust", "buyer": 50.0, "seller": 62.0, "gap": 12.0, "n": 1}],
            plan={"dimensions": [{"dimension": "trust", "gap_class": "blind_spot", "gap": 12.0,
                                  "behaviours": ["Confirm every promise in writing."]}],
                  "actions": [{"contact": "Ann Archer", "account": "Acme", "text": None,
                               "behaviours": []}]},
        ),
        "optional": {"seller_name": "", "org_name": None, "plan": None},
    },
    "seller whose buyers did not answer": {
        "template": "seller_no_answers",
        "subject": ("no_answers_subject", ("wave",)),
        "context": dict(
            seller_name="Sam Seller", wave_name="Spring", org_name="Northwind Supplies",
            answered=0, invited=5, contacts=["Ann Archer, Acme", "Bob Baker, Acme"],
        ),
        "optional": {"seller_name": "", "org_name": None, "contacts": []},
    },
    "seller whose one buyer did not answer": {
        "template": "seller_no_answers",
        "subject": ("no_answers_subject", ("wave",)),
        "context": dict(
            seller_name="Sam Seller", wave_name="Spring", org_name="Northwind Supplies",
            answered=0, invited=1, contacts=["Ann Archer, Acme"],
        ),
        "optional": {"seller_name": "", "org_name": None, "contacts": []},
    },
    "manager digest": {
        "template": "manager_digest",
        "subject": ("digest_subject", ("wave",)),
        "context": dict(
            wave_name="Spring", program_name="Key accounts", org_name="Northwind Supplies",
            rates=[{"side": "buyers", "invited": 5, "completed": 3, "share": 0.6},
                   {"side": "sellers", "invited": 2, "completed": 0, "share": 0.0}],
            relationship_index=63.1, nps=10.0, revenue_at_risk=2_000_000.0,
            ri_figure={"value": 63.1, "n": 2, "low_n": True}, nps_figure={"n": 1, "low_n": True},
            levels=[{"name": "transactional", "count": 1, "share": 1.0}],
            segments=[{"name": "stalker", "count": 1, "share": 1.0}],
            priority_accounts=[{"name": "Acme", "level": "transactional",
                                "relationship_index": 55.0, "annual_revenue": 2e6,
                                "priority": 9e5}],
        ),
        "optional": {"org_name": None, "priority_accounts": [], "relationship_index": None},
    },
    "new cases": {
        "template": "cases",
        "subject": ("cases_subject", ("wave", "count")),
        "context": dict(
            title="Autumn: new cases to follow up (2)", owner_name="Sam Seller",
            org_name="Northwind Supplies",
            intro=[("cases_intro", {"wave": "Autumn", "due": "16 March 2030"}),
                   ("cases_compared", {"previous_wave": "Spring"})],
            groups=[{"account_name": "Acme", "items": [
                {"key": "case_ri_drop", "url": "https://rapport.example/app/cases/c1?t=x",
                 "owner_line": None,
                 "values": {"wave": "Autumn", "previous_wave": "Spring", "who": "Ann Archer",
                            "kind": "ri drop", "previous": "70.0", "current": "55.0"}}]}],
            closing="cases_next",
        ),
        "optional": {
            "owner_name": "", "org_name": None, "closing": None,
            "intro": [("cases_intro", {"wave": "Autumn", "due": "16 March 2030"})],
        },
    },
}  # fmt: skip
# Every kind of case sentence; the overdue list to the manager says owner and due date.
for _kind in (
    "level_drop",
    "became_detractor",
    "antagonistic",
    "decision_maker_blind_spot",
    "silent_decision_maker",
    "other",
):
    _context = EMAILS["new cases"]["context"]
    _item = {**_context["groups"][0]["items"][0], "key": f"case_{_kind}"}
    if _kind in ("level_drop", "became_detractor"):
        _item["values"] = {**_item["values"], "previous": "promoter", "current": "detractor"}
    EMAILS[f"new cases ({_kind})"] = {
        **EMAILS["new cases"],
        "context": {**_context, "groups": [{"account_name": "Acme", "items": [_item]}]},
    }
EMAILS["case reminder"] = {
    **EMAILS["new cases"],
    "subject": ("case_reminder_subject", ("account",)),
    "context": {
        **EMAILS["new cases"]["context"],
        "intro": [("case_reminder_intro", {"due": "16 March 2030"})],
        "closing": None,
    },
    "optional": {"owner_name": "", "org_name": None},
}
EMAILS["overdue cases"] = {
    **EMAILS["new cases"],
    "subject": ("cases_overdue_subject", ("program", "count")),
    "context": {
        **EMAILS["new cases"]["context"],
        "intro": [("cases_overdue_intro", {})],
        "closing": None,
        "groups": [{"account_name": "Acme", "items": [{
            **EMAILS["new cases"]["context"]["groups"][0]["items"][0],
            "owner_line": {"owner": "sam@northwind.example", "due": "16 March 2030"}}]}],
    },
    "optional": {"owner_name": "", "org_name": None},
}  # fmt: skip

SUBJECT_VALUES = {
    "org": "Northwind Supplies",
    "wave": "Spring",
    "closes": "14 March 2030",
    "account": "Acme",
    "count": 2,
    "program": "Key accounts",
}


def _variants(email: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Everything set; each optional value missing in turn; all of them missing."""
    context, optional = email["context"], email["optional"]
    variants = [("everything set", dict(context))]
    variants += [(f"no {key}", {**context, key: value}) for key, value in optional.items()]
    variants.append(("nothing optional", {**context, **optional}))
    return variants


def _problems(renderer: Renderer, email: dict[str, Any], language: str) -> list[str]:
    problems = []
    subject_key, subject_names = email["subject"]
    for label, context in _variants(email):
        values = {name: SUBJECT_VALUES[name] for name in subject_names}
        if context.get("org_name") is None:
            values["org"] = None
        rendered = renderer.render(
            email["template"], language=language, subject=(subject_key, values), **context
        )
        for part, lines in (
            ("subject", [rendered.subject]),
            ("text", text_lines(rendered.text)),
            ("html", visible_lines(rendered.html)),
        ):
            problems += [f"{label}, {part}: {p}" for p in reading_problems(lines)]
        if language != "en":  # nothing falls back to the English sentence
            english = renderer.render(
                email["template"], language="en", subject=(subject_key, values), **context
            )
            assert rendered.text != english.text
    return problems


@pytest.mark.parametrize("language", wording()["languages"])
@pytest.mark.parametrize("name", list(EMAILS))
def test_every_email_reads_correctly_with_any_optional_value_missing(name, language):
    problems = _problems(Renderer(), EMAILS[name], language)
    assert not problems, "\n".join(problems)


def test_every_email_template_is_proof_read():
    # every email (partials, named _*, are proof-read inside the emails that include them)
    templates = {p.stem for p in Path(TEMPLATES).glob("*.txt") if not p.name.startswith("_")}
    assert templates == {email["template"] for email in EMAILS.values()}


def test_a_missing_name_picks_the_sentence_written_without_it():
    en, de = Words("en", html=False), Words("de", html=False)
    assert en("signature", org="Northwind") == "Thank you, Northwind"
    assert en("signature", org=None) == "Thank you."
    assert de("asking_buyer", asker=None, org=None) == (
        "Ihr Account-Team möchte wissen, wie Sie die Zusammenarbeit mit uns erleben."
    )
    assert en("asking_buyer", asker="Sam", org=" ") == (
        "Sam and your account team would like to know how you see working with us."
    )
    # a value no sentence can do without shows as a dash, never as a hole or "None"
    assert en("digest_intro", wave=None, program="Key accounts") == (
        "The wave – of Key accounts is scored. The full results are in Rapport."
    )


def test_an_alert_value_sent_as_a_code_is_named_as_the_engine_codes_it():
    from services.notify.alerts import describe
    from services.scoring.engine.vocabulary import DETRACTOR, PROMOTER, TRANSACTIONAL

    words = Words("en", html=False)
    assert describe(DETRACTOR, "nps_category", words) == words.name("nps_category", "detractor")
    assert describe(PROMOTER, "nps_category", words) == words.name("nps_category", "promoter")
    assert describe(TRANSACTIONAL, "level", words) == words.name("level", "transactional")
    assert describe("passive", "nps_category", words) == words.name("nps_category", "passive")
