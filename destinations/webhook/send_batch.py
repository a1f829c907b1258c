"""Send batch: many events in one request, the body a JSON array of their mapped ``data``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from destkit import Action, BatchResult, Context, field

from .send import ALL_CALLS
from .settings import Settings


class Payload(BaseModel):
    data: dict[str, Any] = field(
        default_mapping={"@path": "$."},
        description="One element of the JSON array; the whole event unless mapped otherwise.",
    )


async def perform_batch(ctx: Context[Settings], payloads: list[Payload]) -> Sequence[BatchResult]:
    await ctx.http.post("", json=[payload.data for payload in payloads])
    return [None] * len(payloads)


action = Action(
    slug="send_batch",
    title="Send batch",
    description="Send events in batches, each request a JSON array of up to batch_size bodies.",
    payload=Payload,
    perform_batch=perform_batch,
    default_trigger=ALL_CALLS,
    batch_size=100,
)
