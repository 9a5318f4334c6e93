"""Pure parts of the notify service: SMTP_URL, the send rate, addresses, headers, wording."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_string, policy

import pytest

from services.notify.config import NotifyConfig
from services.notify.mailer import PermanentFailure, RateLimiter, SmtpTarget, TemporaryFailure
from services.notify.mailer import _classify as classify
from services.notify.messages import (
    InvalidAddress,
    RenderedEmail,
    compose,
    mailbox,
    one_line,
    sender_address,
)
from services.notify.rendering import Words, bar_width, email_language, text_bar, wording

# --- SMTP_URL ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        ("smtp://mail.example", ("mail.example", 25, "plain", None, None)),
        ("smtp://mail.example:2525", ("mail.example", 2525, "plain", None, None)),
        ("smtp://mail.example?starttls=1", ("mail.example", 587, "starttls", None, None)),
        ("smtp://u:p@mail.example:587?starttls=true", ("mail.example", 587, "starttls", "u", "p")),
        ("smtps://mail.example", ("mail.example", 465, "tls", None, None)),
        (
            "smtps://me%40x.com:p%3Aw%40d@mail.example:4650",
            ("mail.example", 4650, "tls", "me@x.com", "p:w@d"),
        ),
    ],
)
def test_smtp_url_gives_host_port_security_and_credentials(url, expected):
    t = SmtpTarget.from_url(url)
    assert (t.host, t.port, t.security, t.username, t.password) == expected


def test_smtp_url_options_and_errors():
    t = SmtpTarget.from_url("smtps://h?timeout=2.5&verify=0&cafile=/etc/ca.pem")
    assert (t.timeout, t.verify, t.cafile) == (2.5, False, "/etc/ca.pem")
    for bad in ("http://h", "smtp://", "mail.example:25"):
        with pytest.raises(ValueError):
            SmtpTarget.from_url(bad)


def test_4xx_is_temporary_and_5xx_permanent_and_421_means_the_relay_is_away():
    assert isinstance(classify(450, "greylisted"), TemporaryFailure)
    assert not classify(450, "greylisted").connection
    assert classify(421, "closing").connection
    assert isinstance(classify(550, "no such user"), PermanentFailure)
    assert isinstance(classify(554, "rejected"), PermanentFailure)


def test_the_rate_limiter_spaces_sends_evenly():
    clock = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(4, clock=lambda: clock[0], sleep=sleep)
    for _ in range(5):
        limiter.acquire()
    assert slept == pytest.approx([0.25, 0.25, 0.25, 0.25])
    unlimited = RateLimiter(0, clock=lambda: 0.0, sleep=sleep)
    unlimited.acquire()
    assert len(slept) == 4


def test_backoff_doubles_up_to_its_ceiling():
    config = NotifyConfig(retry_base_s=30, retry_max_s=300)
    assert [config.backoff_s(n) for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 240, 300]


# --- addresses and headers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "a@b.example\r\nBcc: x@evil.example",
        "a@b.example\nBcc: x@evil.example",
        "a@b.example, x@evil.example",
        "A <a@b.example>",
        "a b@c.example",
        "a@",
        "@b.example",
        "",
        "a@b.example\x00",
        "x" * 250 + "@b.example",
    ],
)
def test_an_address_that_could_smuggle_headers_or_recipients_is_refused(address):
    with pytest.raises(InvalidAddress):
        mailbox(address, "Name")


def test_a_display_name_is_made_one_line_and_quoted():
    to = mailbox("ann@acme.example", 'Ann "the boss"\r\nBcc: x@evil.example, <y@evil.example>')
    assert to.addr_spec == "ann@acme.example"
    assert "\r" not in to.display_name and "\n" not in to.display_name
    assert one_line("a\r\nb\tc\u2028d") == "a b c d"


def _compose(**overrides):
    values = dict(
        sender=sender_address("Rapport <rapport@northwind.example>"),
        to=mailbox("ann@acme.example", "Ann\r\nBcc: victim@evil.example"),
        rendered=RenderedEmail(
            subject="Hello\r\nBcc: victim@evil.example", text="Grüße ünd so", html="<p>Grüße</p>"
        ),
        idempotency_key="e1:ann@acme.example:invitation",
        language="de",
        unsubscribe_url="https://rapport.example/optout/tok",
        now=datetime(2030, 1, 2, tzinfo=UTC),
    )
    values.update(overrides)
    return compose(**values)


def test_a_composed_message_has_one_of_each_header_and_both_bodies():
    raw = _compose().as_string()
    assert raw.isascii()  # stored as is in the emails document
    parsed = message_from_string(raw, policy=policy.default)
    assert parsed["Bcc"] is None
    assert [k for k in parsed.keys() if k.lower() == "to"] == ["To"]
    assert parsed["Subject"] == "Hello Bcc: victim@evil.example"
    assert parsed["To"].addresses[0].addr_spec == "ann@acme.example"
    assert parsed["List-Unsubscribe"] == "<https://rapport.example/optout/tok>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Content-Language"] == "de"
    assert parsed.get_body(("plain",)).get_content().strip() == "Grüße ünd so"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Grüße</p>"


def test_the_message_id_is_the_same_for_the_same_idempotency_key():
    first, again = _compose(), _compose(now=datetime(2031, 1, 1, tzinfo=UTC))
    other = _compose(idempotency_key="e2:ann@acme.example:invitation")
    assert first["Message-ID"] == again["Message-ID"] != other["Message-ID"]
    assert first["Message-ID"].endswith("@northwind.example>")


def test_an_unsubscribe_url_that_would_break_the_header_is_refused():
    with pytest.raises(ValueError):
        _compose(unsubscribe_url="https://x/optout/a>\r\nBcc: v@evil.example")


# --- wording and formats ---------------------------------------------------------------


def test_every_sentence_and_name_exists_in_every_language():
    catalogue = wording()
    for key, entry in catalogue["words"].items():
        assert set(entry) >= set(catalogue["languages"]), key
    for kind, names in catalogue["names"].items():
        for name, entry in names.items():
            assert set(entry) >= set(catalogue["languages"]), (kind, name)


def test_the_email_language_falls_back_to_english():
    assert [email_language(x) for x in ("de", "de-AT", "DE_ch", "fr", None, "")] == [
        "de",
        "de",
        "de",
        "en",
        "en",
        "en",
    ]


def test_numbers_and_dates_follow_the_language():
    en, de = Words("en", html=False), Words("de", html=False)
    assert (en.number(1234.56), de.number(1234.56)) == ("1,234.6", "1.234,6")
    assert (en.signed(12.25), en.signed(-3), en.signed(0)) == ("+12.2", "-3.0", "0.0")
    assert (en.number(None), en.number(float("nan"))) == ("–", "–")
    assert (en.percent(2 / 3), de.percent(0.5)) == ("67%", "50 %")
    day = datetime(2030, 3, 14, tzinfo=UTC)
    assert (en.date(day), de.date(day)) == ("14 March 2030", "14. März 2030")
    assert (en.name("level", "trusted_advisor"), de.name("gap_class", "blind_spot")) == (
        "trusted advisor",
        "blinder Fleck",
    )


def test_html_sentences_escape_their_values():
    html = Words("en", html=True)
    assert (
        str(html("greeting", name="<script>x</script>")) == "Dear &lt;script&gt;x&lt;/script&gt;,"
    )
    assert Words("en", html=False)("greeting", name="<b>") == "Dear <b>,"


def test_bars_are_as_wide_as_the_score():
    assert [bar_width(v) for v in (None, 0, 0.2, 44.4, 100, 130)] == [0, 0, 1, 44, 100, 100]
    assert text_bar(50, width=10) == "[#####-----]" and text_bar(None, width=4) == "[----]"
