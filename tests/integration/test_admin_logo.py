"""The organisation's logo: PUT /api/v1/organisation/logo, its public address, the survey page."""

from __future__ import annotations

import struct
import zlib

import pytest

from deploy.local.mail_capture import CaptureServer
from shared.events import INVITATIONS_CREATED, Event
from tests.integration.test_admin_support import make_admin
from tests.support.notify_fixtures import make_notifier

SVG_WITH_SCRIPT = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)">'
    b"<script>alert(2)</script>"
    b'<rect width="5" height="5" fill="#0a5" style="fill:url(javascript:x)"/>'
    b'<a href="javascript:alert(3)"><circle r="2"/></a>'
    b'<image href="https://tracker.example/x.png"/>'
    b'<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject>'
    b'<path d="M0 0L10 10" fill="url(https://evil.example/#x)"/>'
    b"</svg>"
)


def tiny_png() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def admin(db):
    return make_admin(db)


def _put(admin, data: bytes, content_type: str):
    return admin.client.put(
        "/api/v1/organisation/logo", headers=admin.headers, data=data, content_type=content_type
    )


def test_a_png_logo_is_stored_and_served_at_its_public_address(admin):
    png = tiny_png()
    assert _put(admin, png, "image/png").status_code == 204
    url = admin.get("/api/v1/organisation").get_json()["logo_url"]
    served = admin.client.get(url)  # no key: a public address
    assert served.status_code == 200
    assert served.mimetype == "image/png" and served.data == png
    assert "immutable" in served.headers["Cache-Control"]
    assert admin.client.get(url[:-1] + "0").status_code == 404


def test_an_svg_logo_keeps_its_drawing_and_loses_everything_that_could_run(admin):
    assert _put(admin, SVG_WITH_SCRIPT, "image/svg+xml").status_code == 204
    url = admin.get("/api/v1/organisation").get_json()["logo_url"]
    served = admin.client.get(url)
    text = served.get_data(as_text=True)
    assert served.mimetype == "image/svg+xml"
    assert "<rect" in text and 'fill="#0a5"' in text and "<path" in text
    for bad in ("script", "onload", "javascript", "style", "image", "foreignObject", "evil"):
        assert bad not in text, bad
    assert "default-src 'none'" in served.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "data, content_type, status, words",
    [
        (b"GIF89a....", "image/gif", 415, "image/png or image/svg+xml"),
        (b"not a png at all", "image/png", 400, "not a PNG"),
        (b"<svg><unclosed>", "image/svg+xml", 400, "not a usable SVG"),
        (b"<html xmlns='http://www.w3.org/1999/xhtml'/>", "image/svg+xml", 400, "root element"),
        (
            b'<!DOCTYPE s [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
            "image/svg+xml",
            400,
            "not a usable SVG",
        ),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 205_000, "image/png", 413, "at most 200 KB"),
        (b"", "image/png", 400, "empty"),
    ],
)
def test_a_bad_logo_is_refused_with_a_clear_message_and_nothing_stored(
    admin, data, content_type, status, words
):
    answer = _put(admin, data, content_type)
    assert answer.status_code == status, answer.get_json()
    assert words in answer.get_json()["error"]["message"]
    assert admin.get("/api/v1/organisation").get_json()["logo_url"] is None
    assert admin.db.logos.count_documents({}) == 0


def test_the_survey_page_shows_the_logo(admin):
    assert _put(admin, tiny_png(), "image/png").status_code == 204
    url = admin.get("/api/v1/organisation").get_json()["logo_url"]
    _, wave, _ = admin.launched_wave()
    link = admin.get(f"/api/v1/waves/{wave['id']}/links").get_json()["items"][0]
    page = admin.client.get(f"/s/{link['token']}")
    assert page.status_code == 200
    assert f'src="{url}"' in page.get_data(as_text=True)


def test_the_invitation_email_shows_the_logo_at_its_public_address(admin):
    assert _put(admin, tiny_png(), "image/png").status_code == 204
    path = admin.get("/api/v1/organisation").get_json()["logo_url"]
    _, wave, _ = admin.launched_wave(delivery="email")
    entry = admin.db.outbox.find_one({"type": INVITATIONS_CREATED})
    smtp = CaptureServer().start()
    try:
        notifier = make_notifier(admin.db, smtp.url)
        notifier.handle(Event(entry["type"], entry["payload"], event_id=entry["event_id"]))
        notifier.close()
        mail = smtp.handler.snapshot()[0]
    finally:
        smtp.stop()
    assert f'src="http://survey.test{path}"' in mail.part("html")
