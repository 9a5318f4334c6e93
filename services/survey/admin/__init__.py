"""The admin surface: programs, rosters and waves over HTTP (API.md) and the `rapport` CLI.

`programs`, `roster` and `waves` hold the service functions (keyword-only); `views` is the
HTTP layer, `schemas` the marshmallow schemas both use.
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Mount the admin endpoints on the app's OpenAPI-documented API."""
    from services.survey.admin.views import bp

    app.extensions["rapport_api"].register_blueprint(bp)
