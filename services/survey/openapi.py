"""The flask-smorest Api: every JSON blueprint registers through it for /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields, validate

# API.md: bad input is a 400, never a 422.
Blueprint.ARGUMENTS_PARSER.DEFAULT_VALIDATION_STATUS = 400


class ErrorDetailSchema(Schema):
    code = fields.String(
        required=True, validate=validate.Length(min=1), metadata={"example": "validation_error"}
    )
    message = fields.String(required=True, validate=validate.Length(min=1))
    details = fields.Dict(
        required=True,
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "messages per field (or per row and column for rosters)"},
    )
    errors_truncated = fields.Boolean(
        metadata={"description": "roster: more problems than the details list"}
    )
    last_row_imported = fields.Integer(
        allow_none=True,
        metadata={"description": "roster import_interrupted: rows up to here are imported"},
    )


class ErrorSchema(Schema):
    """API.md's error body: `{"error": {"code", "message", "details"}}`."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class RapportApi(Api):
    # The OpenAPI document describes the errors we send, not flask-smorest's default shape.
    ERROR_SCHEMA = ErrorSchema


# The operations the workflow's links join, by method and path.
OPERATION_IDS = {
    ("post", "/api/v1/programs"): "createProgram",
    ("get", "/api/v1/programs/{program_id}"): "getProgram",
    ("get", "/api/v1/programs/{program_id}/accounts"): "listAccounts",
    ("post", "/api/v1/programs/{program_id}/roster"): "importRoster",
    ("post", "/api/v1/programs/{program_id}/waves"): "createWave",
    ("get", "/api/v1/waves/{wave_id}"): "getWave",
    ("post", "/api/v1/waves/{wave_id}/launch"): "launchWave",
    ("get", "/api/v1/waves/{wave_id}/links"): "listLinks",
    ("post", "/api/v1/waves/{wave_id}/close"): "closeWave",
    ("get", "/api/v1/waves/{wave_id}/results"): "getResults",
    ("get", "/api/v1/waves/{wave_id}/export.csv"): "exportResults",
    ("get", "/api/v1/programs/{program_id}/waves"): "listWaves",
    ("patch", "/api/v1/waves/{wave_id}"): "updateWave",
    ("post", "/api/v1/waves/{wave_id}/reminders"): "remindWave",
    ("post", "/api/v1/waves/{wave_id}/invitations"): "inviteLate",
    ("post", "/api/v1/waves/{wave_id}/links/{email}/revoke"): "revokeLink",
    ("post", "/api/v1/waves/{wave_id}/links/{email}/reissue"): "reissueLink",
    ("put", "/api/v1/organisation/logo"): "uploadLogo",
    ("get", "/api/v1/waves/{wave_id}/cases"): "listCases",
    ("get", "/api/v1/cases/{case_id}"): "getCase",
    ("patch", "/api/v1/cases/{case_id}"): "updateCase",
    ("get", "/api/v1/respond/{token}"): "getRespondent",
    ("put", "/api/v1/respond/{token}/subjects/{subject_id}"): "saveAnswers",
    ("post", "/api/v1/respond/{token}/subjects/{subject_id}/submit"): "submitAnswers",
}
_PROGRAM = {"program_id": "$response.body#/id"}
_WAVE = {"wave_id": "$response.body#/id"}
_LAUNCHED = {"wave_id": "$response.body#/wave_id"}
_SUBJECT = {"token": "$request.path.token", "subject_id": "$response.body#/subjects/0/subject_id"}
# OpenAPI links (source operation, status) -> {target operation: parameters}: the workflow
# create program -> import roster -> create wave -> launch -> links -> respond, for clients and
# for stateful testing.
LINKS: dict[tuple[str, str], dict[str, dict[str, str]]] = {
    ("createProgram", "201"): {
        "getProgram": _PROGRAM,
        "importRoster": _PROGRAM,
        "listAccounts": _PROGRAM,
        "createWave": _PROGRAM,
        "listWaves": _PROGRAM,
    },
    ("importRoster", "200"): {"createWave": {"program_id": "$request.path.program_id"}},
    ("createWave", "201"): {
        "getWave": _WAVE,
        "launchWave": _WAVE,
        "listLinks": _WAVE,
        "closeWave": _WAVE,
        "getResults": _WAVE,
        "exportResults": _WAVE,
        "updateWave": _WAVE,
        "listCases": _WAVE,
    },
    ("launchWave", "200"): {
        "getWave": _LAUNCHED,
        "listLinks": _LAUNCHED,
        "closeWave": _LAUNCHED,
        "getResults": _LAUNCHED,
        "remindWave": _LAUNCHED,
        "inviteLate": _LAUNCHED,
        "updateWave": _LAUNCHED,
        "listCases": _LAUNCHED,
    },
    ("listCases", "200"): {
        "getCase": {"case_id": "$response.body#/items/0/id"},
        "updateCase": {"case_id": "$response.body#/items/0/id"},
    },
    ("listLinks", "200"): {
        "getRespondent": {"token": "$response.body#/items/0/token"},
        "revokeLink": {
            "wave_id": "$request.path.wave_id",
            "email": "$response.body#/items/0/email",
        },
        "reissueLink": {
            "wave_id": "$request.path.wave_id",
            "email": "$response.body#/items/0/email",
        },
    },
    ("getRespondent", "200"): {"saveAnswers": _SUBJECT, "submitAnswers": _SUBJECT},
    ("saveAnswers", "200"): {
        "submitAnswers": {
            "token": "$request.path.token",
            "subject_id": "$response.body#/subject_id",
        }
    },
}


