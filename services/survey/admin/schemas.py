"""Marshmallow schemas of the admin API: every request body, and the answers as API.md shapes them.

Input is strict: unknown fields are refused, a number must be a JSON number (never a string
or a boolean), text must be a string (so `{"$gt": ""}` never reaches a query).
"""

from __future__ import annotations

import math
import numbers
import re
from datetime import UTC
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from services.survey.admin.programs import LANGUAGE_PATTERN, default_languages
from shared.vocabulary import ROLES

NAME_MAX = 200


def flat_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested error messages as {"settings.cut_points": ["..."]}."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flat_messages(value, path))
        return flat
    if isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            return {prefix or "body": [str(m) for m in messages]}
        flat = {}
        for value in messages:
            flat.update(flat_messages(value, prefix))
        return flat
    return {prefix or "body": [str(messages)]}


def invalid_input_message(details: dict[str, list[str]]) -> str:
    """One line naming the fields at fault: "invalid input: foo: Unknown field."."""
    shown = [f"{field}: {' '.join(problems)}" for field, problems in list(details.items())[:5]]
    more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
    return "invalid input: " + "; ".join(shown) + more


def _known_language(value: str) -> None:
    if value not in default_languages():
        raise ValidationError(
            f"the questionnaire has no {value!r}: use {', '.join(default_languages())}"
        )


