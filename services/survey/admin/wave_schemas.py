"""Marshmallow schemas of the console's wave endpoints (API.md 1.1): list, edit, reminders,
late invitations, and the monitoring answers (response rates, who has not answered, emails)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.survey.admin.schemas import StrictInteger, StrictSchema, WaveSchema, _name

NOT_COMPLETED = "not_completed"


class WaveListSchema(Schema):
    items = fields.List(fields.Nested(WaveSchema))


class WavePatchSchema(StrictSchema):
    name = _name()
    closes_at = fields.AwareDateTime(
        default_timezone=UTC,
        metadata={
            "description": "must be in the future, and after opens_at; "
            "may only move later while the wave is open"
        },
    )
    reminder_days = fields.List(
        StrictInteger(validate=validate.Range(min=1, max=365)),
        validate=validate.Length(max=10),
        metadata={
            "description": "strictly increasing; a change sends at least one of name, "
            "closes_at or reminder_days",
            "uniqueItems": True,
        },
    )

    @validates_schema
    def _check(self, data: dict, **kwargs: Any) -> None:
        if not data:
            raise ValidationError("send name, closes_at or reminder_days", "body")
        days = data.get("reminder_days")
        if days is not None and any(a >= b for a, b in zip(days, days[1:], strict=False)):
            raise ValidationError("must be strictly increasing, without repeats", "reminder_days")


class ReminderTarget(fields.Field):
    """`"not_completed"`, or a list of at most 5,000 email addresses."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if value == NOT_COMPLETED:
            return value
        if isinstance(value, list) and 0 < len(value) <= 5000:
            wrong = [v for v in value if not isinstance(v, str) or "@" not in v or len(v) > 320]
            if not wrong:
                return [v.strip().lower() for v in value]
            raise ValidationError(f"not an email address: {', '.join(map(str, wrong[:5]))}")
        raise ValidationError('send "not_completed" or a list of 1 to 5,000 email addresses')


class RemindersSchema(StrictSchema):
    to = ReminderTarget(
        required=True,
        metadata={
            "oneOf": [
                {"type": "string", "enum": [NOT_COMPLETED]},
                {
                    "type": "array",
                    "items": {"type": "string", "format": "email"},
                    "minItems": 1,
                    "maxItems": 5000,
                },
            ],
            "description": "everyone not completed, or these invitees",
        },
    )


class ReminderReportSchema(Schema):
    wave_id = fields.String()
    queued = fields.Integer(metadata={"description": "reminders queued for notify"})
    skipped = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={
            "description": "left out, by reason: completed, opted_out, revoked, reminded_recently"
        },
    )
    events_published = fields.Integer()


class LateInvitationSchema(StrictSchema):
    delivery = fields.String(
        required=True,
        validate=validate.OneOf(["email", "none"]),
        metadata={"description": "email: the notify service sends the invitations"},
    )


class LateInvitationReportSchema(Schema):
    wave_id = fields.String()
    invited_buyers = fields.Integer(metadata={"description": "contacts added since launch"})
    invited_sellers = fields.Integer(metadata={"description": "sellers added since launch"})
    sellers_given_subjects = fields.Integer(
        metadata={"description": "sellers already invited who got new buyer contacts to answer on"}
    )
    events_published = fields.Integer()
