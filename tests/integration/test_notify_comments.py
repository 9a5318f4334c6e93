"""The results emails carry what buyers wrote: each seller reads their own buyers' words with
who wrote them, the manager the count and the most recent; both stay short."""

from __future__ import annotations

import pytest

from deploy.local.mail_capture import CaptureServer
from services.scoring.worker import close_wave
from services.survey.respond.service import load_respondent, submit_answers
from shared.bus import InProcessBus
from shared.events import WAVE_SCORED, Event
from tests.conftest import isolated_settings
from tests.support.notify_fixtures import make_notifier
from tests.support.survey_fixtures import complete_answers, make_wave

ANN_START = "Send the delivery dates a week ahead."
ANN_STOP = "Stop changing our contact person every quarter."
ANN_CONTINUE = "Keep the quarterly reviews: they help us plan."
ANN_MOMENT = "Three invoices with the wrong VAT number in March."
BEA_CONTINUE = "Your support desk answers within the hour & on weekends."
BEA_MOMENT = "The rush order arrived a day early."
SELLER_GUESS = "Buyer 1 would say: visit us more often."
MANAGER = "pm@northwind.example"  # the program's manager_email: gets the digest


def _results_mail(smtp) -> list:
    """The captured emails but each owner's email of new cases (tests/integration/
    test_case_emails.py): these tests read the results emails."""
    return [m for m in smtp.handler.snapshot() if "new cases to follow up" not in m.subject]


@pytest.fixture
def smtp():
    server = CaptureServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings():
    return isolated_settings()


def _submit(db, settings, person, answers, *, subject_id=None):
    respondent = load_respondent(db=db, settings=settings, token=person.token)
    submit_answers(
        db=db,
        bus=None,
        respondent=respondent,
        subject_id=subject_id or person.subject_ids[0],
        answers=answers,
    )


def _scored_and_emailed(db, settings, world, smtp):
    """Close the wave as the scoring worker does, then hand its `wave.scored` to notify."""
    close_wave(db=db, bus=InProcessBus(settings, declare={"all": ("#",)}), wave_id=world.wave_id)
    scored = {"org_id": world.org_id, "wave_id": world.wave_id, "program_id": world.program_id}
    make_notifier(db, smtp.url).handle(Event(WAVE_SCORED, scored))
    return {m.rcpt_tos[0]: m for m in _results_mail(smtp)}


def _plain(mail) -> str:
    return mail.part("plain").replace("\r\n", "\n")


