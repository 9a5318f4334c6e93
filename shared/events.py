"""The event envelope every message on the bus carries, validated with marshmallow."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

ENVELOPE_VERSION = 1

# Event types, named for what happened.
RESPONSE_COMPLETED = "response.completed"
INVITATIONS_CREATED = "invitations.created"
WAVE_CLOSED = "wave.closed"
WAVE_SCORED = "wave.scored"
SCORES_UPDATED = "scores.updated"
RELATIONSHIP_ALERT = "relationship.alert"


class EnvelopeSchema(Schema):
    class Meta:
        unknown = RAISE

    event_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    type = fields.String(
        required=True, validate=validate.Regexp(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
    )
    occurred_at = fields.DateTime(required=True, format="iso")
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    payload = fields.Dict(keys=fields.String(), required=True)


_schema = EnvelopeSchema()


class InvalidEvent(ValueError):
    """A message body that is not a valid event envelope."""


@dataclass(frozen=True)
class Event:
    type: str
    payload: dict[str, Any]
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    version: int = ENVELOPE_VERSION

    def to_json(self) -> bytes:
        """Serialise for the wire."""
        body = _schema.dump(
            {
                "event_id": self.event_id,
                "type": self.type,
                "occurred_at": self.occurred_at,
                "version": self.version,
                "payload": self.payload,
            }
        )
        return json.dumps(body, separators=(",", ":"), default=str).encode()

    @classmethod
    def from_json(cls, body: bytes | str) -> Event:
        """Parse and validate a message body; raises InvalidEvent."""
        try:
            data = _schema.load(json.loads(body))
        except (ValueError, ValidationError) as exc:
            raise InvalidEvent(str(exc)) from exc
        return cls(
            type=data["type"],
            payload=data["payload"],
            event_id=data["event_id"],
            occurred_at=data["occurred_at"],
            version=data["version"],
        )
