"""Request bodies on every endpoint: the size limit while reading, JSON refused with its reason.

Chunked bodies are sent as a WSGI server passes them (no Content-Length, the server
terminating the stream); tests/e2e/test_gunicorn_body_limit.py sends them to gunicorn.
"""

from __future__ import annotations

import io
import json

import pytest

from tests.conftest import isolated_settings
from tests.integration.test_admin_support import (
    SAMPLE_ROWS,
    in_a_month,
    make_admin,
    roster_csv,
    snapshot,
)
from tests.support.survey_fixtures import make_wave, survey_app

LIMIT = 4096


class CountingBody(io.BytesIO):
    """A request body that remembers how many bytes the application read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = super().readinto(buffer)
        self.bytes_read += n
        return n

    def readline(self, size: int | None = -1) -> bytes:
        data = super().readline(size)
        self.bytes_read += len(data)
        return data


def send_chunked(client, method: str, path: str, body: bytes, content_type: str, headers=None):
    """Send `body` with Transfer-Encoding: chunked; returns (response, bytes the app read)."""
    stream = CountingBody(body)
    response = client.open(
        path,
        method=method,
        input_stream=stream,
        content_type=content_type,
        headers={**(headers or {}), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    return response, stream.bytes_read


def _error(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


def _world(admin) -> dict[str, str]:
    program, wave, _ = admin.launched_wave()
    draft = admin.wave(program["id"], name="Draft")
    return {"program": program["id"], "wave": wave["id"], "draft": draft["id"]}


@pytest.fixture
def admin(db):
    return make_admin(db)


@pytest.fixture
def world(admin):
    return _world(admin)


@pytest.fixture
def limited(db):
    """An app whose body limit (RAPPORT_MAX_BODY_BYTES) is LIMIT bytes."""
    return make_admin(db, settings=isolated_settings(max_body_bytes=LIMIT))


# --- item 3: the body limit holds for chunked bodies, on every endpoint ----------------------

MULTIPART = "multipart/form-data; boundary=XX"


def _multipart(payload: bytes) -> bytes:
    return (
        b'--XX\r\nContent-Disposition: form-data; name="file"; filename="r.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + payload + b"\r\n--XX--\r\n"
    )


def _big_roster() -> bytes:
    rows = [
        {**SAMPLE_ROWS[0], "contact_email": f"c{n}@acme.example", "contact_name": f"C {n}"}
        for n in range(400)
    ]
    data = roster_csv(rows).encode()
    assert len(data) > 8 * LIMIT
    return data


ADMIN_BODIES = [
    ("POST", "/api/v1/programs", "application/json", b'{"name": "' + b"P" * 50_000 + b'"}'),
    ("POST", "/api/v1/programs/{program}/roster", "text/csv", _big_roster()),
    (
        "POST",
        "/api/v1/programs/{program}/roster",
        "application/json",
        json.dumps({"rows": [SAMPLE_ROWS[0]] * 400}).encode(),
    ),
    ("POST", "/api/v1/programs/{program}/roster", MULTIPART, _multipart(_big_roster())),
    (
        "POST",
        "/api/v1/programs/{program}/waves",
        "application/json",
        json.dumps({"name": "W", "closes_at": in_a_month(), "x": "y" * 50_000}).encode(),
    ),
    (
        "POST",
        "/api/v1/waves/{draft}/launch",
        "application/json",
        b'{"delivery": "none"' + b" " * 50_000 + b"}",
    ),
]


@pytest.mark.parametrize(
    "method, path, content_type, body",
    ADMIN_BODIES,
    ids=["program", "roster-csv", "roster-json", "roster-multipart", "wave", "launch"],
)
def test_a_chunked_admin_body_over_the_limit_is_a_413_read_no_further_than_the_limit(
    limited, method, path, content_type, body
):
    world = _world(limited)
    before = snapshot(limited.db)
    response, read = send_chunked(
        limited.client, method, path.format(**world), body, content_type, limited.headers
    )
    assert response.status_code == 413, response.get_json()
    error = _error(response)
    assert error["code"] == "payload_too_large"
    assert f"{LIMIT:,} bytes" in error["message"]
    assert read <= LIMIT + 1, read  # the rest of the body was never read
    assert snapshot(limited.db) == before  # a cut roster was imported before


def test_a_chunked_body_up_to_the_limit_is_read_whole(limited):
    admin, world = limited, _world(limited)
    body = b'{"name": "Padded"}'
    body += b" " * (LIMIT - len(body))  # exactly the limit
    response, read = send_chunked(
        admin.client, "POST", "/api/v1/programs", body, "application/json", admin.headers
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == "Padded"
    assert read == LIMIT
    csv_body = roster_csv(SAMPLE_ROWS[:1]).encode()
    response, _ = send_chunked(
        admin.client,
        "POST",
        f"/api/v1/programs/{world['program']}/roster",
        csv_body,
        "text/csv",
        admin.headers,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rows_imported"] == 1


def test_a_chunked_respondent_body_over_the_limit_is_a_413(db):
    settings = isolated_settings(max_body_bytes=LIMIT)
    world = make_wave(db, settings, buyers=1, sellers=1)
    client = survey_app(db, settings).test_client()
    person = world.buyers[0]
    subject = person.subject_ids[0]
    answers = json.dumps({"answers": {"start": "x" * 50_000}}).encode()
    base = f"/api/v1/respond/{person.token}/subjects/{subject}"
    for method, path in (("PUT", base), ("POST", f"{base}/submit")):
        response, read = send_chunked(client, method, path, answers, "application/json")
        assert response.status_code == 413, (path, response.get_json())
        assert _error(response)["code"] == "payload_too_large"
        assert read <= LIMIT + 1
    form = b"action=next&trust.1=" + b"5" * 50_000
    response, read = send_chunked(
        client,
        "POST",
        f"/s/{person.token}/q/{subject}/relationship",
        form,
        "application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert read <= LIMIT + 1
    assert db.responses.count_documents({}) == 0


# --- item 5: values no field can store are a 400 naming the field ----------------------------

HUGE_INT = "1" * 5000  # over Python's 4,300-digit limit for int(str)
BIG_INT = str(10**400)  # a Python int, but no float and no BSON integer


def _raw_post(admin, path: str, text: str):
    return admin.post(path, data=text.encode(), content_type="application/json")


@pytest.mark.parametrize("number", [HUGE_INT, BIG_INT, "1e400", "-" + BIG_INT, "NaN"])
def test_numbers_nothing_can_store_are_a_400_naming_the_field(admin, world, number):
    before = snapshot(admin.db)
    cases = [
        ("/api/v1/programs", f'{{"name": "P", "settings": {{"gap_threshold": {number}}}}}'),
        (
            "/api/v1/programs",
            f'{{"name": "P", "settings": {{"role_weights": {{"user": {number}}}}}}}',
        ),
        (
            f"/api/v1/programs/{world['program']}/waves",
            f'{{"name": "W", "closes_at": "{in_a_month()}", "reminder_days": [3, {number}]}}',
        ),
    ]
    row = json.dumps({**SAMPLE_ROWS[0], "annual_revenue": 0}).replace('"annual_revenue": 0', "%s")
    cases.append(
        (
            f"/api/v1/programs/{world['program']}/roster",
            '{"rows": [' + row % f'"annual_revenue": {number}' + "]}",
        )
    )
    fields = [
        "settings.gap_threshold",
        "settings.role_weights.user",
        "reminder_days.1",
        "rows.0.annual_revenue",
    ]
    for (path, text), field in zip(cases, fields, strict=True):
        response = _raw_post(admin, path, text)
        assert response.status_code == 400, (path, response.get_json())
        error = _error(response)
        assert error["code"] == "validation_error"
        assert list(error["details"]) == [field], error
        assert field in error["message"]
        assert len(response.data) < 1000  # the number is never echoed back
    assert snapshot(admin.db) == before


def test_lone_surrogates_in_any_string_are_a_400_naming_the_field(admin, world):
    before = snapshot(admin.db)
    row = json.dumps(SAMPLE_ROWS[0]).replace('"Acme"', '"Ac\\ud800me"')
    program, waves = "/api/v1/programs", f"/api/v1/programs/{world['program']}/waves"
    cases = [
        (program, '{"name": "P\\ud800x"}', "name", "\\ud800"),
        (
            program,
            '{"name": "P", "settings": {"languages": ["\\udfff"]}}',
            "settings.languages.0",
            "\\udfff",
        ),
        (
            f"{program}/{world['program']}/roster",
            '{"rows": [' + row + "]}",
            "rows.0.account_name",
            "\\ud800",
        ),
        (waves, '{"name": "\\udbff", "closes_at": 1}', "name", "\\udbff"),
    ]
    for path, text, field, escape in cases:
        response = _raw_post(admin, path, text)
        assert response.status_code == 400, (path, response.get_json())
        error = _error(response)
        assert error["code"] == "validation_error"
        assert error["details"] == {
            field: [f"contains a lone surrogate ({escape}), which is not Unicode text"]
        }
        assert error["message"].startswith(f"invalid input: {field}: contains a lone surrogate")
    assert snapshot(admin.db) == before


def test_a_lone_surrogate_in_a_name_is_named_by_its_escape(admin):
    response = _raw_post(admin, "/api/v1/programs", '{"name": "P", "\\ud800": 1}')
    assert response.status_code == 400
    assert _error(response)["details"] == {
        "\\ud800": ["the name contains a lone surrogate (\\ud800), which is not Unicode text"]
    }


def test_a_surrogate_pair_is_text_and_is_stored(admin):
    response = _raw_post(admin, "/api/v1/programs", '{"name": "Key accounts \\ud83d\\ude00"}')
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == "Key accounts \U0001f600"


def test_lone_surrogates_and_huge_numbers_in_answers_are_a_400_and_nothing_is_saved(db):
    settings = isolated_settings()
    world = make_wave(db, settings, buyers=1, sellers=1)
    client = survey_app(db, settings).test_client()
    person = world.buyers[0]
    path = f"/api/v1/respond/{person.token}/subjects/{person.subject_ids[0]}"
    for text, field in (
        ('{"answers": {"start": "more \\udc00 calls"}}', "answers.start"),
        ('{"answers": {"recommend": ' + HUGE_INT + "}}", "answers.recommend"),
        ('{"answers": {"recommend": ' + BIG_INT + "}}", "answers.recommend"),
    ):
        response = client.put(path, data=text.encode(), content_type="application/json")
        assert response.status_code == 400, response.get_json()
        assert list(_error(response)["details"]) == [field]
    assert db.responses.count_documents({}) == 0


# --- item 7: malformed JSON says so, with the parser's reason ----------------------------------


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (b'{"name": ', "Expecting value: line 1 column 10 (char 9)"),
        (b"\xff\xfe\x00", "it is not UTF-8 text (byte 0xff at position 0)"),
        (b"[" * 100_000, "it is nested too deeply"),
    ],
    ids=["open-brace", "truncated", "binary", "deep"],
)
def test_malformed_json_gives_the_parsers_reason_on_every_json_endpoint(
    admin, world, db, body, reason
):
    paths = [
        "/api/v1/programs",
        f"/api/v1/programs/{world['program']}/roster",
        f"/api/v1/programs/{world['program']}/waves",
        f"/api/v1/waves/{world['draft']}/launch",
    ]
    for path in paths:
        response = admin.post(path, data=body, content_type="application/json")
        assert response.status_code == 400, (path, response.get_json())
        error = _error(response)
        assert error["code"] == "bad_request"
        assert error["message"] == f"the body is not valid JSON: {reason}"
        assert error["details"] == {"body": [reason]}
    settings = isolated_settings()
    respondent = make_wave(db, settings, buyers=1, sellers=1).buyers[0]
    client = survey_app(db, settings).test_client()
    base = f"/api/v1/respond/{respondent.token}/subjects/{respondent.subject_ids[0]}"
    for method, path in (("PUT", base), ("POST", f"{base}/submit")):
        response = client.open(path, method=method, data=body, content_type="application/json")
        assert response.status_code == 400
        assert _error(response)["message"] == f"the body is not valid JSON: {reason}"
        assert "The browser (or proxy)" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "content, content_type",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "text/csv"),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4, "application/octet-stream"),
        (bytes(range(128, 256)) * 8, "text/csv"),
    ],
    ids=["png", "xlsx", "high-bytes"],
)
def test_a_binary_roster_upload_says_it_is_not_a_csv_file(admin, world, content, content_type):
    before = snapshot(admin.db)
    response = admin.import_csv(world["program"], content, content_type=content_type)
    assert response.status_code == 400, response.get_json()
    assert "not a CSV file" in _error(response)["message"]
    multipart = admin.post(
        f"/api/v1/programs/{world['program']}/roster",
        data={"file": (io.BytesIO(content), "roster.xlsx")},
        content_type="multipart/form-data",
    )
    assert multipart.status_code == 400
    assert "not a CSV file" in _error(multipart)["message"]
    assert snapshot(admin.db) == before
