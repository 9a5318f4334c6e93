"""The event envelope."""

from __future__ import annotations

import json

import pytest

from shared.bus import topic_matches
from shared.events import Event, InvalidEvent


def test_envelope_round_trips():
    event = Event("response.completed", {"wave_id": "w1"})
    parsed = Event.from_json(event.to_json())
    assert parsed == event


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda b: b.pop("event_id"), "event_id"),
        (lambda b: b.update(type="Not A Type"), "type"),
        (lambda b: b.update(version=0), "version"),
        (lambda b: b.update(payload=[1, 2]), "payload"),
        (lambda b: b.update(extra=1), "extra"),
        (lambda b: b.update(occurred_at="yesterday"), "occurred_at"),
    ],
)
def test_invalid_envelopes_are_refused_naming_the_field(mutate, field):
    body = json.loads(Event("wave.closed", {}).to_json())
    mutate(body)
    with pytest.raises(InvalidEvent, match=field):
        Event.from_json(json.dumps(body))


def test_garbage_is_an_invalid_event():
    with pytest.raises(InvalidEvent):
        Event.from_json(b"\x00not json")


@pytest.mark.parametrize(
    "binding, key, expected",
    [
        ("response.completed", "response.completed", True),
        ("response.*", "response.completed", True),
        ("response.*", "response.completed.late", False),
        ("wave.#", "wave.closed", True),
        ("#", "anything.at.all", True),
        ("wave.closed", "wave.scored", False),
    ],
)
def test_topic_matching_follows_amqp_rules(binding, key, expected):
    assert topic_matches(binding, key) is expected
