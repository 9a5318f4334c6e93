"""MongoDB stopped under a running survey app: every surface answers 503 and asks to retry.

A real local MongoDB-compatible server is started for the module, filled, then stopped; the
app keeps its pymongo client, as a worker does when the database goes away.
"""

from __future__ import annotations

import pymongo
import pytest

from deploy.local.mongo_server import LocalMongo
from services.survey.errors import RETRY_AFTER_S
from services.survey.organisations import create_api_key, ensure_organisation
from tests.conftest import isolated_settings
from tests.support.survey_fixtures import make_wave, survey_app


@pytest.fixture(scope="module")
def stopped():
    """An app whose database answered while the world was written, and is now stopped."""
    server = LocalMongo(engine="memory").start()
    client = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=300, tz_aware=True)
    try:
        db = client["rapport_down"]
        settings = isolated_settings()
        world = make_wave(db, settings, buyers=1, sellers=1)
        app = survey_app(db, settings)
        org_id = ensure_organisation(db=db, name="acme")
        key = create_api_key(db=db, org_id=org_id)
        assert app.test_client().get("/readyz").get_json()["checks"]["mongodb"] is True
        server.stop()
        yield app.test_client(), world, {"Authorization": f"Bearer {key}"}
    finally:
        client.close()
        server.stop()


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/api/v1/programs", None),
        ("POST", "/api/v1/programs", {"name": "P"}),
        ("GET", "/api/v1/waves/{wave}", None),
        ("GET", "/api/v1/respond/{token}", None),
        ("PUT", "/api/v1/respond/{token}/subjects/{subject}", {"answers": {"recommend": 9}}),
    ],
)
def test_the_api_answers_503_unavailable_with_retry_after_when_mongodb_is_down(
    stopped, method, path, body
):
    client, world, headers = stopped
    buyer = world.buyers[0]
    url = path.format(wave=world.wave_id, token=buyer.token, subject=buyer.subject_ids[0])
    response = client.open(url, method=method, json=body, headers=headers)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert response.get_json() == {
        "error": {
            "code": "unavailable",
            "message": "the database is unreachable: try again in a moment",
            "details": {},
        }
    }


def test_a_survey_page_is_a_plain_503_page_when_mongodb_is_down(stopped):
    client, world, _ = stopped
    response = client.get(f"/s/{world.buyers[0].token}")
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
    page = response.get_data(as_text=True)
    assert "Service unavailable" in page and "try again in a moment" in page
    assert "Traceback" not in page


def test_readiness_still_reports_mongodb_unreachable(stopped):
    client, _, _ = stopped
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["mongodb"] is False
