"""The respondent JSON API of API.md: the token in the path is the credential."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.views import MethodView
from marshmallow import RAISE, Schema, fields
from werkzeug.exceptions import UnsupportedMediaType

from services.bootstrap import Container
from services.survey.request_body import Blueprint
from services.survey.respond.service import (
    Respondent,
    load_respondent,
    save_answers,
    submit_answers,
)
from shared.questionnaire.answers import answers_json_schema, complete_answers_example
from shared.vocabulary import SELLER

bp = Blueprint(
    "respond",
    __name__,
    url_prefix="/api/v1/respond",
    description="Respondent API: a personal link's token is the credential.",
)


ANSWERS_SCHEMA = {key: value for key, value in answers_json_schema().items() if key != "type"}
ANSWERS_EXAMPLE = {"answers": complete_answers_example()}


class AnswersIn(Schema):
    class Meta:
        unknown = RAISE

    answers = fields.Dict(
        keys=fields.String(),
        required=True,
        # the document names every item of the bank with the values it takes
        metadata={"description": "item id -> answer; null for don't know", **ANSWERS_SCHEMA},
    )


class SubmitIn(Schema):
    class Meta:
        unknown = RAISE

    answers = fields.Dict(
        keys=fields.String(),
        load_default=None,
        metadata={
            "description": "last answers to save first; the saved and these together need "
            "every required item and enough answered dimensions (API.md)",
            **ANSWERS_SCHEMA,
        },
    )


class WaveOut(Schema):
    name = fields.String()
    closes_at = fields.DateTime(allow_none=True)


class PersonOut(Schema):
    name = fields.String()


class SubjectOut(Schema):
    subject_id = fields.String()
    label = fields.String()
    status = fields.String(metadata={"description": "not_started, in_progress or completed"})
    answers = fields.Dict()
    texts = fields.Dict(
        metadata={
            "description": "sellers only: each item's mirrored wording naming this subject's buyer"
        }
    )


class QuestionnaireOut(Schema):
    kind = fields.String(
        metadata={"description": "full, or pulse (one item per dimension; the program setting)"}
    )
    items = fields.List(fields.Dict(), metadata={"description": "{id, dimension, text, scale}"})
    sections = fields.List(fields.Dict())


class RespondentOut(Schema):
    side = fields.String()
    language = fields.String()
    wave = fields.Nested(WaveOut)
    respondent = fields.Nested(PersonOut)
    subjects = fields.List(fields.Nested(SubjectOut))
    questionnaire = fields.Nested(QuestionnaireOut)


class StatusOut(Schema):
    subject_id = fields.String()
    status = fields.String()


def _container() -> Container:
    return current_app.extensions["rapport"]


@bp.before_request
def _json_bodies_only() -> None:
    """A body that is not JSON is a 415 (a submit may come with no body at all)."""
    if request.method not in ("PUT", "POST"):
        return
    has_body = bool(request.content_length) or "chunked" in request.headers.get(
        "Transfer-Encoding", ""
    )
    if (request.method == "PUT" or has_body) and request.mimetype != "application/json":
        raise UnsupportedMediaType("send the answers as application/json")


def _respondent(token: str, *, opened: bool = False) -> Respondent:
    container = _container()
    return load_respondent(db=container.db, settings=container.settings, token=token, opened=opened)


def _texts_about(bank: Any, respondent: Respondent, buyer_name: str | None) -> dict[str, str]:
    """The seller's wording of every item about one buyer ("Joe would say that we ...")."""
    items = bank.items_for(
        SELLER, respondent.language, buyer_name=buyer_name, seller_company=respondent.sender
    )
    return {item["id"]: item["text"] for item in items}


def respondent_document(respondent: Respondent) -> dict[str, Any]:
    """The GET answer of API.md for one respondent."""
    bank = respondent.bank
    items = bank.items_for(respondent.side, respondent.language, seller_company=respondent.sender)  # type: ignore[arg-type]
    return {
        "side": respondent.side,
        "language": respondent.language,
        "wave": {
            "name": respondent.wave.get("name", ""),
            "closes_at": respondent.wave.get("closes_at"),
        },
        "respondent": {"name": respondent.name},
        "subjects": [
            {
                "subject_id": s.subject_id,
                "label": s.label,
                "status": s.status,
                "answers": dict(s.answers),
                **(
                    {"texts": _texts_about(bank, respondent, s.buyer_name)}
                    if respondent.side == SELLER
                    else {}
                ),
            }
            for s in respondent.subjects
        ],
        "questionnaire": {
            "kind": bank.kind,
            "items": items,
            "sections": [
                {"id": section.id, "items": [i.id for i in section.items]}
                for section in bank.sections
            ],
        },
    }


@bp.route("/<token>")
class RespondentView(MethodView):
    @bp.response(200, RespondentOut)
    def get(self, token: str):
        """The questionnaire, the subjects and what is saved; marks the invitation opened.

        410 once the wave is closed.
        """
        return respondent_document(_respondent(token, opened=True))


@bp.route("/<token>/subjects/<subject_id>")
class SubjectAnswers(MethodView):
    @bp.arguments(AnswersIn, example=ANSWERS_EXAMPLE)
    @bp.response(200, StatusOut)
    def put(self, body: dict[str, Any], token: str, subject_id: str):
        """Save the answers given (each value validated); others stay as saved.

        410 once the wave is closed.
        """
        saved = save_answers(
            db=_container().db,
            respondent=_respondent(token),
            subject_id=subject_id,
            answers=body["answers"],
        )
        return {"subject_id": saved.subject_id, "status": saved.status}


@bp.route("/<token>/subjects/<subject_id>/submit")
class SubjectSubmit(MethodView):
    @bp.arguments(SubmitIn, required=False, example=ANSWERS_EXAMPLE)
    @bp.response(200, StatusOut)
    def post(self, body: dict[str, Any] | None, token: str, subject_id: str):
        """Complete the subject: 400 names missing items, 409 if done, 410 if closed."""
        container = _container()
        saved = submit_answers(
            db=container.db,
            bus=container.bus,
            respondent=_respondent(token),
            subject_id=subject_id,
            answers=(body or {}).get("answers"),
            relay_after_s=container.settings.outbox_relay_after_s,
        )
        return {"subject_id": saved.subject_id, "status": saved.status}