def test_each_seller_reads_what_their_own_buyers_wrote_with_who_wrote_it(db, settings, smtp):
    # Buyer 1 and Buyer 3 (Account 1) are Seller 1's, Buyer 2 (Account 2) is Seller 2's
    world = make_wave(
        db,
        settings,
        buyers=3,
        sellers=2,
        accounts=2,
        every_seller_for_every_buyer=False,
        manager_email=MANAGER,
    )
    ann, bea, cid = world.buyers
    _submit(
        db,
        settings,
        ann,
        {
            **complete_answers(recommend=6, value=4),
            "comment.start": ANN_START,
            "comment.stop": ANN_STOP,
            "comment.continue": ANN_CONTINUE,
            "moments": [{"touchpoint": "billing", "tag": "angry", "text": ANN_MOMENT}],
        },
    )
    _submit(
        db,
        settings,
        bea,
        {
            **complete_answers(recommend=10, value=7),
            "comment.continue": BEA_CONTINUE,
            "moments": [{"touchpoint": "delivery", "tag": "delighted", "text": BEA_MOMENT}],
        },
    )
    _submit(db, settings, cid, complete_answers(recommend=8, value=5))
    first, second = world.sellers
    _submit(
        db,
        settings,
        first,
        {**complete_answers(), "comment.start": SELLER_GUESS},
        subject_id=ann.subject_ids[0],
    )
    mails = _scored_and_emailed(db, settings, world, smtp)

    text = _plain(mails["seller1@northwind.example"])
    words = text[text.index("== In your buyers' own words ==") : text.index("== Your coaching")]
    assert words.split("\n")[1:] == [
        "",
        f'"{ANN_START}"',
        "  Buyer 1, Account 1 · what we should start doing",
        "",
        f'"{ANN_STOP}"',
        "  Buyer 1, Account 1 · what we should stop doing",
        "",
        f'"{ANN_CONTINUE}"',
        "  Buyer 1, Account 1 · what we should keep doing",
        "",
        f'"{ANN_MOMENT}"',
        "  Buyer 1, Account 1 · a moment: Angry, Billing",
        "",
        "",
    ]
    # the seller's own guess is theirs, not their buyer's words; another seller's buyer neither
    assert SELLER_GUESS not in text and BEA_CONTINUE not in text
    html = mails["seller1@northwind.example"].part("html")
    assert "In your buyers&#39; own words" in html and f"&ldquo;{ANN_MOMENT}&rdquo;" in html

    other = _plain(mails["seller2@northwind.example"])
    assert f'"{BEA_CONTINUE}"\n  Buyer 2, Account 2 · what we should keep doing' in other
    assert f'"{BEA_MOMENT}"\n  Buyer 2, Account 2 · a moment: Delighted, Delivery' in other
    assert ANN_START not in other and "more not shown" not in other
    assert "Your support desk answers within the hour &amp; on weekends." in (
        mails["seller2@northwind.example"].part("html")
    )

    # the manager: how many, by kind, and the five most recent (newest response first)
    digest = _plain(mails["pm@northwind.example"])
    part = digest[digest.index("== In buyers' own words ==") :]
    assert (
        "Comments from buyers: 6 (start doing: 1, stop doing: 1, keep doing: 2, "
        "moments that stood out: 2)."
    ) in part
    newest_first = sorted(
        db.responses.find({"wave_id": world.wave_id, "side": "buyer", "status": "completed"}),
        key=lambda r: (r["completed_at"], r["_id"]),
        reverse=True,
    )
    said = {ann.contact_id: [ANN_START, ANN_STOP, ANN_CONTINUE, ANN_MOMENT]}
    said[bea.contact_id] = [BEA_CONTINUE, BEA_MOMENT]
    expected = [t for r in newest_first for t in said.get(r["contact_id"], [])][:5]
    quoted = [line[1:-1] for line in part.splitlines() if line.startswith('"')]
    assert quoted == expected
    assert "1 more in Rapport: the wave's comments list has every one" in part


def test_a_talkative_wave_keeps_the_sellers_email_short_and_says_how_many_more(db, settings, smtp):
    world = make_wave(db, settings, buyers=2, sellers=1, accounts=1, manager_email=MANAGER)
    # the longest answers the questionnaire takes, full of characters HTML must escape
    long = ("<b>&amp;</b> " * 200)[:1980]
    for n, buyer in enumerate(world.buyers, start=1):
        _submit(
            db,
            settings,
            buyer,
            {
                **complete_answers(),
                **{
                    f"comment.{kind}": f"{n}{kind} {long}" for kind in ("start", "stop", "continue")
                },
                "moments": [
                    {"touchpoint": "service", "tag": "let_down", "text": f"{n}m{i} {long}"}
                    for i in range(10)
                ],
            },
        )
    mails = _scored_and_emailed(db, settings, world, smtp)
    mail = mails["seller1@northwind.example"]
    text, html = _plain(mail), mail.part("html")
    quoted = [line for line in text.splitlines() if line.startswith('"')]
    assert len(quoted) == 10
    # five from each buyer, in turn, each cut at a word with an ellipsis
    assert sum(q.startswith('"1') for q in quoted) == sum(q.startswith('"2') for q in quoted) == 5
    assert all(len(q) <= 502 and q.endswith('…"') for q in quoted)
    assert "16 more not shown here; your program manager has every comment." in text
    assert len(html.encode()) < 100_000  # Gmail clips larger messages
    digest = mails["pm@northwind.example"]
    assert "Comments from buyers: 26 (" in _plain(digest)
    assert "21 more in Rapport" in _plain(digest)
    assert len(digest.part("html").encode()) < 100_000


def test_a_wave_without_comments_tells_the_manager_so_and_sellers_nothing(db, settings, smtp):
    world = make_wave(db, settings, buyers=1, sellers=1, accounts=1, manager_email=MANAGER)
    _submit(db, settings, world.buyers[0], complete_answers())
    mails = _scored_and_emailed(db, settings, world, smtp)
    assert "own words" not in _plain(mails["seller1@northwind.example"])
    digest = _plain(mails["pm@northwind.example"])
    assert "No buyer wrote a comment or described a moment in this wave." in digest
