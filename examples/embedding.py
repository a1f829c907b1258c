"""Embedding destkit: the Runtime in your own code, and the service mounted in your ASGI router.

    python examples/embedding.py

Both parts deliver to a webhook server this script starts on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from destkit import Runtime
from destkit.service import Service
from destkit.testing import LoopbackServer


def config(url: str) -> dict[str, object]:
    return {
        "serve": {"write_keys": ["wk-example-123456"]},
        "destinations": [{"name": "crm", "type": "webhook", "settings": {"url": url}}],
    }


async def in_process(url: str) -> None:
    """1. An event router delivering events itself: one Runtime, many deliver() calls."""
    async with Runtime(config(url)) as runtime:
        for outcome in await runtime.deliver({"type": "track", "userId": "u1", "event": "Order Completed"}):
            print(f"runtime: {outcome.destination}/{outcome.subscription} {outcome.status} after {outcome.attempts} attempt(s)")


async def mounted(url: str, folder: Path) -> None:
    """2. destkit's tracking API inside another ASGI app, under /segment."""
    service = Service(config(url), state=folder / "state.db")

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        async with service.running():  # a mounted app's lifespan is the parent's to run
            yield

    async def home(request: object) -> PlainTextResponse:
        return PlainTextResponse("the rest of your application")

    app = Starlette(routes=[Route("/", home), Mount("/segment", app=service.app)], lifespan=lifespan)

    async with lifespan(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router")
        async with client:
            answer = await client.post("/segment/v1/identify", json={"userId": "u2", "traits": {"plan": "pro"}},
                                       auth=("wk-example-123456", ""))
            print(f"mounted: POST /segment/v1/identify -> {answer.status_code} {answer.json()}")
            while (await client.get("/segment/healthz")).json()["queue"]:
                await asyncio.sleep(0.05)
            print(f"mounted: {(await client.get('/')).text!r} still answers beside it")


def main() -> None:
    with LoopbackServer() as webhook, tempfile.TemporaryDirectory() as folder:
        asyncio.run(in_process(webhook.url))
        asyncio.run(mounted(webhook.url, Path(folder)))
        print(f"webhook received {len(webhook.requests)} event(s): " + ", ".join(r.json()["type"] for r in webhook.requests))


if __name__ == "__main__":
    main()
