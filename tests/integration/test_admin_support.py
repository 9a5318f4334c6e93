"""What the admin API tests share: an app on the test database, API keys, roster builders.

No tests here: the test_admin_* and test_roster_* modules build their fixtures from these.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from pymongo.database import Database

from services.bootstrap import build
from services.survey.app import create_app
from services.survey.organisations import create_api_key, ensure_organisation
from shared.bus import Bus, InProcessBus
from shared.settings import Settings
from tests.conftest import isolated_settings

HEADER = (
    "account_id",
    "account_name",
    "annual_revenue",
    "contact_email",
    "contact_name",
    "contact_role",
    "seller_email",
    "seller_name",
)
SAMPLE_ROWS: tuple[dict[str, Any], ...] = (
    {
        "account_id": "A-1",
        "account_name": "Acme",
        "annual_revenue": 1_000_000,
        "contact_email": "joe@acme.example",
        "contact_name": "Joe Buyer",
        "contact_role": "decision_maker",
        "seller_email": "sue@vendor.example",
        "seller_name": "Sue Seller",
    },
    {
        "account_id": "A-1",
        "account_name": "Acme",
        "annual_revenue": 1_000_000,
        "contact_email": "joe@acme.example",
        "contact_name": "Joe Buyer",
        "contact_role": "decision_maker",
        "seller_email": "tom@vendor.example",
        "seller_name": "Tom Seller",
    },
    {
        "account_id": "A-1",
        "account_name": "Acme",
        "annual_revenue": 1_000_000,
        "contact_email": "amy@acme.example",
        "contact_name": "Amy Buyer",
        "contact_role": "user",
        "seller_email": "sue@vendor.example",
        "seller_name": "Sue Seller",
    },
    {
        "account_id": "B-2",
        "account_name": "Beta GmbH",
        "annual_revenue": 250_000.5,
        "contact_email": "bea@beta.example",
        "contact_name": "Bea Buyer",
        "contact_role": "influencer",
        "seller_email": "tom@vendor.example",
        "seller_name": "Tom Seller",
    },
)


def roster_csv(
    rows: Iterable[Mapping[str, Any]],
    *,
    header: Sequence[str] = HEADER,
    delimiter: str = ",",
) -> str:
    """A roster file as a spreadsheet would export it (quoting where needed)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return out.getvalue()


def in_a_month() -> str:
    return (datetime.now(UTC) + timedelta(days=30)).isoformat()


def snapshot(db: Database) -> dict[str, list[dict]]:
    """Every roster and wave document, to prove a refused request changed nothing."""
    return {
        name: sorted(db[name].find({}, {"created_at": 0}), key=lambda d: str(d["_id"]))
        for name in (
            "programs",
            "accounts",
            "contacts",
            "sellers",
            "assignments",
            "waves",
            "invitations",
            "outbox",
        )
    }


@dataclass
class Admin:
    """One organisation's view of the admin API on a shared app."""

    app: Flask
    client: FlaskClient
    db: Database
    org_id: str
    key: str
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", **self.extra_headers}

    def get(self, path: str, **kwargs: Any):
        return self.client.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, **kwargs: Any):
        return self.client.post(path, headers=self.headers, **kwargs)

    def program(self, name: str = "Key accounts 2026", settings: dict | None = None) -> dict:
        body: dict[str, Any] = {"name": name}
        if settings is not None:
            body["settings"] = settings
        response = self.post("/api/v1/programs", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def import_csv(self, program_id: str, text: str | bytes, content_type: str = "text/csv"):
        return self.post(
            f"/api/v1/programs/{program_id}/roster", data=text, content_type=content_type
        )

    def wave(self, program_id: str, **body: Any) -> dict:
        body = {"name": "Spring 2026", "closes_at": in_a_month(), **body}
        response = self.post(f"/api/v1/programs/{program_id}/waves", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def launched_wave(self, rows: Iterable[Mapping[str, Any]] = SAMPLE_ROWS, delivery="none"):
        program = self.program()
        imported = self.import_csv(program["id"], roster_csv(rows))
        assert imported.status_code == 200, imported.get_json()
        wave = self.wave(program["id"])
        launched = self.post(f"/api/v1/waves/{wave['id']}/launch", json={"delivery": delivery})
        assert launched.status_code == 200, launched.get_json()
        return program, wave, launched.get_json()

    def as_organisation(self, name: str) -> Admin:
        """Another organisation on the same app and database."""
        org_id = ensure_organisation(db=self.db, name=name)
        return Admin(
            self.app, self.client, self.db, org_id, create_api_key(db=self.db, org_id=org_id)
        )


def admin_app(db: Database, *, bus: Bus | None = None, settings: Settings | None = None) -> Flask:
    """The survey app on the test database; the in-process bus unless one is given."""
    settings = settings or isolated_settings()
    container = build(settings, db=db, bus=bus or InProcessBus(settings))
    return create_app(container, test_config={"TESTING": True})


def admin_for(app: Flask, db: Database, org: str = "acme") -> Admin:
    org_id = ensure_organisation(db=db, name=org)
    return Admin(app, app.test_client(), db, org_id, create_api_key(db=db, org_id=org_id))


def make_admin(db: Database, **app_options: Any) -> Admin:
    """Organisation `acme` with an API key, on an app over the test database."""
    return admin_for(admin_app(db, **app_options), db)