class StrictNumber(fields.Float):
    """A JSON number: strings, booleans, NaN and infinities are refused; ints stay ints."""

    default_error_messages = {
        "invalid": "Not a number: send a JSON number.",
        "too_large": "Number too large.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.make_error("invalid")
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int beyond any float, e.g. 10**400
            raise self.make_error("too_large") from None
        if not finite:
            raise self.make_error("special")
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class StrictInteger(fields.Integer):
    """A JSON integer: strings, booleans and fractions are refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise self.make_error("invalid")
        return int(value)


def _name(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=NAME_MAX), **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


# --- programs -------------------------------------------------------------------------


class ProgramSettingsSchema(StrictSchema):
    """A program's scoring and survey settings; anything left out takes the SCORING.md default."""

    cut_points = fields.List(
        StrictNumber(
            validate=validate.Range(min=0, max=100, min_inclusive=False, max_inclusive=False)
        ),
        validate=validate.Length(equal=3),
        metadata={
            "title": "Level cut points",
            "description": "the three relationship index values (0-100, increasing) where "
            "transactional, predisposed and trusted advisor begin",
        },
    )
    gap_threshold = StrictNumber(
        validate=validate.Range(min=0, max=100, min_inclusive=False),
        metadata={
            "title": "Gap threshold",
            "description": "gap class threshold T: a seller rating the relationship this many "
            "points above the buyer is a blind spot, this many below undervalued",
        },
    )
    role_weights = fields.Dict(
        keys=fields.String(validate=validate.OneOf(ROLES)),
        values=StrictNumber(validate=validate.Range(min=0, max=1000)),
        metadata={
            "title": "Role weights",
            "description": "how much each buying role counts in an account's scores; "
            "missing roles keep their default",
        },
    )
    reminder_days = fields.List(
        StrictInteger(validate=validate.Range(min=1, max=365)),
        validate=validate.Length(max=10),
        metadata={
            "title": "Reminder days",
            "description": "days after launch on which non-responders are reminded, "
            "strictly increasing (none: no reminders)",
            "uniqueItems": True,
        },
    )
    languages = fields.List(
        fields.String(
            validate=[validate.Regexp(LANGUAGE_PATTERN), _known_language],
            metadata={"enum": default_languages()},
        ),
        validate=validate.Length(min=1, max=20),
        metadata={
            "title": "Languages",
            "description": "survey languages, each once; the first is the default for contacts",
            "uniqueItems": True,
        },
    )
    questionnaire = fields.String(
        validate=validate.OneOf(["full", "pulse"]),
        metadata={
            "description": "full (37 items) or pulse (the first item of each dimension, "
            "recommend, satisfaction and one open question); scored with k = 1 per dimension "
            "and no alpha for a pulse wave"
        },
    )
    manager_email = fields.Email(
        allow_none=True,
        validate=validate.Length(max=254),
        metadata={
            "title": "Manager email",
            "description": "receives the wave digest when results are final (none: no digest), "
            "and the overdue cases once a day",
        },
    )
    min_n = StrictInteger(
        validate=validate.Range(min=1, max=1000),
        metadata={
            "title": "Minimum answers",
            "description": "a figure on fewer answers than this is shown as based on N answers, "
            "never as solid (default 3)",
        },
    )
    min_interval_accounts = StrictInteger(
        validate=validate.Range(min=2, max=1000),
        metadata={
            "title": "Minimum accounts for an interval",
            "description": "a wave's 95 % interval resting on fewer accounts than this is "
            "flagged low_n (default 5)",
        },
    )
    reliable_change = StrictNumber(
        validate=validate.Range(min=0, min_inclusive=False, max=10),
        metadata={
            "title": "Reliable change",
            "description": "a contact's change counts as real when its reliable change index is "
            "at least this far from 0 (default 1.96, 95 %)",
        },
    )
    default_reliability = StrictNumber(
        validate=validate.Range(min=0, max=1, min_inclusive=False, max_inclusive=False),
        metadata={
            "title": "Default reliability",
            "description": "the reliability used for the reliable change index while too few "
            "buyers answered all six dimensions to measure it (default 0.8)",
        },
    )
    case_due_hours = StrictInteger(
        validate=validate.Range(min=1, max=24 * 365),
        metadata={
            "title": "Case due hours",
            "description": "hours the account owner has to close a case, from the moment the "
            "wave's results are final (default 48)",
        },
    )

    @validates_schema
    def _check_order(self, data: dict, **kwargs: Any) -> None:
        cuts = data.get("cut_points")
        if cuts is not None and any(a >= b for a, b in zip(cuts, cuts[1:], strict=False)):
            raise ValidationError("must be strictly increasing", "cut_points")
        days = data.get("reminder_days")
        if days is not None and any(a >= b for a, b in zip(days, days[1:], strict=False)):
            raise ValidationError("must be strictly increasing, without repeats", "reminder_days")
        languages = data.get("languages")
        if languages is not None and len(set(languages)) != len(languages):
            raise ValidationError("must not repeat a language", "languages")


class ProgramCreateSchema(StrictSchema):
    name = _name(required=True)
    settings = fields.Nested(ProgramSettingsSchema)


class ProgramSchema(Schema):
    id = fields.String(attribute="_id")
    name = fields.String()
    settings = fields.Nested(ProgramSettingsSchema)
    created_at = fields.DateTime()


class ProgramListSchema(Schema):
    items = fields.List(fields.Nested(ProgramSchema))


class AccountSummarySchema(Schema):
    id = fields.String(attribute="_id")
    external_id = fields.String()
    name = fields.String()
    annual_revenue = StrictNumber(allow_none=True)
    segment = fields.String(allow_none=True)
    contacts = fields.Integer()
    sellers = fields.Integer()


class AccountListSchema(Schema):
    items = fields.List(fields.Nested(AccountSummarySchema))


class ProgramPatchSchema(StrictSchema):
    """`PATCH /api/v1/programs/{id}`: settings given are merged into the stored ones."""

    name = _name()
    settings = fields.Nested(ProgramSettingsSchema)


# --- organisation ------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\ud800-\udfff]")


# A web address as the survey pages link it: http(s), a host, no spaces or control characters
# (explicit ranges: `\s` differs between Python and JSON Schema's ECMA regexes).
_WEB_ADDRESS = r"^https?://[^\u0000-\u0020\u007f-\u009f/?#]+[^\u0000-\u0020\u007f-\u009f]*$"


def _no_control_characters(value: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError("must be one line without control characters")


def _branding_text(max_length: int, description: str) -> fields.String:
    return fields.String(
        allow_none=True,
        validate=[validate.Length(max=max_length), _no_control_characters],
        metadata={
            "description": description + "; one line; null or empty clears it",
            "pattern": r"^[^\u0000-\u001f\u007f\u2028\u2029]*$",
        },
    )


class OrganisationPatchSchema(StrictSchema):
    """The organisation's branding; fields left out stay as they are."""

    display_name = _branding_text(NAME_MAX, "the name respondents and sellers read (pages, emails)")
    sender_name = _branding_text(
        120, "the display name of the emails' From header (default: display_name)"
    )
    reply_to = fields.Email(
        allow_none=True,
        validate=validate.Length(max=254),
        metadata={"description": "Reply-To of every email; null clears it"},
    )
    accent_color = fields.String(
        allow_none=True,
        validate=validate.Regexp(r"^#[0-9a-fA-F]{6}$", error="must be a colour like #1d4ed8"),
        metadata={"description": "#rrggbb; null clears it"},
    )
    privacy_url = fields.String(
        allow_none=True,
        validate=[
            validate.Length(max=2000),
            validate.Regexp(_WEB_ADDRESS, error="Not a valid URL."),
        ],
        metadata={
            "description": "the privacy notice respondents can read (http or https); null clears it",
            "pattern": _WEB_ADDRESS,
        },
    )
    contact_name = _branding_text(NAME_MAX, "who respondents can ask about the survey")
    contact_email = fields.Email(
        allow_none=True,
        validate=validate.Length(max=254),
        metadata={"description": "where respondents can ask; null clears it"},
    )


class OrganisationSchema(Schema):
    id = fields.String()
    name = fields.String(metadata={"description": "the internal name (API keys, CLI --org)"})
    display_name = fields.String(allow_none=True)
    sender_name = fields.String(allow_none=True)
    reply_to = fields.String(allow_none=True)
    accent_color = fields.String(allow_none=True)
    privacy_url = fields.String(allow_none=True)
    contact_name = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    shown_name = fields.String(
        allow_none=True,
        metadata={
            "description": "the name respondents read: display_name, else the organisation's "
            "own name unless it is the internal `default` (then none: a neutral phrase)"
        },
    )
    logo_url = fields.String(
        allow_none=True,
        metadata={"description": "the logo's public path (PUT /api/v1/organisation/logo)"},
    )


# --- roster ------------------------------------------------------------------------------


class RosterRowSchema(StrictSchema):
    """One contact–seller assignment as JSON; values are checked further row by row."""

    account_id = fields.String(required=True, validate=validate.Length(max=1000))
    account_name = fields.String(required=True, validate=validate.Length(max=1000))
    annual_revenue = StrictNumber(required=True)
    contact_email = fields.String(required=True, validate=validate.Length(max=1000))
    contact_name = fields.String(required=True, validate=validate.Length(max=1000))
    contact_role = fields.String(required=True, validate=validate.Length(max=1000))
    seller_email = fields.String(required=True, validate=validate.Length(max=1000))
    seller_name = fields.String(required=True, validate=validate.Length(max=1000))
    language = fields.String(allow_none=True, validate=validate.Length(max=1000))
    segment = fields.String(allow_none=True, validate=validate.Length(max=1000))


# The example roster of the OpenAPI document: one account, two buyer contacts, one seller.
ROSTER_EXAMPLE_ROWS = (
    {
        "account_id": "A-1",
        "account_name": "Acme",
        "annual_revenue": 1_000_000,
        "contact_email": "joe@acme.example",
        "contact_name": "Joe Buyer",
        "contact_role": "decision_maker",
        "seller_email": "sue@vendor.example",
        "seller_name": "Sue Seller",
    },
    {
        "account_id": "A-1",
        "account_name": "Acme",
        "annual_revenue": 1_000_000,
        "contact_email": "amy@acme.example",
        "contact_name": "Amy Buyer",
        "contact_role": "user",
        "seller_email": "sue@vendor.example",
        "seller_name": "Sue Seller",
    },
)
ROSTER_EXAMPLE_CSV = "\r\n".join(
    [",".join(ROSTER_EXAMPLE_ROWS[0])]
    + [",".join(str(value) for value in row.values()) for row in ROSTER_EXAMPLE_ROWS]
)

ROSTER_MAX_ROWS = 200_000


class RosterBodySchema(StrictSchema):
    rows = fields.List(
        fields.Nested(RosterRowSchema),
        required=True,
        validate=validate.Length(max=ROSTER_MAX_ROWS),
        # an empty roster is refused with its own message ("the roster has no rows")
        metadata={
            "minItems": 1,
            "description": "at least one row must be valid: bad rows are reported, not imported",
        },
    )


def _a_list_of_rows(value: Any) -> None:
    if not isinstance(value, list):
        raise ValidationError("Not a valid list.")
    if len(value) > ROSTER_MAX_ROWS:
        raise ValidationError(f"Longer than maximum length {ROSTER_MAX_ROWS}.")


class RosterEnvelopeSchema(StrictSchema):
    """RosterBodySchema without checking the rows: the import checks them one by one and
    stops after the first bad ones (100,000 bad rows would make a 50 MB answer)."""

    rows = fields.Raw(required=True, validate=_a_list_of_rows)


class RowErrorSchema(Schema):
    row = fields.Integer(
        metadata={"description": "CSV: the line a spreadsheet shows (header = 1); JSON: 1-based"}
    )
    column = fields.String()
    message = fields.String()


class RosterReportSchema(Schema):
    accounts_created = fields.Integer()
    accounts_updated = fields.Integer()
    contacts_created = fields.Integer()
    contacts_updated = fields.Integer()
    sellers_created = fields.Integer()
    sellers_updated = fields.Integer()
    assignments_created = fields.Integer()
    assignments_updated = fields.Integer()
    assignments_removed = fields.Integer()
    rows_imported = fields.Integer()
    rows_rejected = fields.Integer()
    errors = fields.List(fields.Nested(RowErrorSchema))
    errors_truncated = fields.Boolean()
    warnings = fields.List(
        fields.Nested(RowErrorSchema),
        metadata={"description": "rows imported with a change, e.g. a language not offered"},
    )


# --- waves -------------------------------------------------------------------------------


class WaveCreateSchema(StrictSchema):
    name = _name(required=True)
    closes_at = fields.AwareDateTime(
        required=True, default_timezone=UTC, metadata={"description": "must be in the future"}
    )
    opens_at = fields.AwareDateTime(
        default_timezone=UTC, allow_none=True, metadata={"description": "must be before closes_at"}
    )
    reminder_days = fields.List(
        StrictInteger(validate=validate.Range(min=1, max=365)),
        validate=validate.Length(max=10),
        metadata={"description": "strictly increasing", "uniqueItems": True},
    )

    @validates_schema
    def _check(self, data: dict, **kwargs: Any) -> None:
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if opens is not None and closes is not None and opens >= closes:
            raise ValidationError("must be before closes_at", "opens_at")
        days = data.get("reminder_days")
        if days is not None and any(a >= b for a, b in zip(days, days[1:], strict=False)):
            raise ValidationError("must be strictly increasing, without repeats", "reminder_days")


class LaunchSchema(StrictSchema):
    delivery = fields.String(
        required=True,
        validate=validate.OneOf(["email", "none"]),
        metadata={"description": "email: the notify service sends the invitations"},
    )


class SideCountsSchema(Schema):
    invited = fields.Integer(
        metadata={"description": "everyone invited on this side, except who opted out unanswered"}
    )
    opened = fields.Integer(metadata={"description": "opened their link (at least)"})
    in_progress = fields.Integer()
    completed = fields.Integer()
    opted_out = fields.Integer(
        metadata={"description": "opted out of survey email before completing (not in invited)"}
    )


class WaveCountsSchema(Schema):
    buyers = fields.Nested(SideCountsSchema)
    sellers = fields.Nested(SideCountsSchema)


class WaveSchema(Schema):
    id = fields.String(attribute="_id")
    program_id = fields.String()
    name = fields.String()
    status = fields.String(
        metadata={"description": "draft, launching, open, closing or closed"},
    )
    opens_at = fields.DateTime(allow_none=True)
    closes_at = fields.DateTime()
    reminder_days = fields.List(fields.Integer())
    delivery = fields.String(allow_none=True)
    created_at = fields.DateTime()
    launched_at = fields.DateTime(allow_none=True)
    closing_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    scored_at = fields.DateTime(allow_none=True)
    invited_buyers = fields.Integer(allow_none=True)
    invited_sellers = fields.Integer(allow_none=True)
    counts = fields.Nested(WaveCountsSchema)


class LaunchReportSchema(Schema):
    wave_id = fields.String()
    status = fields.String()
    invited_buyers = fields.Integer()
    invited_sellers = fields.Integer()
    events_published = fields.Integer()
    events_pending = fields.Integer(
        metadata={"description": "invitation events left in the outbox for the relay"}
    )
    opted_out = fields.Integer(
        metadata={"description": "people who had opted out of survey email: not in invited_*"}
    )


class LinkSchema(Schema):
    email = fields.String()
    name = fields.String()
    side = fields.String()
    language = fields.String(allow_none=True)
    url = fields.String()
    token = fields.String(metadata={"description": "the link's token, for the respondent API"})


class LinkListSchema(Schema):
    items = fields.List(fields.Nested(LinkSchema))
