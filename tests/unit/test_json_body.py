"""The one JSON reader of request bodies: what it refuses, and how it names the field."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from services.survey.admin.schemas import ProgramCreateSchema, flat_messages
from services.survey.errors import ValidationFailed
from services.survey.request_body import MAX_DETAILS, NotJson, parse_json_body


def test_integers_within_64_bits_stay_integers_and_larger_ones_become_decimals():
    body = parse_json_body(
        b'{"a": 9223372036854775807, "b": -9223372036854775808, "c": 9223372036854775808}'
    )
    assert body == {"a": 2**63 - 1, "b": -(2**63), "c": 9.223372036854775808e18}
    assert [type(v) for v in body.values()] == [int, int, float]


@pytest.mark.parametrize(
    "text, field, problem",
    [
        (
            '{"x": [1, {"n": ' + "9" * 5000 + "}]}",
            "x.1.n",
            "number out of range (too large or infinite)",
        ),
        ('{"n": 1e400}', "n", "number out of range (too large or infinite)"),
        ('{"n": -Infinity}', "n", "number out of range (too large or infinite)"),
        ('{"n": NaN}', "n", "not a number (NaN)"),
        (
            '["ok", "\\udc00"]',
            "1",
            "contains a lone surrogate (\\udc00), which is not Unicode text",
        ),
        ('"\\ud800"', "body", "contains a lone surrogate (\\ud800), which is not Unicode text"),
    ],
)
def test_values_no_field_can_store_are_refused_naming_their_path(text, field, problem):
    with pytest.raises(ValidationFailed) as refused:
        parse_json_body(text.encode())
    assert refused.value.details == {field: [problem]}
    assert refused.value.message == f"invalid input: {field}: {problem}"


def test_a_surrogate_pair_is_one_character():
    assert parse_json_body(b'"\\ud83d\\ude00"') == "\U0001f600"


def test_a_body_full_of_bad_values_names_a_bounded_number_of_them():
    with pytest.raises(ValidationFailed) as refused:
        parse_json_body(("[" + ", ".join(['"\\ud800"'] * 10_000) + "]").encode())
    assert list(refused.value.details) == [str(n) for n in range(MAX_DETAILS)]


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "Expecting value: line 1 column 1 (char 0)"),
        (b'{"a": 1,}', "Illegal trailing comma before end of object: line 1 column 8 (char 7)"),
        (b'"caf\xe9"', "it is not UTF-8 text (byte 0xe9 at position 4)"),
        (b"[" * 50_000 + b"]" * 50_000, "it is nested too deeply"),
    ],
)
def test_what_is_not_json_is_refused_with_the_parsers_reason(data, reason):
    with pytest.raises(NotJson) as refused:
        parse_json_body(data)
    assert refused.value.message == f"the body is not valid JSON: {reason}"
    assert refused.value.status == 400


def test_a_number_field_refuses_an_integer_beyond_any_float_where_json_is_read_elsewhere():
    # `rapport programs create --settings` reads its JSON with json.loads: 10**400 is a
    # Python int there, and math.isfinite() of it raised OverflowError (a crash, not an error).
    with pytest.raises(ValidationError) as refused:
        ProgramCreateSchema().load(
            {
                "name": "P",
                "settings": {"gap_threshold": 10**400, "role_weights": {"user": -(10**400)}},
            }
        )
    assert flat_messages(refused.value.messages) == {
        "settings.gap_threshold": ["Number too large."],
        "settings.role_weights.user.value": ["Number too large."],
    }
