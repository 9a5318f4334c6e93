"""The console's blueprint: CSRF on every form, the access errors as pages, one render helper."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from services.bootstrap import Container
from services.survey.console.people import VIEWER
from services.survey.errors import ApiError, Forbidden

bp = Blueprint("console", __name__, url_prefix="/app", template_folder="templates")

# Forms a viewer may still post: signing in and out.
_OPEN_TO_VIEWERS = frozenset({"console.sign_in", "console.sign_out", "console.send_link"})


def container() -> Container:
    """The process's container (settings, database)."""
    return current_app.extensions["rapport"]


def render(template: str, status: int = 200, **context: Any):
    """A console page, never cached."""
    html = render_template(template, person=_person(), **context)
    return html, status, {"Cache-Control": "no-store"}


def _person():
    return current_user if current_user.is_authenticated else None


@bp.before_request
def _check_form() -> None:
    # CSRF is checked here, not app-wide: the JSON APIs authenticate by key or token.
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        current_app.extensions["csrf"].protect()
        # a viewer reads; the services refuse their changes too (this only answers sooner)
        person = _person()
        if (
            person is not None
            and person.role == VIEWER
            and request.endpoint not in _OPEN_TO_VIEWERS
        ):
            raise Forbidden("a viewer may not change anything")


@bp.errorhandler(CSRFError)
def _csrf_failed(exc: CSRFError):
    return render(
        "console/error.html",
        400,
        title="This form has expired",
        message="Go back, reload the page and send the form again.",
    )


@bp.errorhandler(ApiError)
def _refused(exc: ApiError):
    titles = {403: "Not allowed", 404: "Not found"}
    return render(
        "console/error.html",
        exc.status,
        title=titles.get(exc.status, "Cannot do this"),
        message=exc.message,
    )
