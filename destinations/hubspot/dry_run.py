"""What a dry run answers in HubSpot's place, so every step of a flow is printed."""

from __future__ import annotations

import json

import httpx


def dry_run_answer(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path.endswith("/oauth/v3/token"):
        return httpx.Response(200, json={"access_token": "dry-run", "refresh_token": "dry-run", "expires_in": 1800})
    if path.endswith("/batch/upsert"):  # every input upserted, each answered under its trace id
        inputs = json.loads(request.content or b"{}").get("inputs", [])
        results = [
            {"id": f"dry-run-{n}", "objectWriteTraceId": item.get("objectWriteTraceId"), "properties": {}, "new": False}
            for n, item in enumerate(inputs)
        ]
        return httpx.Response(200, json={"status": "COMPLETE", "results": results})
    if path.endswith("/events/v3/send"):
        return httpx.Response(204)
    return httpx.Response(200, json={"results": []})
