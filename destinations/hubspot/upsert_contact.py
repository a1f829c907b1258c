"""Upsert contact: create or update contacts by email, or by a custom property of unique values.

One call to CRM v3's batch upsert (``POST /crm/v3/objects/contacts/batch/upsert``) per batch
of up to 100 contacts. Every input carries an ``objectWriteTraceId``, which makes HubSpot
answer per input (200 when all went through, 207 with ``results`` and ``errors`` when not),
and each event gets its own input's result. Events of one contact in one batch become one
input, the later event's values winning: HubSpot refuses a batch that names an id twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel

from destkit import Action, BatchResult, Context, DeliveryError, PayloadValidationError, field
from destkit.mappings import js_string

from .contacts import read_answer
from .fields import EMAIL, first_of
from .settings import Settings

PATH = "/crm/v3/objects/contacts/batch/upsert"
MAX_INPUTS = 100
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Scalar = str | int | float | bool | None
Key = tuple[str, str]  # (id_property, id_value)


#: HubSpot's default contact properties, from Segment's traits (spec names, and snake_case too).
CONTACT_PROPERTIES = {
    "email": EMAIL,
    "firstname": first_of("$.traits.first_name", "$.traits.firstName"),
    "lastname": first_of("$.traits.last_name", "$.traits.lastName"),
    "phone": {"@path": "$.traits.phone"},
    "company": {"@path": "$.traits.company.name"},
    "jobtitle": {"@path": "$.traits.title"},
    "website": {"@path": "$.traits.website"},
    "address": {"@path": "$.traits.address.street"},
    "city": {"@path": "$.traits.address.city"},
    "state": {"@path": "$.traits.address.state"},
    "zip": first_of("$.traits.address.postalCode", "$.traits.address.postal_code"),
    "country": {"@path": "$.traits.address.country"},
}


class Payload(BaseModel):
    id_property: str = field(
        default="email",
        description="The property that identifies the contact: email, or the internal name of a custom contact "
        "property with unique values (then map id_value onto it, e.g. $.userId).",
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=100,
    )
    id_value: str = field(
        default_mapping=EMAIL,
        description="The contact's value of id_property: the email in the traits, the properties or context.traits.",
        min_length=1,
        max_length=1000,
    )
    properties: dict[str, Scalar] = field(
        default_mapping=CONTACT_PROPERTIES,
        default_factory=dict,
        description="Contact properties by internal name (firstname, lifecyclestage, your own...). Values are sent as "
        "HubSpot reads them (true, 3, 19.99); null leaves a property as it is, an empty string clears it.",
    )


def _row(payload: Payload) -> tuple[Key, dict[str, str]]:
    """The input's identity (emails compared without case, as HubSpot does) and its properties."""
    value = payload.id_value.strip()
    if payload.id_property == "email":
        if not _EMAIL.match(value):
            raise PayloadValidationError(f"id_value: {value!r} is not an email address")
        value = value.lower()
    properties = {name: _text(item) for name, item in payload.properties.items() if item is not None}
    return (payload.id_property, value), properties


def _text(value: str | int | float | bool) -> str:
    """A value as HubSpot stores it: text, with numbers and booleans as a person writes them."""
    return value if isinstance(value, str) else js_string(value)


async def _upsert(ctx: Context[Settings], keys: list[Key], rows: dict[Key, dict[str, str]]) -> list[BatchResult]:
    """One batch upsert of up to 100 inputs; one result per key, in order."""
    traces = {str(n): key for n, key in enumerate(keys)}
    inputs = [{"idProperty": key[0], "id": key[1], "properties": rows[key], "objectWriteTraceId": n} for n, key in traces.items()]
    try:
        answer = await ctx.http.post(PATH, json={"inputs": inputs})
    except DeliveryError as error:
        if error.retryable or error.code == "INVALID_AUTHENTICATION":
            raise  # the whole batch is tried again, or the credentials are wrong for all
        return [error] * len(keys)  # HubSpot refused the batch as a whole
    try:
        body = answer.json()
    except ValueError:
        body = {}
    results = read_answer(body, {n: key[1] for n, key in traces.items()})
    return [results[n] for n in traces]


async def perform_batch(ctx: Context[Settings], payloads: list[Payload]) -> Sequence[BatchResult]:
    results: list[BatchResult] = [None] * len(payloads)
    rows: dict[Key, dict[str, str]] = {}
    positions: dict[Key, list[int]] = {}
    for index, payload in enumerate(payloads):
        try:
            key, properties = _row(payload)
        except DeliveryError as error:
            results[index] = error
            continue
        rows.setdefault(key, {}).update(properties)  # a later event of the same contact wins
        positions.setdefault(key, []).append(index)
    keys = list(rows)
    for start in range(0, len(keys), MAX_INPUTS):
        chunk = keys[start : start + MAX_INPUTS]
        for key, result in zip(chunk, await _upsert(ctx, chunk, rows), strict=True):
            for index in positions[key]:
                results[index] = result
    return results


action = Action(
    slug="upsert_contact",
    title="Upsert contact",
    description="Create or update contacts by email (or a unique property), up to 100 per call, each event getting "
    "its own contact's result.",
    payload=Payload,
    perform_batch=perform_batch,
    default_trigger='type = "identify"',
    batch_size=MAX_INPUTS,
)
