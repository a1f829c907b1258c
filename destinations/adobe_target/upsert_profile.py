"""Upsert profile: set attributes through Target's Delivery API, which creates missing profiles.

For visitors with no web integration (nothing has created their profile), this is the
answer to ``PROFILE_NOT_FOUND``. The call is a server-side page load for the visitor, with
``profileParameters`` (at most 50 per call: more are sent in several calls). Its
``sessionId`` is derived from the visitor's id, so one visitor keeps one session.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel

from destkit import Action, Context, field

from .profile import MAX_ID, check_id, profile_attributes
from .update_profile import USER_OR_ANONYMOUS_ID

PARAMETERS_PER_CALL = 50


class Payload(BaseModel):
    mbox3rdPartyId: str = field(
        default_mapping=USER_OR_ANONYMOUS_ID,
        description="The visitor's id in Target: the userId, else the anonymousId.",
        max_length=MAX_ID,
    )
    traits: dict[str, Any] = field(
        description="Profile attributes to set (no default mapping: map $.traits or chosen traits).",
    )


def session_id(third_party_id: str) -> str:
    """Stable per visitor, and only characters the Delivery API accepts."""
    return hashlib.sha256(third_party_id.encode()).hexdigest()[:32]


async def perform(ctx: Context[Any], payload: Payload) -> None:
    third_party_id = check_id(payload.mbox3rdPartyId)
    attributes = profile_attributes(payload.traits)
    params = {"client": ctx.settings.client_code, "sessionId": session_id(third_party_id)}
    for start in range(0, len(attributes), PARAMETERS_PER_CALL):
        chunk = dict(attributes[start : start + PARAMETERS_PER_CALL])
        body = {
            "id": {"thirdPartyId": third_party_id},
            "context": {"channel": "web"},
            "execute": {"pageLoad": {"profileParameters": chunk}},
        }
        await ctx.http.post("/rest/v1/delivery", params=params, json=body)


action = Action(
    slug="upsert_profile",
    title="Upsert profile",
    description="Set attributes through the Delivery API, creating the profile when it is missing.",
    payload=Payload,
    perform=perform,
    default_trigger='type = "identify"',
)
