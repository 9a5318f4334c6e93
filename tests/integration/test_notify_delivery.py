"""Sending through a real SMTP server that fails: retries, permanent refusals, TLS and login."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from deploy.local.mail_capture import CaptureHandler, CaptureServer
from deploy.local.mongo_server import free_port
from services.notify.mailer import Mailer, PermanentFailure
from shared.events import INVITATIONS_CREATED, Event
from tests.support.notify_fixtures import make_notifier, make_world
from tests.support.waiting import wait_for


@pytest.fixture
def smtp():
    server = CaptureServer().start()
    yield server
    server.stop()


def _invite_everyone(notifier, world) -> None:
    notifier.handle(
        Event(
            INVITATIONS_CREATED,
            {
                "org_id": world.org_id,
                "wave_id": world.wave_id,
                "invitation_ids": [i["_id"] for i in world.invitations],
                "kind": "invitation",
            },
        )
    )


def _arrived(handler: CaptureHandler) -> Counter:
    return Counter(r for m in handler.snapshot() for r in m.rcpt_tos)


def _everyone_once(world, handler: CaptureHandler, db) -> bool:
    return (
        _arrived(handler) == Counter(i["person_email"] for i in world.invitations)
        and db.emails.count_documents({"status": "sent"}) == 5
    )


def test_while_the_relay_answers_421_mail_waits_then_every_email_arrives_once(db, smtp):
    world = make_world(db)
    smtp.handler.temporary_failure = "421 Service not available, try later"
    first = make_notifier(db, smtp.url)
    _invite_everyone(first, world)
    assert smtp.handler.snapshot() == []
    pending = list(db.emails.find())
    assert {e["status"] for e in pending} == {"pending"} and len(pending) == 5
    assert any(e["attempts"] >= 1 and e["last_error"].startswith("421") for e in pending)

    smtp.handler.temporary_failure = None
    # A restarted notify process (a new Notifier) finds the pending mail and sends it.
    second = make_notifier(db, smtp.url)
    background = second.start_background(scheduler=False)
    try:
        wait_for(lambda: _everyone_once(world, smtp.handler, db), message="all five, once")
    finally:
        background.stop()
    assert _arrived(smtp.handler) == Counter(i["person_email"] for i in world.invitations)


def test_while_the_relay_is_stopped_mail_waits_then_every_email_arrives_once(db):
    world = make_world(db)
    port = free_port()  # nothing listens there yet: connection refused
    notifier = make_notifier(db, f"smtp://127.0.0.1:{port}")
    _invite_everyone(notifier, world)
    assert {e["status"] for e in db.emails.find()} == {"pending"}
    assert any("relay unavailable" in (e["last_error"] or "") for e in db.emails.find())

    background = notifier.start_background(scheduler=False)
    revived = CaptureServer(port=port).start()
    try:
        wait_for(lambda: _everyone_once(world, revived.handler, db), message="all five, once")
    finally:
        background.stop()
        revived.stop()
    assert _arrived(revived.handler) == Counter(i["person_email"] for i in world.invitations)


def test_a_550_for_one_address_is_recorded_as_failed_and_the_others_arrive(db, smtp):
    world = make_world(db)
    smtp.handler.reject_recipients["bob@acme.example"] = "550 5.1.1 No such user"
    notifier = make_notifier(db, smtp.url)
    _invite_everyone(notifier, world)
    bob = db.emails.find_one({"to": "bob@acme.example"})
    assert bob["status"] == "failed" and bob["attempts"] == 1
    assert bob["last_error"].startswith("550")
    arrived = _arrived(smtp.handler)
    assert "bob@acme.example" not in arrived
    assert sum(arrived.values()) == 4 and set(arrived.values()) == {1}
    # a retry pass does not try a failed email again
    assert notifier.delivery.send_due() == {}
    assert sum(_arrived(smtp.handler).values()) == 4


def test_two_retry_loops_over_the_same_pending_mail_send_each_email_once(db, smtp):
    world = make_world(db)
    smtp.handler.temporary_failure = "421 busy"
    _invite_everyone(make_notifier(db, smtp.url), world)
    smtp.handler.temporary_failure = None
    loops = [make_notifier(db, smtp.url) for _ in range(2)]
    start = threading.Barrier(2)

    def drain(notifier):
        start.wait()
        for _ in range(40):
            notifier.delivery.send_due()

    threads = [threading.Thread(target=drain, args=(n,)) for n in loops]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    wait_for(lambda: _everyone_once(world, smtp.handler, db), message="all five, once")
    assert max(_arrived(smtp.handler).values()) == 1


def test_an_email_held_by_a_live_process_is_not_taken_by_another(db, smtp):
    world = make_world(db)
    smtp.handler.temporary_failure = "421 busy"
    holder = make_notifier(db, smtp.url)
    _invite_everyone(holder, world)
    email = db.emails.find_one()
    held = holder.delivery.claim(email["_id"], now=email["next_attempt_at"].replace(year=2999))
    assert held is not None
    other = make_notifier(db, smtp.url)
    assert other.delivery.claim(email["_id"]) is None


def test_one_connection_carries_many_messages(db, smtp):
    connections = []
    original = Mailer._connect

    def counting(self):
        connections.append(1)
        return original(self)

    mailer = Mailer(smtp.url)
    mailer._connect = counting.__get__(mailer)  # type: ignore[method-assign]
    for n in range(5):
        mailer.send(
            f"From: a@b.example\r\nTo: x{n}@y.example\r\nSubject: {n}\r\n\r\nhi\r\n".encode(),
            sender="a@b.example",
            recipients=[f"x{n}@y.example"],
        )
    mailer.close()
    assert len(connections) == 1 and len(smtp.handler.snapshot()) == 5


def test_a_refused_recipient_does_not_spoil_the_connection_for_the_next(smtp):
    smtp.handler.reject_recipients["no@y.example"] = "550 nope"
    mailer = Mailer(smtp.url)
    raw = b"From: a@b.example\r\nSubject: s\r\n\r\nhi\r\n"
    with pytest.raises(PermanentFailure):
        mailer.send(raw, sender="a@b.example", recipients=["no@y.example"])
    mailer.send(raw, sender="a@b.example", recipients=["yes@y.example"])
    mailer.close()
    assert [m.rcpt_tos for m in smtp.handler.snapshot()] == [["yes@y.example"]]


# --- TLS and authentication ---------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make a test certificate: apt-get install openssl")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    return folder / "cert.pem", folder / "key.pem"


def _server_context(certificate):
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) in (
        (b"mailer", b"p@ss:word"),
        ("mailer", "p@ss:word"),
    )
    return AuthResult(success=ok, handled=False)


def test_starttls_with_login_delivers(certificate):
    handler = CaptureHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=_server_context(certificate),
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        url = f"smtp://mailer:p%40ss%3Aword@127.0.0.1:{port}?starttls=1&cafile={certificate[0]}"
        mailer = Mailer(url)
        mailer.send(b"Subject: tls\r\n\r\nhi\r\n", sender="a@b.example", recipients=["c@d.example"])
        mailer.close()
        wrong = Mailer(f"smtp://mailer:nope@127.0.0.1:{port}?starttls=1&cafile={certificate[0]}")
        with pytest.raises(Exception, match="authentication failed"):
            wrong.send(b"Subject: x\r\n\r\nx\r\n", sender="a@b.example", recipients=["c@d.example"])
    finally:
        controller.stop()
    assert [m.subject for m in handler.snapshot()] == ["tls"]


def test_implicit_tls_delivers_and_an_untrusted_certificate_is_refused(certificate):
    handler = CaptureHandler()
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, ssl_context=_server_context(certificate)
    )
    controller.start()
    try:
        mailer = Mailer(f"smtps://127.0.0.1:{port}?cafile={certificate[0]}")
        mailer.send(b"Subject: smtps\r\n\r\nhi\r\n", sender="a@b.example", recipients=["c@d.ex"])
        mailer.close()
        untrusting = Mailer(f"smtps://127.0.0.1:{port}")
        with pytest.raises(Exception, match="relay unavailable"):
            untrusting.send(b"Subject: x\r\n\r\nx\r\n", sender="a@b.example", recipients=["c@d.ex"])
    finally:
        controller.stop()
    assert [m.subject for m in handler.snapshot()] == ["smtps"]
