"""What a dry run answers in Target's place, so every request of a flow gets printed."""

from __future__ import annotations

import httpx

_PROFILE = b'{"visitorId": "dry-run", "profileAttributes": {}}'
_UPDATED = b"<response><success>true</success></response>"
_COMPLETE = b"<response><batchId>dry-run</batchId><status>complete</status><failedUpdates>0</failedUpdates></response>"


def _answer(body: bytes) -> httpx.Response:
    return httpx.Response(200, stream=httpx.ByteStream(body))  # read by the runtime, like a real answer


def dry_run_answer(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path.startswith("/rest/v1/profiles/"):
        return _answer(_PROFILE)
    if path.endswith("/v2/profile/batchUpdate"):
        client = path.split("/")[2]
        status = f"{request.url.scheme}://{request.url.host}/m2/{client}/profile/batchStatus?batchId=dry-run"
        return httpx.Response(
            200, content=f"<response><success>true</success><batchStatus>{status}</batchStatus></response>".encode()
        )
    if path.endswith("/profile/batchStatus"):
        return _answer(_COMPLETE)
    if path.endswith("/profile/update"):
        return _answer(_UPDATED)
    return _answer(b"{}")
