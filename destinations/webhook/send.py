"""Send: one HTTP request per event, its body the mapped ``data`` as JSON."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from destkit import Action, Context, field
from destkit.urlpaths import RelativePath

from .settings import Settings

ALL_CALLS = " or ".join(f'type = "{t}"' for t in ("identify", "track", "page", "screen", "group", "alias"))


class Payload(BaseModel):
    data: dict[str, Any] = field(
        default_mapping={"@path": "$."},
        description="The JSON body; the whole event unless mapped otherwise.",
    )
    method: Literal["POST", "PUT", "PATCH"] = field(default="POST", description="The HTTP method.")
    path: RelativePath = field(
        default="",
        description="Appended to the destination's URL (e.g. /orders); empty for the URL itself. A path only: "
        "it cannot name another scheme, host or port, nor climb out of the URL with '..'.",
    )


async def perform(ctx: Context[Settings], payload: Payload) -> None:
    await ctx.http.request(payload.method, payload.path, json=payload.data)


action = Action(
    slug="send",
    title="Send",
    description="Send each event to the webhook URL as a JSON body.",
    payload=Payload,
    perform=perform,
    default_trigger=ALL_CALLS,
)
