"""The Segment spec's six calls as pydantic models, and the check every event passes on entry.

Validation happens once, on the raw dict, and unknown fields are kept. Mappings and triggers
then run on the raw dict, never on the model, because reading a dict is much cheaper.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from .errors import InvalidEvent

__all__ = [
    "EventType",
    "BaseEvent",
    "IdentifyEvent",
    "TrackEvent",
    "PageEvent",
    "ScreenEvent",
    "GroupEvent",
    "AliasEvent",
    "Event",
    "EVENT_TYPES",
    "validate_event",
    "ordering_key",
]

EventType = Literal["identify", "track", "page", "screen", "group", "alias"]
EVENT_TYPES: tuple[str, ...] = ("identify", "track", "page", "screen", "group", "alias")

_MESSAGE_ID_MAX = 100


def _no_nul(value: str | None) -> str | None:
    # An identifier is a key in the state store: PostgreSQL text cannot hold a NUL, and SQLite's
    # JSON functions end a string at one, so two ids differing after it would be one.
    if value is not None and "\x00" in value:
        raise ValueError("must not contain a NUL character (\\u0000)")
    return value


#: An identifier of the event or its person, without NUL characters.
_Identifier = Annotated[str | None, AfterValidator(_no_nul)]


class BaseEvent(BaseModel):
    """Fields common to every call. Unknown fields are kept, as Segment keeps them."""

    model_config = ConfigDict(extra="allow")

    type: EventType
    messageId: _Identifier = Field(default=None, max_length=_MESSAGE_ID_MAX)
    timestamp: datetime | None = None
    sentAt: datetime | None = None
    receivedAt: datetime | None = None
    originalTimestamp: datetime | None = None
    userId: _Identifier = None
    anonymousId: _Identifier = None
    context: dict[str, Any] = Field(default_factory=dict)
    integrations: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _someone(self) -> BaseEvent:
        if not self.userId and not self.anonymousId:
            raise ValueError("needs a userId or an anonymousId")
        return self


class IdentifyEvent(BaseEvent):
    type: Literal["identify"]
    traits: dict[str, Any] = Field(default_factory=dict)


class TrackEvent(BaseEvent):
    type: Literal["track"]
    event: str = Field(min_length=1)
    properties: dict[str, Any] = Field(default_factory=dict)


class PageEvent(BaseEvent):
    type: Literal["page"]
    name: str | None = None
    category: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class ScreenEvent(BaseEvent):
    type: Literal["screen"]
    name: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class GroupEvent(BaseEvent):
    type: Literal["group"]
    groupId: str = Field(min_length=1)
    traits: dict[str, Any] = Field(default_factory=dict)


class AliasEvent(BaseEvent):
    type: Literal["alias"]
    previousId: str = Field(min_length=1)


Event = Annotated[
    IdentifyEvent | TrackEvent | PageEvent | ScreenEvent | GroupEvent | AliasEvent,
    Field(discriminator="type"),
]
_event_adapter: TypeAdapter[Any] = TypeAdapter(Event)


def validate_event(raw: Any) -> dict[str, Any]:
    """Check ``raw`` against the Segment spec and return it, with a ``messageId`` when it lacked one.

    Raises :class:`InvalidEvent` whose message names the field at fault. The returned dict is
    ``raw`` itself (not a copy); the model is only a check.
    """
    if not isinstance(raw, dict):
        raise InvalidEvent(f"an event must be a JSON object, not {_json_kind(raw)}")
    kind = raw.get("type")
    if kind not in EVENT_TYPES:
        if kind is None:
            raise InvalidEvent("type: missing (expected one of " + ", ".join(EVENT_TYPES) + ")")
        raise InvalidEvent(f"type: unknown call type {kind!r} (expected one of {', '.join(EVENT_TYPES)})")
    try:
        _event_adapter.validate_python(raw)
    except ValidationError as exc:
        raise InvalidEvent(f"{kind}: {_describe(exc)}") from None
    if not raw.get("messageId"):
        raw["messageId"] = derived_message_id(raw)
    return raw


def derived_message_id(raw: dict[str, Any]) -> str:
    """A stable id for an event that came without one, so replaying it twice is recognised."""
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    return "dk-" + digest[:40]


def ordering_key(raw: dict[str, Any]) -> str:
    """Events sharing this key are delivered in arrival order: the person they describe."""
    return str(raw.get("userId") or raw.get("anonymousId") or "")


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        # The discriminated union puts the call type first in the location; it is said already.
        loc = [str(p) for p in error["loc"][1:]]
        where = ".".join(loc)
        message = error["msg"]
        if error["type"] == "missing":
            message = "missing"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__
