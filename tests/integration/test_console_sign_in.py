"""Signing in to the console: password, links by email, rate limits, CSRF, sessions, sign-out."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from email import message_from_string
from email.policy import default

import pytest
from itsdangerous import TimestampSigner

from deploy.local.mail_capture import CaptureServer
from services.survey.console import SIGNED_IN_AT
from services.survey.console.signing_in import _serializer, sign_in_link
from shared.settings import SettingsError
from shared.store import users as user_store
from tests.conftest import isolated_settings
from tests.integration.test_admin_support import admin_app
from tests.support.console import PASSWORD, link_token, make_user, post_form, sign_in
from tests.support.notify_fixtures import make_notifier


@pytest.fixture
def settings():
    return isolated_settings(sign_in_attempts_per_account=3, sign_in_attempts_per_address=5)


@pytest.fixture
def app(db, settings):
    return admin_app(db, settings=settings)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(db):
    return make_user(db, email="ada@acme.example", role="admin")


def _signed_in(client) -> bool:
    return client.get("/app/programs").status_code == 200


def test_a_person_signs_in_with_email_and_password_and_lands_on_the_programs(client, admin):
    assert client.get("/").headers["Location"] == "/app/sign-in"
    response = sign_in(client, "ADA@acme.example ", PASSWORD)  # as typed: case and spaces
    assert response.status_code == 302 and response.headers["Location"] == "/app/programs"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    page = client.get("/app/programs")
    assert page.status_code == 200 and "ada@acme.example" in page.get_data(as_text=True)
    assert client.get("/").headers["Location"] == "/app/programs"


def test_a_wrong_password_or_an_unknown_email_signs_nobody_in(client, admin):
    for email, password in (("ada@acme.example", "not the password"), ("eve@x.example", PASSWORD)):
        response = sign_in(client, email, password)
        assert response.status_code == 400
        assert "The email or the password is not right." in response.get_data(as_text=True)
        assert not _signed_in(client)


def test_the_session_cookie_is_secure_when_rapport_is_served_over_https(db):
    app = admin_app(db, settings=isolated_settings(public_url="https://rapport.example"))
    make_user(db, email="ada@acme.example", role="admin")
    response = sign_in(app.test_client(), "ada@acme.example")
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_sign_in_link_signs_in_once(client, admin, settings):
    link = sign_in_link(settings=settings, person=admin.person)
    assert link.startswith(f"{settings.public_url}/app/sign-in/link/")
    response = client.get(link_token(link))
    assert response.status_code == 302 and response.headers["Location"] == "/app/programs"
    assert _signed_in(client)
    other = client.application.test_client()
    again = other.get(link_token(link))
    assert again.status_code == 404 and "Link not valid" in again.get_data(as_text=True)
    assert not _signed_in(other)


def test_a_tampered_or_expired_link_is_not_valid(client, admin, settings):
    link = link_token(sign_in_link(settings=settings, person=admin.person))
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")

    class SixteenMinutesAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 16 * 60

    old = _serializer(settings)
    old.signer = SixteenMinutesAgo
    expired = "app/sign-in/link/" + old.dumps({"u": admin.person.id, "l": "x" * 32})
    foreign = _serializer(isolated_settings(secret_keys=("another key " * 4,)))
    other_key = "app/sign-in/link/" + foreign.dumps({"u": admin.person.id, "l": "y" * 32})
    for path in (tampered, expired, other_key, "app/sign-in/link/nonsense"):
        response = client.get("/" + path)
        assert response.status_code == 404, path
        assert "Link not valid" in response.get_data(as_text=True)
        assert not _signed_in(client)


def test_a_link_asked_for_by_email_is_queued_for_notify_and_signs_in(client, admin, db):
    response = post_form(
        client, "/app/sign-in/link", {"email": "Ada@acme.example"}, form_page="/app/sign-in"
    )
    assert response.status_code == 200 and "is on its way" in response.get_data(as_text=True)
    (email,) = list(db.emails.find({"kind": "sign_in_link"}))
    assert email["to"] == "ada@acme.example" and email["status"] == "pending"
    assert email["expires_at"] > email["next_attempt_at"]  # notify cancels it once expired
    text = message_from_string(email["mime"], policy=default).get_content()
    link = re.search(r"http://\S+/app/sign-in/link/\S+", text).group(0)
    assert client.get(link_token(link)).status_code == 302 and _signed_in(client)
    # the same answer for an email nobody has, and nothing queued
    stranger = client.application.test_client()
    response = post_form(
        stranger, "/app/sign-in/link", {"email": "eve@x.example"}, form_page="/app/sign-in"
    )
    assert "is on its way" in response.get_data(as_text=True)
    assert db.emails.count_documents({}) == 1


def test_failed_sign_ins_are_limited_per_account_across_workers(app, db, settings, admin):
    # two apps on one database stand for two gunicorn workers: the counts are in MongoDB
    workers = [app.test_client(), admin_app(db, settings=settings).test_client()]
    for n in range(settings.sign_in_attempts_per_account):
        assert sign_in(workers[n % 2], admin.email, "wrong password").status_code == 400
    refused = sign_in(workers[1], admin.email, PASSWORD)  # even the right password, for now
    assert refused.status_code == 429
    assert re.search(r"Too many attempts: try again in \d+ minutes", refused.get_data(as_text=True))
    assert not _signed_in(workers[1])
    # another account from the same address is not locked by this one
    make_user(db, email="bob@acme.example", role="manager")
    assert sign_in(workers[0], "bob@acme.example").status_code == 302


def test_failed_sign_ins_are_limited_per_address(client, settings, admin):
    for n in range(settings.sign_in_attempts_per_address):
        assert sign_in(client, f"guess{n}@acme.example", "wrong").status_code == 400
    refused = sign_in(client, admin.email, PASSWORD)
    assert refused.status_code == 429 and "Too many attempts" in refused.get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_refused(client, admin, db):
    response = client.post("/app/sign-in", data={"email": admin.email, "password": PASSWORD})
    assert response.status_code == 400 and not _signed_in(client)
    sign_in(client, admin.email)
    before = db.organisations.find_one({"name": "acme"})
    refused = client.post("/app/organisation", data={"display_name": "Forged"})
    assert refused.status_code == 400 and "This form has expired" in refused.get_data(as_text=True)
    assert db.organisations.find_one({"name": "acme"}) == before


def test_a_session_ends_after_its_lifetime(client, admin, settings):
    sign_in(client, admin.email)
    assert _signed_in(client)
    with client.session_transaction() as session:
        session[SIGNED_IN_AT] -= settings.session_hours * 3600 + 1
    response = client.get("/app/programs")
    assert response.status_code == 302 and response.headers["Location"].startswith("/app/sign-in")


def test_an_htmx_request_without_a_session_is_sent_to_the_sign_in_page_whole(client):
    response = client.get("/app/programs?page=2", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/app/sign-in?next=/app/programs?page%3D2"
    plain = client.get("/app/programs")
    assert (
        plain.status_code == 302 and plain.headers["Location"] == "/app/sign-in?next=/app/programs"
    )


def test_signing_out_ends_the_session_even_for_a_copied_cookie(app, admin):
    client = app.test_client()
    sign_in(client, admin.email)
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert _signed_in(copy)
    response = post_form(client, "/app/sign-out", {}, form_page="/app/programs")
    assert response.status_code == 302 and response.headers["Location"] == "/app/sign-in"
    assert not _signed_in(client) and not _signed_in(copy)
    assert sign_in(client, admin.email).status_code == 302 and _signed_in(client)


def test_the_bootstrap_admin_of_the_default_organisation_exists_at_start(db):
    settings = isolated_settings(bootstrap_admin="boss@example.com:a long password")
    client = admin_app(db, settings=settings).test_client()
    assert sign_in(client, "boss@example.com", "a long password").status_code == 302
    user = db.users.find_one({"email": "boss@example.com"})
    org = db.organisations.find_one({"name": "default"})
    assert user["role"] == "admin" and user["org_id"] == str(org["_id"])
    assert user["password_hash"].startswith("$argon2id$")  # never the password itself
    # a restart with the same setting changes nothing; a bad one stops the start
    admin_app(db, settings=settings).test_client().get("/app/sign-in")
    assert db.users.count_documents({}) == 1
    # an email of another organisation's user is not taken over, and the service still answers
    make_user(db, org="acme", email="ada@acme.example", role="viewer")
    taken = isolated_settings(bootstrap_admin="ada@acme.example:a long password")
    assert admin_app(db, settings=taken).test_client().get("/app/sign-in").status_code == 200
    assert db.users.find_one({"email": "ada@acme.example"})["role"] == "viewer"
    for bad in ("boss@example.com", "boss@example.com:short", "nobody:a long password"):
        with pytest.raises(SettingsError, match="RAPPORT_BOOTSTRAP_ADMIN"):
            admin_app(db, settings=isolated_settings(bootstrap_admin=bad))


def test_counters_and_used_links_past_their_window_are_forgotten(client, admin, db):
    past = datetime.now(UTC) - timedelta(minutes=1)
    user_store.count_failure(db=db, key="address:10.0.0.9:1", expires_at=past)
    user_store.use_link(db=db, link_id="old", user_id=admin.person.id, now=past, expires_at=past)
    sign_in(client, admin.email, "wrong password")  # a counter of the current window
    assert sign_in(client, admin.email).status_code == 302
    assert db.sign_in_links.count_documents({}) == 0
    assert {row["_id"].split(":")[0] for row in db.sign_in_attempts.find()} == {
        "address",
        "account",
    }
    assert db.sign_in_attempts.count_documents({"expires_at": {"$lt": datetime.now(UTC)}}) == 0


def test_notify_sends_the_queued_sign_in_email_over_smtp_and_its_link_signs_in(client, admin, db):
    server = CaptureServer().start()
    try:
        post_form(client, "/app/sign-in/link", {"email": admin.email}, form_page="/app/sign-in")
        notifier = make_notifier(db, server.url)
        try:
            assert notifier.delivery.send_due() == {"sent": 1}
        finally:
            notifier.close()
        (mail,) = server.handler.snapshot()
    finally:
        server.stop()
    assert mail.rcpt_tos == [admin.email] and mail.subject == "Your Rapport sign-in link"
    link = re.search(r"http://\S+/app/sign-in/link/\S+", mail.part("plain")).group(0)
    assert client.get(link_token(link)).status_code == 302 and _signed_in(client)
    assert db.emails.find_one({"kind": "sign_in_link"})["status"] == "sent"
