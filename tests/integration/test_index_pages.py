"""`/` and `/api/v1/`, the two URLs `make dev` prints: each says where the documents are."""

from __future__ import annotations

import re

from deploy.local.devmail import register_mailbox
from deploy.local.mail_capture import CaptureHandler
from tests.integration.test_admin_support import admin_app


def _links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_a_person_at_the_root_goes_to_the_console_and_an_api_client_gets_the_api_index(db):
    client = admin_app(db).test_client()
    response = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 302 and response.headers["Location"] == "/app/sign-in"
    answer = client.get("/", headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.get_json() == client.get("/api/v1/").get_json()


def test_the_sign_in_page_links_to_the_api_index_and_the_openapi_document(db):
    client = admin_app(db).test_client()
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "Content-Security-Policy" in page.headers
    links = _links(page.get_data(as_text=True))
    assert "/api/v1/" in links and "/api/v1/openapi.json" in links
    assert "/dev/mail" not in links  # only `make dev` captures mail
    for link in links:
        if link.startswith("/"):  # not the empty icon, not the skip link
            assert client.get(link).status_code == 200, link


def test_in_make_dev_the_home_page_and_the_api_index_name_the_captured_mail(db):
    app = admin_app(db)
    register_mailbox(app, CaptureHandler())
    client = app.test_client()
    assert "/dev/mail" in _links(client.get("/", follow_redirects=True).get_data(as_text=True))
    assert client.get("/api/v1/").get_json()["dev_mail"] == "/dev/mail"


def test_the_api_index_names_the_openapi_document_and_the_contracts_sections(db):
    client = admin_app(db).test_client()
    response = client.get("/api/v1/")
    assert response.status_code == 200 and response.mimetype == "application/json"
    index = response.get_json()
    assert index["version"] == "1.1" and "dev_mail" not in index
    openapi = client.get(index["openapi"])
    assert openapi.status_code == 200 and openapi.get_json()["info"]["title"] == "Rapport"
    assert [s["title"] for s in index["sections"]] == [
        "Admin API",
        "Results",
        "Respondent JSON API",
        "Respondent pages",
        "Operations",
    ]
    documented = openapi.get_json()["paths"]
    for section in index["sections"]:
        for path in section["paths"]:
            assert path in documented or not path.startswith("/api/"), path
    assert client.get("/api/v1").status_code == 308  # to /api/v1/
