"""Send custom event: one occurrence of a custom behavioral event, one call per event.

``POST /events/v3/send`` with the event's internal name (``pe<Hub ID>_<name>``), the contact
it happened to (email, usertoken or record id), when, and its properties; HubSpot answers 204.
With ``portal_id`` in the settings, a track event's name becomes the internal name
('Order Completed' is ``pe<Hub ID>_order_completed``), and property names take HubSpot's form
(``orderId`` is ``order_id``). The occurrence's ``uuid`` comes from the messageId, so an event
sent again (a retry, a replay) stays one occurrence.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from pydantic import BaseModel

from destkit import Action, Context, PayloadValidationError, field

from .fields import first_of
from .settings import Settings

PATH = "/events/v3/send"
MAX_PROPERTIES = 50
MAX_NAME = 50
_QUALIFIED = re.compile(r"^pe\d+_[a-z0-9_]+$")
_PROPERTY = re.compile(r"^[a-z][a-z0-9_]*$")


def internal_name(text: str) -> str:
    """HubSpot's form of a name: lower case, words joined by underscores (``orderId`` is ``order_id``)."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return re.sub(r"[^A-Za-z0-9]+", "_", words).strip("_").lower()


class Payload(BaseModel):
    event_name: str = field(
        default_mapping={"@path": "$.event"},
        description="The event: its internal name (pe<Hub ID>_<name>), or a name such as 'Order Completed' that "
        "becomes one with portal_id in the settings.",
        min_length=1,
        max_length=200,
    )
    email: str | None = field(
        default=None,
        default_mapping=first_of("$.properties.email", "$.context.traits.email", "$.traits.email"),
        description="The contact's email (one of email, utk and object_id says whose event it is).",
    )
    utk: str | None = field(default=None, description="HubSpot's usertoken for the visitor (its hubspotutk cookie).")
    object_id: str | None = field(default=None, description="The id of the HubSpot record the event happened to.")
    occurred_at: str | None = field(
        default=None, default_mapping={"@path": "$.timestamp"}, description="When it happened (ISO 8601); now if absent."
    )
    properties: dict[str, Any] = field(
        default_mapping={"@path": "$.properties"},
        default_factory=dict,
        description="Event properties, at most 50; names take HubSpot's form (orderId is order_id) and each value is "
        "a single string, number or boolean (nulls are left out).",
    )
    uuid: str | None = field(
        default=None,
        default_mapping={"@path": "$.messageId"},
        description="Identifies the occurrence, so one sent twice counts once: the messageId unless mapped.",
    )


def _event_name(name: str, portal_id: int | None) -> str:
    if _QUALIFIED.match(name):
        return name
    if portal_id is None:
        raise PayloadValidationError(
            f"event_name: {name!r} is not an internal name (pe<Hub ID>_<name>): set portal_id in the settings, "
            "or map event_name to the event's internal name"
        )
    return f"pe{portal_id}_{internal_name(name)}"


def _properties(given: dict[str, Any]) -> dict[str, str | int | float | bool]:
    properties: dict[str, str | int | float | bool] = {}
    for name, value in given.items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            raise PayloadValidationError(
                f"properties.{name}: HubSpot event properties hold single values, not a {type(value).__name__} "
                "(map the properties to send, or encode this one with @json)"
            )
        key = internal_name(name)
        if not _PROPERTY.match(key) or len(key) > MAX_NAME:
            raise PayloadValidationError(
                f"properties.{name}: HubSpot needs a name of at most {MAX_NAME} characters that starts with a letter"
            )
        properties[key] = value
    if len(properties) > MAX_PROPERTIES:
        raise PayloadValidationError(f"properties: {len(properties)} of them; HubSpot takes at most {MAX_PROPERTIES} per event")
    return properties


def _occurrence_id(value: str) -> str:
    """A UUID for the occurrence: the value itself when it is one, else one made from it, always the same."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"destkit:message:{value}"))


async def perform(ctx: Context[Settings], payload: Payload) -> None:
    body: dict[str, Any] = {
        "eventName": _event_name(payload.event_name, ctx.settings.portal_id),
        "properties": _properties(payload.properties),
    }
    who = {"email": payload.email, "utk": payload.utk, "objectId": payload.object_id}
    body.update({key: value for key, value in who.items() if value})
    if len(body) == 2:
        raise PayloadValidationError("no contact to record the event for: map email, utk or object_id")
    if payload.occurred_at:
        body["occurredAt"] = payload.occurred_at
    if payload.uuid:
        body["uuid"] = _occurrence_id(payload.uuid)
    await ctx.http.post(PATH, json=body)


action = Action(
    slug="send_custom_event",
    title="Send custom event",
    description="Record a custom behavioral event on a contact's timeline, one call per event.",
    payload=Payload,
    perform=perform,
    default_trigger='type = "track"',
)
