"""Reading request bodies: the size limit enforced while reading, and JSON parsed in one place.

Every JSON body (the flask-smorest `@bp.arguments` of every blueprint built with this
module's `Blueprint`, and the roster's JSON rows) goes through `parse_json_body`, which
refuses what no field can store: lone surrogates, integers MongoDB cannot hold, non-finite
numbers. Every body, JSON or not, is read through `BoundedRequest.stream`.
"""

from __future__ import annotations

import json
import math
import re
from typing import IO, Any

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from services.survey.errors import ApiError, ValidationFailed

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # BSON's integers
_LONGEST_INT64 = len(str(INT64_MIN))
_SURROGATE = re.compile("[\ud800-\udfff]")
# A lone surrogate can only come from a \u escape (UTF-8 text cannot hold one).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
MAX_DETAILS = 20  # fields named in one error; a hostile body could have millions


def body_too_large(limit: int) -> RequestEntityTooLarge:
    """The 413 of a body over `limit` bytes, with the limit in its message."""
    return RequestEntityTooLarge(
        f"the request body is larger than {limit:,} bytes (RAPPORT_MAX_BODY_BYTES)"
    )


class BoundedBody(LimitedStream):
    """A body without Content-Length read up to `limit` bytes; one byte more is a 413.

    Werkzeug's own stream for such bodies stops at the limit and returns what it read as if
    it were the whole body, so a chunked upload over the limit was cut and then imported.
    """

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit + 1, is_max=True)
        self.max_bytes = limit

    def readinto(self, b: bytearray) -> int | None:  # type: ignore[override]
        size = super().readinto(b)
        if self.is_exhausted:  # byte limit + 1 arrived: the body goes on past the limit
            raise body_too_large(self.max_bytes)
        return size


class BoundedRequest(flask.Request):
    """Flask's request with the body limit (`MAX_CONTENT_LENGTH`, or the view's) enforced
    while reading a chunked body, for every reader: `get_data`, forms, files, JSON."""

    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        if limit is not None and self.content_length is not None and self.content_length > limit:
            raise body_too_large(limit)
        terminated = "wsgi.input_terminated" in self.environ  # the server ends a chunked body
        if limit is None or not terminated or self.shallow:
            return super().stream
        return BoundedBody(self.environ["wsgi.input"], limit)


class NotJson(ApiError):
    """A body sent as JSON that is not JSON; the message carries the parser's."""

    status, code = 400, "bad_request"

    def __init__(self, reason: str) -> None:
        super().__init__(f"the body is not valid JSON: {reason}", details={"body": [reason]})


class _Numbers:
    """The parser's number hooks; `odd` tells that a number nothing can store was seen."""

    def __init__(self) -> None:
        self.odd = False

    def integer(self, text: str) -> int | float:
        if len(text) <= _LONGEST_INT64 and INT64_MIN <= (value := int(text)) <= INT64_MAX:
            return value
        # Beyond BSON's 64-bit integers: a double, as most JSON readers do (and int() would
        # refuse 4,300+ digits with a ValueError from inside the parser); infinity beyond that.
        return self.decimal(text)

    def decimal(self, text: str) -> float:
        value = float(text)
        self.odd = self.odd or math.isinf(value)
        return value

    def constant(self, name: str) -> float:
        self.odd = True  # NaN, Infinity, -Infinity: Python's extension of JSON
        return float(name)


def _shown(name: str) -> str:
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _problem(value: Any) -> str | None:
    if isinstance(value, str):
        bad = _SURROGATE.search(value)
        if bad:
            return f"contains a lone surrogate ({_shown(bad.group())}), which is not Unicode text"
    elif isinstance(value, float) and math.isinf(value):
        return "number out of range (too large or infinite)"
    elif isinstance(value, float) and math.isnan(value):
        return "not a number (NaN)"
    return None


def unstorable_values(value: Any) -> dict[str, list[str]]:
    """Field path ("rows.0.annual_revenue") -> problem, for each value nothing can store."""
    problems: dict[str, list[str]] = {}
    pending: list[tuple[str, Any]] = [("", value)]  # a loop, not recursion: depth is the sender's
    while pending and len(problems) < MAX_DETAILS:
        path, item = pending.pop()
        if isinstance(item, dict):
            children = []
            for key, child in item.items():
                child_path = f"{path}.{_shown(key)}" if path else _shown(key)
                if (key_problem := _problem(key)) is not None:
                    problems.setdefault(child_path, []).append(f"the name {key_problem}")
                children.append((child_path, child))
            pending.extend(reversed(children))  # popped in the body's order
        elif isinstance(item, list):
            children = [(f"{path}.{n}" if path else str(n), v) for n, v in enumerate(item)]
            pending.extend(reversed(children))
        elif (problem := _problem(item)) is not None:
            problems.setdefault(path or "body", []).append(problem)
    return problems


def parse_json_body(data: bytes) -> Any:
    """The JSON value of a request body: NotJson (400) when it is not JSON, ValidationFailed
    (400 naming each field) when it holds a value no field can store."""
    try:
        text = data.decode("utf-8")  # RFC 8259: JSON between systems is UTF-8
    except UnicodeDecodeError as exc:
        raise NotJson(
            f"it is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start})"
        ) from None
    numbers = _Numbers()
    try:
        value = json.loads(
            text,
            parse_int=numbers.integer,
            parse_float=numbers.decimal,
            parse_constant=numbers.constant,
        )
    except json.JSONDecodeError as exc:
        raise NotJson(str(exc)) from None
    except RecursionError:
        raise NotJson("it is nested too deeply") from None
    if not numbers.odd and not _SURROGATE_ESCAPE.search(text):
        return value  # the usual body: nothing to look for
    problems = unstorable_values(value)
    if problems:
        shown = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in problems.items())
        raise ValidationFailed(f"invalid input: {shown}", details=problems)
    return value


class JsonBodyParser(FlaskParser):
    """webargs' parser reading JSON bodies through `parse_json_body`; bad input is a 400."""

    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        if not data:
            return core.missing  # as webargs: an empty body is a missing one
        return parse_json_body(data)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint whose `@bp.arguments` read JSON through `parse_json_body`."""

    ARGUMENTS_PARSER = JsonBodyParser()
