"""Property-based fuzzing of the admin API from its own OpenAPI document: never a 500.

Schemathesis generates valid and invalid requests for every admin operation and sends them
in-process to the Flask app (WSGI) over a real database. Half of the requests use the ids of
a real program and wave, so the bodies reach the service functions, not only the 404s.
"""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from services.survey.openapi import ErrorDetailSchema
from shared.store import ensure_indexes
from tests.integration.test_admin_support import SAMPLE_ROWS, make_admin, roster_csv

ERROR_FIELDS = set(ErrorDetailSchema().fields)
EXAMPLES = 40  # per operation and mode: about 600 requests in well under a minute

ADMIN_OPERATIONS = (
    ("GET", "/api/v1/programs"),
    ("POST", "/api/v1/programs"),
    ("GET", "/api/v1/programs/{program_id}"),
    ("GET", "/api/v1/programs/{program_id}/accounts"),
    ("POST", "/api/v1/programs/{program_id}/roster"),
    ("POST", "/api/v1/programs/{program_id}/waves"),
    ("GET", "/api/v1/waves/{wave_id}"),
    ("POST", "/api/v1/waves/{wave_id}/launch"),
    ("GET", "/api/v1/waves/{wave_id}/links"),
    ("POST", "/api/v1/waves/{wave_id}/close"),
)


@pytest.fixture(scope="module")
def world(mongo_client):
    """One app and database for the module: a program with a roster and two draft waves."""
    db = mongo_client[f"rapport_fuzz_{uuid.uuid4().hex[:10]}"]
    ensure_indexes(db)
    admin = make_admin(db)
    program = admin.program()
    assert admin.import_csv(program["id"], roster_csv(SAMPLE_ROWS)).status_code == 200
    wave = admin.wave(program["id"])
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", admin.app)
    yield admin, schema, {"program_id": program["id"], "wave_id": wave["id"]}
    mongo_client.drop_database(db.name)


def test_the_document_covers_every_admin_operation(world):
    _, schema, _ = world
    for method, path in ADMIN_OPERATIONS:
        assert schema[path][method] is not None


WITH_BODY = {
    "/api/v1/programs",
    "/api/v1/programs/{program_id}/roster",
    "/api/v1/programs/{program_id}/waves",
    "/api/v1/waves/{wave_id}/launch",
}
# Valid input for every operation, and invalid input where there is a body to spoil (a path
# parameter is any string, so it has no invalid form).
CASES = [(method, path, GenerationMode.POSITIVE) for method, path in ADMIN_OPERATIONS] + [
    (method, path, GenerationMode.NEGATIVE)
    for method, path in ADMIN_OPERATIONS
    if method == "POST" and path in WITH_BODY
]


@pytest.mark.parametrize(
    "method, path, mode", CASES, ids=[f"{m} {p} {mode.value}" for m, p, mode in CASES]
)
def test_fuzzed_requests_never_get_a_server_error(world, method, path, mode):
    admin, schema, real_ids = world
    operation = schema[path][method]
    strategy = operation.as_strategy(generation_mode=mode, headers=dict(admin.headers))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, use_real_ids=st.booleans())
    def check(case, use_real_ids):
        if use_real_ids and case.path_parameters:
            case.path_parameters = {
                name: real_ids.get(name, value) for name, value in case.path_parameters.items()
            }
        case.headers = {**(case.headers or {}), **admin.headers}
        response = case.call()
        assert response.status_code < 500, (
            case.method,
            case.formatted_path,
            case.body,
            response.text,
        )
        if response.status_code >= 400:
            error = response.json()["error"]
            # API.md's three fields, and only the optional ones the OpenAPI error schema names.
            assert {"code", "message", "details"} <= set(error), response.text
            assert set(error) <= ERROR_FIELDS, response.text
            assert error["code"] and error["message"]

    check()
