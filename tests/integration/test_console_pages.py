"""The console's pages by role: programs, a program, the organisation's settings; the CLI."""

from __future__ import annotations

import io
import struct
import zlib

import pytest

from services.bootstrap import build
from services.survey.admin.programs import create_program
from services.survey.admin.roster import import_roster_rows
from services.survey.cli import main
from services.survey.organisations import ensure_organisation, get_organisation
from shared.bus import InProcessBus
from shared.organisation import load_branding
from tests.conftest import isolated_settings
from tests.integration.test_admin_organisation import BRANDING
from tests.integration.test_admin_support import SAMPLE_ROWS, admin_app
from tests.support.console import link_token, make_user, post_form, sign_in


@pytest.fixture
def settings():
    return isolated_settings()


@pytest.fixture
def app(db, settings):
    return admin_app(db, settings=settings)


@pytest.fixture
def acme(db):
    """Organisation acme with two programs; Sue sells in the first only."""
    org_id = ensure_organisation(db=db, name="acme")
    first = create_program(db=db, org_id=org_id, name="Key accounts 2026")
    second = create_program(db=db, org_id=org_id, name="Distributors")
    import_roster_rows(db=db, org_id=org_id, program_id=first["_id"], rows=list(SAMPLE_ROWS))
    return {"org_id": org_id, "first": first, "second": second}


def _client_of(app, db, *, email: str, role: str, org: str = "acme"):
    make_user(db, org=org, email=email, role=role)
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def test_the_programs_page_lists_the_organisations_programs_each_linking_to_its_page(app, db, acme):
    client = _client_of(app, db, email="ada@acme.example", role="admin")
    page = client.get("/app/programs").get_data(as_text=True)
    for program in (acme["first"], acme["second"]):
        assert f'href="/app/programs/{program["_id"]}"' in page and program["name"] in page
    program = client.get(f"/app/programs/{acme['first']['_id']}")
    text = program.get_data(as_text=True)
    assert program.status_code == 200 and "Key accounts 2026" in text
    assert "gap_threshold" in text and "Gap class threshold t: a seller" in text


def test_another_organisations_program_is_not_found(app, db, acme):
    client = _client_of(app, db, email="max@globex.example", role="admin", org="globex")
    assert "Key accounts 2026" not in client.get("/app/programs").get_data(as_text=True)
    response = client.get(f"/app/programs/{acme['first']['_id']}")
    assert response.status_code == 404 and "Not found" in response.get_data(as_text=True)


def test_a_seller_sees_only_the_programs_they_sell_in(app, db, acme):
    client = _client_of(app, db, email="sue@vendor.example", role="seller")
    page = client.get("/app/programs").get_data(as_text=True)
    assert "Key accounts 2026" in page and "Distributors" not in page
    assert client.get(f"/app/programs/{acme['first']['_id']}").status_code == 200
    assert client.get(f"/app/programs/{acme['second']['_id']}").status_code == 404
    assert client.get("/app/organisation").status_code == 403


def test_an_admin_changes_the_branding_that_survey_pages_and_emails_read(app, db, acme):
    client = _client_of(app, db, email="ada@acme.example", role="admin")
    response = post_form(client, "/app/organisation", BRANDING)
    assert response.status_code == 302 and response.headers["Location"].endswith("saved=1")
    stored = db.organisations.find_one({"name": "acme"})
    assert {k: stored.get(k) for k in BRANDING} == BRANDING
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved." in page and 'value="Northwind Supplies"' in page
    # survey pages and emails read what the console wrote
    branding = load_branding(db, acme["org_id"])
    assert branding.display_name == "Northwind Supplies" and branding.accent_color == "#1d4ed8"
    # an emptied field clears it
    post_form(client, "/app/organisation", {**BRANDING, "sender_name": ""})
    assert "sender_name" not in db.organisations.find_one({"name": "acme"})


def test_bad_branding_is_shown_next_to_each_field_and_nothing_is_saved(app, db, acme):
    client = _client_of(app, db, email="ada@acme.example", role="admin")
    post_form(client, "/app/organisation", BRANDING)
    before = db.organisations.find_one({"name": "acme"})
    bad = {
        **BRANDING,
        "display_name": "A new name",
        "accent_color": "blue",
        "reply_to": "not an address",
        "privacy_url": "javascript:alert(1)",
    }
    response = post_form(client, "/app/organisation", bad)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page
    for field in ("accent_color", "reply_to", "privacy_url"):
        assert f'id="{field}-error"' in page, field
        assert f'aria-describedby="{field}-help {field}-error"' in page
    assert 'id="display_name-error"' not in page
    assert 'value="blue"' in page  # what was typed stays in the form
    assert db.organisations.find_one({"name": "acme"}) == before


