"""Health, readiness and metrics of the survey service."""

from __future__ import annotations

import dataclasses

from services.bootstrap import build
from services.survey.app import create_app
from tests.conftest import isolated_settings


def _client(mongo_uri, amqp_url, db_name="rapport_ops"):
    settings = dataclasses.replace(
        isolated_settings(), mongo_url=mongo_uri, amqp_url=amqp_url, mongo_db=db_name
    )
    return create_app(build(settings)).test_client()


def test_healthz_answers_without_dependencies():
    settings = dataclasses.replace(
        isolated_settings(), mongo_url="mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200"
    )
    client = create_app(build(settings)).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_200_when_mongodb_and_the_broker_answer(mongo_uri, amqp_url):
    response = _client(mongo_uri, amqp_url).get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"mongodb": True, "broker": True}


def test_readyz_is_503_naming_the_unreachable_broker(mongo_uri):
    response = _client(mongo_uri, "amqp://guest:guest@127.0.0.1:1/%2F").get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["unreachable"] == ["broker"]


def test_metrics_count_requests_by_endpoint(mongo_uri, amqp_url):
    client = _client(mongo_uri, amqp_url)
    client.get("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    assert (
        'rapport_http_requests_total{endpoint="operations.healthz",method="GET",status="200"}'
        in body
    )


def test_pages_carry_security_headers(mongo_uri, amqp_url):
    response = _client(mongo_uri, amqp_url).get("/healthz")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_unknown_api_path_is_a_json_404(mongo_uri, amqp_url):
    response = _client(mongo_uri, amqp_url).get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_bootstrap_api_key_creates_the_default_organisation(mongo_uri, amqp_url, db):
    from services.survey.organisations import hash_key

    settings = dataclasses.replace(
        isolated_settings(),
        mongo_url=mongo_uri,
        amqp_url=amqp_url,
        mongo_db=db.name,
        bootstrap_api_key="rk_test_bootstrap",
    )
    create_app(build(settings)).test_client().get("/healthz")
    org = db.organisations.find_one({"name": "default"})
    key = db.api_keys.find_one({"key_hash": hash_key("rk_test_bootstrap")})
    assert org is not None and key["org_id"] == str(org["_id"])
    assert db.api_keys.find_one({"key_hash": "rk_test_bootstrap"}) is None  # never in clear


def test_every_surface_is_mounted_on_the_app():
    app = create_app(build(isolated_settings()))
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    for path in (
        "/api/v1/programs",
        "/api/v1/waves/<wave_id>/results",
        "/api/v1/respond/<token>",
        "/s/<token>",
        "/optout/<token>",
        "/api/v1/openapi.json",
    ):
        assert path in rules, path


def test_openapi_document_describes_the_api_md_error_body():
    spec = (
        create_app(build(isolated_settings())).test_client().get("/api/v1/openapi.json").get_json()
    )
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"error"}
    detail = spec["components"]["schemas"][error["properties"]["error"]["$ref"].rsplit("/", 1)[-1]]
    # API.md's three fields, and the roster's optional ones (sent only when they apply).
    assert set(detail["properties"]) == {
        "code",
        "message",
        "details",
        "errors_truncated",
        "last_row_imported",
    }


def test_warm_up_connects_creates_indexes_and_compiles_templates(mongo_uri, db):
    from services.survey.app import warm_up

    settings = dataclasses.replace(isolated_settings(), mongo_url=mongo_uri, mongo_db=db.name)
    db.client.drop_database(db.name)  # nothing there yet, as on a first start
    app = create_app(build(settings))
    warm_up(app)
    assert "natural_key_1" in db.accounts.index_information()
    compiled = {name for _loader, name in app.jinja_env.cache.keys()}
    assert {"welcome.html", "section.html", "review.html", "done.html"} <= compiled


def test_warm_up_survives_an_unreachable_database(caplog):
    from services.survey.app import warm_up

    settings = dataclasses.replace(
        isolated_settings(), mongo_url="mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200"
    )
    app = create_app(build(settings))
    warm_up(app)  # logs and returns: the worker still starts and serves
    assert "warm-up: MongoDB not reachable yet" in caplog.text
    assert app.test_client().get("/healthz").status_code == 200
