"""Update profile: set attributes on an existing Target profile (single profile update API).

Target's update API answers "submitted" whether or not the profile exists, and silently
drops updates for profiles it does not have. So the profile is fetched first: a missing one
is reported as ``PROFILE_NOT_FOUND`` (retryable on a slow schedule) instead of being lost.
"""

from __future__ import annotations

import string
from urllib.parse import quote

from destkit import Action, BadRequest, Context, PayloadValidationError

from .profile import ProfileNotFound, ProfilePayload, check_id, profile_attributes
from .settings import Settings

#: Target's limits on one update: 8 KB of query for GET, 60 KB for a POST.
GET_LIMIT = 8 * 1024
POST_LIMIT = 60 * 1024


_UNRESERVED = frozenset(string.ascii_letters + string.digits + "_.~-")


def _quote(text: str) -> str:
    return text if _UNRESERVED.issuperset(text) else quote(text, safe="")  # most names need nothing


def encode(pairs: list[tuple[str, str]]) -> str:
    """Percent-encode every name and value: '&', '=', '+' and spaces arrive intact."""
    return "&".join(f"{_quote(name)}={_quote(value)}" for name, value in pairs)


async def require_profile(ctx: Context[Settings], third_party_id: str) -> None:
    """Ask Target's profile API for the profile; ProfileNotFound when there is none."""
    settings = ctx.settings
    path = f"/rest/v1/profiles/thirdPartyId/{{mbox3rdPartyId}}?client={quote(settings.client_code, safe='')}"
    response = await ctx.http.get(path, path_params={"mbox3rdPartyId": third_party_id}, raise_for_status=False)
    if response.status_code == 404:
        raise ProfileNotFound(third_party_id, settings.client_code)
    if not response.is_success:
        raise ctx.http.classify(response)


async def perform(ctx: Context[Settings], payload: ProfilePayload) -> None:
    third_party_id = check_id(payload.mbox3rdPartyId)
    attributes = [(f"profile.{name}", value) for name, value in profile_attributes(payload.traits)]
    await require_profile(ctx, third_party_id)
    path = "/m2/{client_code}/profile/update"
    client = {"client_code": ctx.settings.client_code}
    query = encode([("mbox3rdPartyId", third_party_id), *attributes])
    if len(query) <= GET_LIMIT:
        response = await ctx.http.get(f"{path}?{query}", path_params=client)
    else:
        body = encode(attributes)
        if len(body) > POST_LIMIT:
            raise PayloadValidationError(
                f"traits: {len(body)} bytes once encoded; Adobe Target accepts at most {POST_LIMIT} in one update"
            )
        response = await ctx.http.post(
            f"{path}?{encode([('mbox3rdPartyId', third_party_id)])}",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            path_params=client,
        )
    if b"<success>false</success>" in response.content:
        raise BadRequest(f"Adobe Target refused the update: {response.text.strip()[:200]}", status=response.status_code)


action = Action(
    slug="update_profile",
    title="Update profile",
    description="Set attributes on an existing visitor profile; a missing profile is PROFILE_NOT_FOUND.",
    payload=ProfilePayload,
    perform=perform,
    default_trigger='type = "identify"',
)
