"""Sync profile: audiences as ``sync_audiences`` does, plus the attributes you map."""

from __future__ import annotations

from destkit import Action, Context, field
from destkit.edge import AudiencePayload, EdgeSettings, keep_profile

Scalar = str | int | float | bool | None


class Payload(AudiencePayload):
    attributes: dict[str, Scalar] | None = field(
        default=None,
        description="Attributes to keep (name -> value; null removes one). No default mapping: nothing personal is "
        "kept unless you map it, e.g. {plan: {'@path': '$.traits.plan'}}.",
    )


async def perform(ctx: Context[EdgeSettings], payload: Payload) -> None:
    await keep_profile(ctx, payload, payload.attributes)


action = Action(
    slug="sync_profile",
    title="Sync profile",
    description="Keep each person's audiences and the mapped attributes for profile lookups.",
    payload=Payload,
    perform=perform,
    default_trigger='type = "identify" or event = "Audience Entered" or event = "Audience Exited"',
)