def test_a_viewer_reads_but_any_post_is_forbidden(app, db, acme):
    client = _client_of(app, db, email="vic@acme.example", role="viewer")
    assert client.get("/app/organisation").status_code == 200
    before = db.organisations.find_one({"name": "acme"})
    response = post_form(client, "/app/organisation", BRANDING)
    assert response.status_code == 403 and "Not allowed" in response.get_data(as_text=True)
    assert db.organisations.find_one({"name": "acme"}) == before
    # signing out stays open to a viewer
    assert post_form(client, "/app/sign-out", {}, form_page="/app/programs").status_code == 302


def test_only_an_admin_changes_the_organisation(app, db, acme):
    client = _client_of(app, db, email="meg@acme.example", role="manager")
    page = client.get("/app/organisation").get_data(as_text=True)
    assert "Only an admin can change these." in page
    assert post_form(client, "/app/organisation", BRANDING).status_code == 403


def test_rapport_users_create_prints_a_link_that_signs_the_user_in(app, db, settings, capsys):
    container = build(settings, db=db, bus=InProcessBus(settings))
    argv = ["users", "create", "--org", "acme", "--email", "Nia@Acme.example", "--role", "manager"]
    assert main(argv, container=container) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith(f"{settings.public_url}/app/sign-in/link/")
    client = app.test_client()
    assert client.get(link_token(link)).headers["Location"] == "/app/programs"
    assert "nia@acme.example" in client.get("/app/programs").get_data(as_text=True)
    assert db.users.find_one({"email": "nia@acme.example"})["role"] == "manager"
    # the same email again, or a bad one: a message naming the field, nothing written
    assert main(argv, container=container) == 1
    assert "email: a user with this email exists already" in capsys.readouterr().err
    bad = ["users", "create", "--org", "acme", "--email", "nia@", "--role", "viewer"]
    assert main(bad, container=container) == 1
    assert "email" in capsys.readouterr().err and db.users.count_documents({}) == 1
    # a new link for an existing user
    assert main(["users", "link", "--email", "nia@acme.example"], container=container) == 0
    assert "/app/sign-in/link/" in capsys.readouterr().out


def png(width: int = 2, height: int = 1, padding: int = 0) -> bytes:
    """A real PNG image (RGB, one colour), with `padding` bytes of a text chunk to grow it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x1d\x4e\xd8" * width for _ in range(height))
    text = chunk(b"tEXt", b"Comment\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + text
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _upload(client, fields: dict, logo: bytes, filename: str = "logo.png"):
    return post_form(
        client,
        "/app/organisation",
        {**fields, "logo": (io.BytesIO(logo), filename)},
        content_type="multipart/form-data",
    )


def test_an_admin_uploads_a_png_or_svg_logo_with_the_branding(app, db, acme):
    client = _client_of(app, db, email="ada@acme.example", role="admin")
    image = png()
    response = _upload(client, BRANDING, image)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    url = get_organisation(db=db, org_id=acme["org_id"])["logo_url"]
    assert f'src="{url}"' in page and 'alt="The current logo of Northwind' in page
    served = client.get(url)
    assert served.status_code == 200 and served.mimetype == "image/png" and served.data == image
    # an SVG is judged by its content and kept as its drawing only (the API's store_logo)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="4"/></svg>'
    assert _upload(client, BRANDING, svg, "logo.svg").status_code == 302
    served = client.get(get_organisation(db=db, org_id=acme["org_id"])["logo_url"])
    assert served.mimetype == "image/svg+xml" and b"<rect" in served.data
    assert b"onload" not in served.data


@pytest.mark.parametrize(
    "logo, filename, message",
    [
        (b"GIF89a\x01\x00\x01\x00", "logo.png", "the file is not a usable SVG"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><rect>", "broken.svg", "not a usable SVG"),
        (b"<svg><rect/></svg>", "no-namespace.svg", "the root element is &lt;svg&gt;, not"),
        (b"\x89PNG\r\n\x1a\n" + b"x" * (210 * 1024), "big.png", "at most 200 KB"),
    ],
)
def test_a_logo_that_is_not_a_small_png_or_an_svg_is_refused_with_the_rest_of_the_form(
    app, db, acme, logo, filename, message
):
    client = _client_of(app, db, email="ada@acme.example", role="admin")
    before = db.organisations.find_one({"name": "acme"})
    response = _upload(client, BRANDING, logo, filename)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="logo-error"' in page and message in page
    assert db.organisations.find_one({"name": "acme"}) == before  # nothing half-saved
    assert db.logos.count_documents({}) == 0
