"""A local Adobe Target: the profile APIs as the reference documents them, on 127.0.0.1.

What it does, endpoint by endpoint (``{c}`` is any client code):

- ``GET /rest/v1/profiles/thirdPartyId/{id}?client={c}``: 200 with the profile, or 404 with
  Adobe's body. A profile created by the bulk or Delivery API stays invisible here for
  ``visibility_delay`` seconds, as new profiles do in Target.
- ``GET|POST /m2/{c}/profile/update?mbox3rdPartyId=..&profile.name=value``: updates a visible
  profile. For an unknown or not yet visible one it still answers "submitted" and drops the
  update (Adobe documents only that no profile is created; this is the sandbox's choice, and
  why destkit checks first). 400 for a name over 128 or a value over 256 characters, 414 for
  a GET query over 8 KB, 413 for a POST over 60 KB.
- ``POST /m2/{c}/v2/profile/batchUpdate`` (form field ``batch``: a CSV, ``thirdPartyId`` or
  ``pcId`` first) and ``GET /m2/{c}/profile/batchStatus?batchId=..[&showDetails=true]``: creates
  missing profiles; a batch completes after ``batch_seconds``. With ``showDetails`` the status
  lists every row (``<row><thirdPartyId/><status>updated|created|failed</status><message/></row>``),
  which Adobe does not document: a sandbox choice. Over 50 bulk calls a minute: 503.
- ``POST /rest/v1/delivery?client={c}&sessionId=..``: creates or updates the profile from
  ``execute.pageLoad.profileParameters`` (at most 50); 400 for a bad session id; 420 past 100
  concurrent requests of one session.
- With ``bearer_token`` set, every API call needs ``Authorization: Bearer <token>`` (else 401).
- Faults: ``fault_rate`` of API calls answer 500, 503 or 429 (the last two with
  ``Retry-After``, 1 s unless ``fault_retry_after`` says otherwise); ``latency_ms`` delays
  every answer; ``seed`` makes both repeatable.
- Inspection: ``GET /_sandbox/profiles/{id}`` (404 if none) and ``GET /_sandbox/stats``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import random
import re
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

from starlette.types import ASGIApp

from destkit.testing import LoopbackServer, RecordedRequest, Reply

from .sandbox_profiles import SandboxProfile, load_profiles

__all__ = ["AdobeTargetSandbox", "SandboxProfile", "SANDBOX_OPTIONS", "start_sandbox", "load_profiles"]

MAX_NAME, MAX_VALUE = 128, 256
GET_QUERY_LIMIT, POST_LIMIT = 8 * 1024, 60 * 1024
BATCH_LIMIT = 50 * 1024 * 1024  # the largest body Target takes (a bulk CSV); the server refuses more with 413
BULK_CALLS_PER_MINUTE = 50
DELIVERY_PARAMETERS = 50
SESSION_CONCURRENCY = 100
_SESSION_ID = re.compile(r"^[!-~]{1,128}$")
_SESSION_FORBIDDEN = set("?{}/")


class _Markup(str):
    """XML already escaped (rows of a status), put into an answer as it is."""


def _element(name: str, value: Any) -> str:
    return f"<{name}>{value if isinstance(value, _Markup) else escape(str(value))}</{name}>"


def _row(third_party_id: str, status: str, message: str) -> str:
    cells = _element("thirdPartyId", third_party_id) + _element("status", status) + _element("message", message)
    return _element("row", _Markup(cells))


def _xml(http_status: int = 200, /, **fields: Any) -> Reply:
    inner = "".join(_element(name, value) for name, value in fields.items())
    return Reply(http_status, f"<response>{inner}</response>", {"Content-Type": "application/xml"})


def _xml_error(status: int, message: str) -> Reply:
    return _xml(status, success="false", message=message)


def _json_error(status: int, message: str) -> Reply:
    return Reply(status, {"status": status, "message": message})


#: endpoint name, path pattern, methods
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("profile_fetch", re.compile(r"^/rest/v1/profiles/thirdPartyId/(?P<id>[^/]+)$"), "GET"),
    ("profile_update", re.compile(r"^/m2/(?P<client>[^/]+)/profile/update$"), "GET POST"),
    ("batch_update", re.compile(r"^/m2/(?P<client>[^/]+)/v2/profile/batchUpdate$"), "POST"),
    ("batch_status", re.compile(r"^/m2/(?P<client>[^/]+)/(?:v2/)?profile/batchStatus$"), "GET"),
    ("delivery", re.compile(r"^/rest/v1/delivery$"), "POST"),
    ("inspect_profile", re.compile(r"^/_sandbox/profiles/(?P<id>[^/]+)$"), "GET"),
    ("inspect_stats", re.compile(r"^/_sandbox/stats$"), "GET"),
)


@dataclass
class _Batch:
    batch_id: str
    done_at: float
    rows: list[tuple[str, str, str]]  # (id, status, message)


class AdobeTargetSandbox:
    """The sandbox's state and HTTP answers; ``with AdobeTargetSandbox(...) as sandbox:`` serves it."""

    def __init__(
        self,
        *,
        profiles: str | Path | list[Any] | None = None,
        visibility_delay: float = 0.0,
        fault_rate: float = 0.0,
        latency_ms: float = 0.0,
        seed: int | None = None,
        bearer_token: str | None = None,
        batch_seconds: float = 0.2,
        fault_retry_after: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError("fault_rate is a fraction between 0 and 1")
        self.visibility_delay = visibility_delay
        self.fault_rate = fault_rate
        self.latency = latency_ms / 1000.0
        self.bearer_token = bearer_token
        self.batch_seconds = batch_seconds
        self.fault_retry_after = fault_retry_after
        self.clock = clock
        self.rng = random.Random(seed)
        self.profiles: dict[str, SandboxProfile] = {}
        self.stats: Counter[tuple[str, int]] = Counter()
        self.dropped_updates = 0
        self._batches: dict[str, _Batch] = {}
        self._bulk_calls: deque[float] = deque()
        self._sessions: Counter[str] = Counter()
        self._tnt = itertools.count(1)
        self.server = LoopbackServer(self.handle, host=host, port=port, record=False, max_body=BATCH_LIMIT)
        for third_party_id, attributes in load_profiles(profiles or []):
            self.add_profile(third_party_id, attributes)

    # --- running --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def app(self) -> ASGIApp:
        """The sandbox as an ASGI application, to use in-process through ``httpx.ASGITransport``."""
        return self.server.app

    def __enter__(self) -> AdobeTargetSandbox:
        self.server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.stop()

    async def serve_forever(self) -> None:
        await self.server.serve_forever()

    # --- state ----------------------------------------------------------------------------------

    def add_profile(
        self, third_party_id: str, attributes: dict[str, str] | None = None, *, visible: bool = True
    ) -> SandboxProfile:
        visible_at = self.clock() if visible else self.clock() + self.visibility_delay
        profile = SandboxProfile(third_party_id, f"{next(self._tnt)}.34_0", visible_at)
        if attributes:
            profile.set(attributes.items())
            profile.updates = 0
        self.profiles[third_party_id] = profile
        return profile

    def visible(self, third_party_id: str) -> SandboxProfile | None:
        profile = self.profiles.get(third_party_id)
        return profile if profile is not None and self.clock() >= profile.visible_at else None

    def stats_summary(self) -> dict[str, Any]:
        by_endpoint: dict[str, dict[str, int]] = {}
        for (endpoint, status), count in sorted(self.stats.items()):
            by_endpoint.setdefault(endpoint, {})[str(status)] = count
        return {"requests": by_endpoint, "profiles": len(self.profiles), "dropped_updates": self.dropped_updates}

    # --- HTTP -----------------------------------------------------------------------------------

    async def handle(self, request: RecordedRequest) -> Reply:
        path = urlsplit(request.target).path
        route = next(((name, found, methods) for name, pattern, methods in _ROUTES if (found := pattern.match(path))), None)
        if route is None:
            return _json_error(404, f"no such endpoint: {request.method} {path}")
        endpoint, match, methods = route
        if request.method not in methods.split():
            return _json_error(405, f"{request.method} is not allowed on {path}")
        reply = await self._answer(endpoint, {k: unquote(v) for k, v in match.groupdict().items()}, request)
        self.stats[(endpoint, reply.status)] += 1
        return reply

    async def _answer(self, endpoint: str, args: dict[str, str], request: RecordedRequest) -> Reply:
        if endpoint.startswith("inspect_"):
            return self._inspect_profile(args["id"]) if endpoint == "inspect_profile" else Reply(200, self.stats_summary())
        if self.latency:
            await asyncio.sleep(self.latency * (0.5 + self.rng.random()))
        if self.bearer_token is not None and request.headers.get("authorization") != f"Bearer {self.bearer_token}":
            return _json_error(401, "Authentication failed: a valid bearer token is required for profile APIs")
        if self.fault_rate and self.rng.random() < self.fault_rate:
            status = self.rng.choice((500, 503, 429))
            headers = {"Retry-After": f"{self.fault_retry_after:g}"} if status != 500 else {}
            return Reply(status, {"status": status, "message": "injected fault"}, headers)
        handler = getattr(self, f"_{endpoint}")
        reply: Reply = handler(args, request)
        return reply

    def _inspect_profile(self, third_party_id: str) -> Reply:
        profile = self.profiles.get(third_party_id)
        if profile is None:
            return _json_error(404, f"no profile with mbox3rdPartyId {third_party_id}")
        return Reply(
            200,
            {
                "mbox3rdPartyId": profile.third_party_id,
                "tntId": profile.tnt_id,
                "visible": self.clock() >= profile.visible_at,
                "attributes": {name: value for name, (value, _) in profile.attributes.items()},
                "updates": profile.updates,
            },
        )

    def _profile_fetch(self, args: dict[str, str], request: RecordedRequest) -> Reply:
        client = request.query.get("client", [""])[0]
        profile = self.visible(args["id"])
        if profile is None:
            return _json_error(404, f"No profile found for client {client} with third party id={args['id']}")
        attributes = {name: {"value": value, "modifiedAt": stamp} for name, (value, stamp) in profile.attributes.items()}
        body = {"client": client, "visitorId": profile.tnt_id, "modifiedAt": profile.modified_at, "profileAttributes": attributes}
        return Reply(200, body)

    def _profile_update(self, args: dict[str, str], request: RecordedRequest) -> Reply:
        query = urlsplit(request.target).query
        if request.method == "GET" and len(query) > GET_QUERY_LIMIT:
            return _xml_error(414, f"query of {len(query)} bytes is over the {GET_QUERY_LIMIT}-byte limit for GET")
        if request.method == "POST" and len(request.body) > POST_LIMIT:
            return _xml_error(413, f"body of {len(request.body)} bytes is over the {POST_LIMIT}-byte limit for POST")
        params = parse_qsl(query, keep_blank_values=True)
        if request.method == "POST":
            params += parse_qsl(request.body.decode("utf-8", errors="replace"), keep_blank_values=True)
        third_party_id = next((value for name, value in params if name == "mbox3rdPartyId"), "")
        if not third_party_id:
            return _xml_error(400, "mbox3rdPartyId is required")
        values = [(name[len("profile.") :], value) for name, value in params if name.startswith("profile.")]
        problem = self._check_attributes(values)
        if problem:
            return _xml_error(400, problem)
        profile = self.visible(third_party_id)
        if profile is None:
            self.dropped_updates += 1
        else:
            profile.set(values)
        return _xml(success="true", message="Request successfully submitted")

    @staticmethod
    def _check_attributes(values: list[tuple[str, str]]) -> str | None:
        for name, value in values:
            if not name or len(name) > MAX_NAME:
                return f"attribute name {name[:40]!r} must be 1 to {MAX_NAME} characters"
            if len(value) > MAX_VALUE:
                return f"value of {name} is {len(value)} characters; the limit is {MAX_VALUE}"
        return None

    def _over_bulk_limit(self) -> Reply | None:
        now = self.clock()
        while self._bulk_calls and self._bulk_calls[0] <= now - 60:
            self._bulk_calls.popleft()
        if len(self._bulk_calls) >= BULK_CALLS_PER_MINUTE:
            wait = max(1, int(self._bulk_calls[0] + 60 - now) + 1)
            reply = _xml_error(503, "Too many requests: the bulk API allows 50 calls per minute")
            reply.headers["Retry-After"] = str(wait)
            return reply
        self._bulk_calls.append(now)
        return None

    def _batch_update(self, args: dict[str, str], request: RecordedRequest) -> Reply:
        limited = self._over_bulk_limit()
        if limited:
            return limited
        form = dict(parse_qsl(request.body.decode("utf-8", errors="replace"), keep_blank_values=True))
        rows = list(csv.reader(io.StringIO(form.get("batch", ""))))
        if not rows or rows[0][:1] not in (["thirdPartyId"], ["pcId"]):
            return _xml_error(400, "the batch must be a CSV whose first column is thirdPartyId or pcId")
        if len(rows) - 1 > 500_000:
            return _xml_error(400, "a batch holds at most 500,000 rows")
        names = [name.removeprefix("profile.") for name in rows[0][1:]]
        results = []
        for row in rows[1:]:
            third_party_id, values = (row[0] if row else ""), list(zip(names, row[1:], strict=False))
            values = [(name, value) for name, value in values if value != ""]  # empty cells are ignored
            problem = "empty id" if not third_party_id else self._check_attributes(values)
            if problem:
                results.append((third_party_id, "failed", problem))
                continue
            profile = self.profiles.get(third_party_id)
            status = "updated"
            if profile is None:
                profile = self.add_profile(third_party_id, visible=False)
                status = "created"
            profile.set(values)
            results.append((third_party_id, status, ""))
        batch = _Batch(uuid.uuid4().hex[:12], self.clock() + self.batch_seconds, results)
        self._batches[batch.batch_id] = batch
        client = args["client"]
        status_url = f"{self.url}/m2/{client}/profile/batchStatus?batchId={batch.batch_id}"
        return _xml(success="true", batchStatus=status_url, message="Batch submitted for processing")

    def _batch_status(self, args: dict[str, str], request: RecordedRequest) -> Reply:
        limited = self._over_bulk_limit()
        if limited:
            return limited
        batch = self._batches.get(request.query.get("batchId", [""])[0])
        if batch is None:
            return _xml_error(404, "unknown batchId")
        complete = self.clock() >= batch.done_at
        fields: dict[str, Any] = {
            "batchId": batch.batch_id,
            "status": "complete" if complete else "incomplete",
            "batchSize": len(batch.rows),
        }
        if complete and request.query.get("showDetails", ["false"])[0] == "true":
            counts = Counter(status for _, status, _ in batch.rows)
            fields.update(
                consumedCount=len(batch.rows),
                successfulUpdates=counts["updated"] + counts["created"],
                profilesNotFound=counts["created"],
                failedUpdates=counts["failed"],
                details=_Markup("".join(_row(tid, status, message) for tid, status, message in batch.rows)),
            )
        return _xml(**fields)

    def _delivery(self, args: dict[str, str], request: RecordedRequest) -> Reply:
        session = request.query.get("sessionId", [""])[0]
        if not _SESSION_ID.match(session) or _SESSION_FORBIDDEN & set(session):
            return _json_error(400, "sessionId must be 1 to 128 printable characters without space, ?, {, } or /")
        if self._sessions[session] >= SESSION_CONCURRENCY:
            return _json_error(420, "Too many requests with same session ID")
        try:
            body = json.loads(request.body)
            third_party_id = body["id"]["thirdPartyId"]
            parameters = body.get("execute", {}).get("pageLoad", {}).get("profileParameters", {}) or {}
        except (ValueError, KeyError, TypeError, AttributeError):
            return _json_error(400, "the body needs id.thirdPartyId and may carry execute.pageLoad.profileParameters")
        if not isinstance(third_party_id, str) or not third_party_id:
            return _json_error(400, "id.thirdPartyId must be a non-empty string")
        if len(parameters) > DELIVERY_PARAMETERS:
            return _json_error(400, f"at most {DELIVERY_PARAMETERS} profileParameters per call, got {len(parameters)}")
        values = [(str(name), value if isinstance(value, str) else json.dumps(value)) for name, value in parameters.items()]
        problem = self._check_attributes(values)
        if problem:
            return _json_error(400, problem)
        profile = self.profiles.get(third_party_id) or self.add_profile(third_party_id, visible=False)
        if values:
            profile.set(values)
        client = request.query.get("client", [""])[0]
        answer = {
            "status": 200,
            "requestId": uuid.uuid4().hex,
            "client": client,
            "id": {"tntId": profile.tnt_id, "thirdPartyId": third_party_id},
            "execute": {"pageLoad": {}},
        }
        return Reply(200, answer)


#: What a destination's ``sandbox:`` entry may set (destkit checks it against these before starting).
SANDBOX_OPTIONS = frozenset({"profiles", "visibility_delay", "fault_rate", "latency_ms", "seed"})


@contextmanager
def start_sandbox(settings: dict[str, Any], options: dict[str, Any], base_dir: Path) -> Iterator[dict[str, Any]]:
    """The Adobe Target destination's ``--sandbox``: serve a sandbox; yield the settings to change.

    ``options`` come from the destination's ``sandbox:`` entry in the config: ``profiles``
    (a file, relative to the config, or a list), ``visibility_delay``, ``fault_rate``,
    ``latency_ms``, ``seed``. A configured bearer token is required by the sandbox too.
    """
    profiles = options.get("profiles")
    if isinstance(profiles, str):
        profiles = base_dir / profiles
    token = settings.get("bearer_token")
    sandbox = AdobeTargetSandbox(
        profiles=profiles,
        visibility_delay=float(options.get("visibility_delay", 0)),
        fault_rate=float(options.get("fault_rate", 0)),
        latency_ms=float(options.get("latency_ms", 0)),
        seed=options.get("seed"),
        bearer_token=token if isinstance(token, str) and token else None,
    )
    with sandbox:
        yield {"base_url": sandbox.url}
