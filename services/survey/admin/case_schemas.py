"""Marshmallow schemas of the close-the-loop case endpoints (API.md 1.1: `GET
/waves/{id}/cases`, `PATCH /cases/{id}`)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.survey.admin.schemas import StrictSchema
from shared.store.cases import STATUSES
from shared.vocabulary import ALERT_REASONS

NOTE_MAX = 5000


class CaseQuerySchema(StrictSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    owner = fields.String(
        validate=validate.Length(min=1, max=254), metadata={"description": "the owner's email"}
    )
    kind = fields.String(validate=validate.OneOf(ALERT_REASONS))
    account = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the account's external id"},
    )
    overdue = fields.Boolean(metadata={"description": "not closed and past its due date"})


class CasePatchSchema(StrictSchema):
    """`PATCH /api/v1/cases/{id}`: move the case on, add a note, or hand it to another owner."""

    status = fields.String(
        validate=validate.OneOf(STATUSES),
        metadata={"description": "open -> in_progress -> closed, never back; closing needs a note"},
    )
    note = fields.String(
        validate=validate.Length(max=NOTE_MAX),
        metadata={"description": "what was done; required (not blank) to close the case"},
    )
    owner_email = fields.Email(
        validate=validate.Length(max=254),
        metadata={"description": "a user or seller of the organisation"},
    )

    @validates_schema
    def _check(self, data: dict, **kwargs: Any) -> None:
        if not data:
            raise ValidationError("send status, note or owner_email", "body")


class CaseHistorySchema(Schema):
    at = fields.DateTime()
    by = fields.String()
    what = fields.String(metadata={"enum": ["opened", "status", "owner", "note"]})
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class CaseNumbersSchema(Schema):
    previous = fields.Raw(allow_none=True, metadata={"description": "before (RI, level, ...)"})
    current = fields.Raw(allow_none=True, metadata={"description": "this wave"})


class CaseSchema(Schema):
    id = fields.String()
    wave_id = fields.String()
    wave_name = fields.String(allow_none=True)
    previous_wave_id = fields.String(allow_none=True)
    previous_wave_name = fields.String(allow_none=True)
    kind = fields.String(metadata={"enum": list(ALERT_REASONS)})
    account_external_id = fields.String()
    account_name = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    contact_name = fields.String(allow_none=True)
    contact_role = fields.String(allow_none=True)
    numbers = fields.Nested(CaseNumbersSchema)
    owner_email = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(STATUSES)})
    opened_at = fields.DateTime()
    due_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    note = fields.String(allow_none=True)
    overdue = fields.Boolean()
    closed_in_time = fields.Boolean(allow_none=True)
    history = fields.List(fields.Nested(CaseHistorySchema))


class CaseTallySchema(Schema):
    owner_email = fields.String(allow_none=True)
    cases = fields.Integer()
    open = fields.Integer()
    closed = fields.Integer()
    closed_in_time = fields.Integer()
    overdue = fields.Integer()
    closed_in_time_share = fields.Float(
        allow_none=True,
        metadata={"description": "closed by the due date / (closed + overdue); null when none"},
    )


class ClosedInTimeSchema(Schema):
    wave = fields.Nested(CaseTallySchema)
    owners = fields.List(fields.Nested(CaseTallySchema))


class CaseListSchema(Schema):
    wave_id = fields.String()
    items = fields.List(fields.Nested(CaseSchema))
    closed_in_time = fields.Nested(ClosedInTimeSchema)