class WorkflowLinks(BasePlugin):
    """Names the workflow's operations (operationId) and adds the LINKS to their responses."""

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            operation_id = OPERATION_IDS.get((method, path or ""))
            if operation_id is None:
                continue
            operation.setdefault("operationId", operation_id)
            for status, response in operation.get("responses", {}).items():
                targets = LINKS.get((operation_id, str(status)))
                if targets and isinstance(response, dict):
                    response["links"] = {
                        target: {"operationId": target, "parameters": parameters}
                        for target, parameters in targets.items()
                    }


def exclusive_bounds(converter: Any, field: fields.Field, ret: dict, **kwargs: Any) -> dict:
    """A Range that leaves out its bounds says so (apispec writes only minimum and maximum)."""
    extra: dict[str, bool] = {}
    for validator in field.validators:
        if isinstance(validator, validate.Range):
            if validator.min is not None and not validator.min_inclusive:
                extra["exclusiveMinimum"] = True
            if validator.max is not None and not validator.max_inclusive:
                extra["exclusiveMaximum"] = True
    return extra


def key_choices(converter: Any, field: fields.Field, ret: dict, **kwargs: Any) -> dict:
    """A Dict whose keys are OneOf a list documents each key (OpenAPI 3.0 has no propertyNames)."""
    if not isinstance(field, fields.Dict) or field.key_field is None:
        return {}
    choices = [v.choices for v in field.key_field.validators if isinstance(v, validate.OneOf)]
    if not choices:
        return {}
    value = ret.get("additionalProperties") or {}
    return {
        "properties": {str(key): dict(value) for key in choices[0]},
        "additionalProperties": False,
    }


def init_api(app: Flask) -> Api:
    """Configure the OpenAPI document and return the Api that blueprints register on."""
    app.config.setdefault("API_TITLE", "Rapport")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = RapportApi(
        app,
        spec_kwargs={
            "extra_plugins": [WorkflowLinks()],
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "description": "admin API key"}
                }
            },
        },
    )
    api.ma_plugin.converter.add_attribute_function(exclusive_bounds)
    api.ma_plugin.converter.add_attribute_function(key_choices)
    app.extensions["rapport_api"] = api
    return api
