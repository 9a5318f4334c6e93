"""The OpenAPI document against the service it describes, checked by schemathesis and by its links.

Schemathesis runs live with every check (`--checks all`: examples, coverage, fuzzing and
stateful phases) against the survey app served on a loopback port over a real database, as
`schemathesis run` would against `make dev`, bounded by a fixed number of examples. Its hooks
(tests/support/openapi_rules.py) accept only refusals for the rules the document states in
words. A client that knows nothing but the document then follows its links from a new program
to a submitted answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from shared.questionnaire import validate_answers
from shared.store import ensure_indexes
from tests.integration.test_admin_support import in_a_month, make_admin
from tests.support.browser import live_server
from tests.support.openapi_rules import SAID_IN_WORDS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 10  # per operation and phase: the whole run takes about 30 s
SEED = 20261129  # the same cases every run; change it to explore others
RUN_TIMEOUT_S = 150  # the hard bound: a run that takes longer fails

ADMIN_OPERATIONS = (
    ("GET", "/api/v1/programs"),
    ("POST", "/api/v1/programs"),
    ("GET", "/api/v1/programs/{program_id}"),
    ("PATCH", "/api/v1/programs/{program_id}"),
    ("GET", "/api/v1/organisation"),
    ("PATCH", "/api/v1/organisation"),
    ("PUT", "/api/v1/organisation/logo"),
    ("GET", "/api/v1/programs/{program_id}/accounts"),
    ("POST", "/api/v1/programs/{program_id}/roster"),
    ("POST", "/api/v1/programs/{program_id}/waves"),
    ("GET", "/api/v1/waves/{wave_id}"),
    ("POST", "/api/v1/waves/{wave_id}/launch"),
    ("GET", "/api/v1/waves/{wave_id}/links"),
    ("POST", "/api/v1/waves/{wave_id}/close"),
    ("GET", "/api/v1/programs/{program_id}/waves"),
    ("PATCH", "/api/v1/waves/{wave_id}"),
    ("POST", "/api/v1/waves/{wave_id}/reminders"),
    ("POST", "/api/v1/waves/{wave_id}/invitations"),
    ("POST", "/api/v1/waves/{wave_id}/links/{email}/revoke"),
    ("POST", "/api/v1/waves/{wave_id}/links/{email}/reissue"),
    ("PUT", "/api/v1/organisation/logo"),
    ("GET", "/api/v1/waves/{wave_id}/cases"),
    ("GET", "/api/v1/cases/{case_id}"),
    ("PATCH", "/api/v1/cases/{case_id}"),
)
# What the document's links must let a client do, one operation after the other.
WORKFLOW = (
    "createProgram",
    "importRoster",
    "createWave",
    "launchWave",
    "listLinks",
    "getRespondent",
    "saveAnswers",
    "submitAnswers",
)
# Bodies the document has no example for (a wave must close in the future).
BODIES = {
    "createProgram": {"name": "Key accounts 2026"},
    "createWave": {"name": "Spring 2026", "closes_at": in_a_month()},
    "launchWave": {"delivery": "none"},
}


@pytest.fixture(scope="module")
def served(mongo_client):
    """The survey app on a loopback port over its own database, with organisation `acme`."""
    db = mongo_client[f"rapport_fuzz_{uuid.uuid4().hex[:10]}"]
    ensure_indexes(db)
    admin = make_admin(db)
    with live_server(admin.app) as url:
        yield admin, url
    mongo_client.drop_database(db.name)


@pytest.fixture(scope="module")
def document(served) -> dict[str, Any]:
    admin, _ = served
    response = admin.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_document_covers_every_admin_operation(served):
    _, url = served
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    for method, path in ADMIN_OPERATIONS:
        assert schema[path][method] is not None


@pytest.mark.slow
def test_schemathesis_with_every_check_finds_no_disagreement(served, tmp_path):
    admin, url = served
    # no cache or example database carried over from another run
    config = tmp_path / "schemathesis.toml"
    config.write_text('[cache]\nenabled = false\n\n[generation]\ndatabase = "none"\n')
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{url}/api/v1/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {admin.key}",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--no-color",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.support.openapi_rules",
    }
    run = subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-8000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅  {phase}" in report, report[-8000:]


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        operation["operationId"]: (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


def _pointer(value: Any, pointer: str) -> Any:
    """A JSON Pointer (RFC 6901) into a decoded JSON value."""
    for token in pointer.lstrip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        value = value[int(token)] if isinstance(value, list) else value[token]
    return value


def _runtime_value(expression: str, path_values: dict[str, str], body: Any) -> Any:
    """The value of a link's runtime expression after one call (the two forms the links use)."""
    if expression.startswith("$response.body#"):
        return _pointer(body, expression.removeprefix("$response.body#"))
    if expression.startswith("$request.path."):
        return path_values[expression.removeprefix("$request.path.")]
    raise AssertionError(f"unexpected runtime expression {expression}")


def test_following_the_links_goes_from_a_new_program_to_a_submitted_answer(db):
    admin = make_admin(db)
    operations = _operations(admin.client.get("/api/v1/openapi.json").get_json())
    path_values: dict[str, str] = {}
    body: Any = None
    for step, operation_id in enumerate(WORKFLOW):
        method, path, operation = operations[operation_id]
        if step:
            previous = operations[WORKFLOW[step - 1]][2]
            link = next(
                link
                for response in previous["responses"].values()
                for link in response.get("links", {}).values()
                if link["operationId"] == operation_id
            )
            path_values = {
                name: _runtime_value(expression, path_values, body)
                for name, expression in link["parameters"].items()
            }
        content = operation.get("requestBody", {}).get("content", {})
        example = content.get("application/json", {}).get("example")
        payload = BODIES.get(operation_id, example)
        response = admin.client.open(
            path.format(**path_values),
            method=method.upper(),
            headers=admin.headers,
            data=None if payload is None else json.dumps(payload),
            content_type="application/json" if payload is not None else None,
        )
        assert response.status_code < 300, (operation_id, response.get_json())
        body = response.get_json()
    assert body["status"] == "completed"
    assert db.responses.count_documents({"status": "completed"}) == 1


def test_every_answer_set_the_document_allows_is_accepted(document):
    # the live run's respondent calls mostly stop at an unknown token: check the answers here
    schema = schemathesis.openapi.from_dict(document)
    operation = schema["/api/v1/respond/{token}/subjects/{subject_id}"]["PUT"]

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case):
        answers = case.body["answers"]
        assert validate_answers(answers).keys() == answers.keys()

    check()


def _text_of(document: dict[str, Any], value: Any) -> str:
    """An operation's documentation with its schemas' `$ref`s resolved, as one string."""
    if isinstance(value, dict):
        if "$ref" in value:
            return _text_of(document, _pointer(document, value["$ref"].removeprefix("#")))
        return " ".join(f"{key} {_text_of(document, item)}" for key, item in value.items())
    if isinstance(value, list):
        return " ".join(_text_of(document, item) for item in value)
    return str(value)


@pytest.mark.parametrize("label", sorted(SAID_IN_WORDS))
def test_every_refusal_the_run_accepts_is_a_rule_the_document_states(document, label):
    method, path = label.split(" ", 1)
    text = _text_of(document, document["paths"][path][method.lower()])
    for field, _, words in SAID_IN_WORDS[label]:
        assert words in text, (label, field, words)
