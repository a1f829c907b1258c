"""Upsert profile: set attributes through Target's Delivery API, which creates missing profiles.

For visitors with no web integration (nothing has created their profile), this is the
answer to ``PROFILE_NOT_FOUND``. The call is a server-side page load for the visitor, with
``profileParameters`` (at most 50 per call: more are sent in several calls). Its
``sessionId`` is derived from the visitor's id, so one visitor keeps one session.
"""

from __future__ import annotations

import hashlib

from destkit import Action, Context

from .profile import ProfilePayload, check_id, profile_attributes
from .settings import Settings

PARAMETERS_PER_CALL = 50


def session_id(third_party_id: str) -> str:
    """Stable per visitor, and only characters the Delivery API accepts."""
    return hashlib.sha256(third_party_id.encode()).hexdigest()[:32]


async def perform(ctx: Context[Settings], payload: ProfilePayload) -> None:
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
    payload=ProfilePayload,
    perform=perform,
    default_trigger='type = "identify"',
)
