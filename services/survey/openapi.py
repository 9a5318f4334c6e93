"""The flask-smorest Api: every JSON blueprint registers through it for /api/v1/openapi.json."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields

# API.md: bad input is a 400, never a 422.
Blueprint.ARGUMENTS_PARSER.DEFAULT_VALIDATION_STATUS = 400


class ErrorDetailSchema(Schema):
    code = fields.String(metadata={"example": "validation_error"})
    message = fields.String()
    details = fields.Dict(
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
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "description": "admin API key"}
                }
            }
        },
    )
    app.extensions["rapport_api"] = api
    return api
