"""Console-test support: people made through the product's own functions, signing in with a
Flask test client the way a browser does (the CSRF token read from the form first)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask.testing import FlaskClient
from pymongo.database import Database

from services.survey.console.people import Person, create_user
from services.survey.organisations import ensure_organisation

PASSWORD = "correct horse battery"

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class User:
    person: Person
    password: str | None

    @property
    def email(self) -> str:
        return self.person.email


def make_user(
    db: Database, *, org: str = "acme", email: str, role: str, password: str | None = PASSWORD
) -> User:
    """A user of organisation `org` (created when missing) with this role and password."""
    org_id = ensure_organisation(db=db, name=org)
    person = create_user(db=db, org_id=org_id, email=email, role=role, password=password)
    return User(person, password)


def csrf_token(client: FlaskClient, path: str = "/app/sign-in") -> str:
    """The CSRF token of the form on a page, as a browser would send it back."""
    page = client.get(path)
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def post_form(client: FlaskClient, path: str, data: dict, *, form_page: str | None = None, **kw):
    """Post a console form with the CSRF token of `form_page` (default: the same path)."""
    token = csrf_token(client, form_page or path)
    return client.post(path, data={**data, "csrf_token": token}, **kw)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, **kw):
    """Sign in with email and password through the sign-in form."""
    return post_form(client, "/app/sign-in", {"email": email, "password": password}, **kw)


def link_token(link: str) -> str:
    """The path of a sign-in link, for the test client."""
    return link.split("://", 1)[1].split("/", 1)[1]
