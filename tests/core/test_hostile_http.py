"""Generated hostile requests against every HTTP route of serve and of the sandboxes, on real
uvicorn servers on 127.0.0.1: whatever arrives, no 500, no traceback, memory bounded.

Bodies: JSON of any shape near the events' (wrong types, missing and extra fields, a write key
of any type), raw bytes, deep nesting, NaN/Infinity/1e999, huge integers, lone surrogates; headers:
good, wrong and malformed credentials, gzip that is not, and declared lengths far over any cap.
Derandomized and bounded (examples per route, a deadline per example), so CI is stable.
"""

from __future__ import annotations

import base64
import json
import logging
import resource
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from destkit.destinations.adobe_target.sandbox import AdobeTargetSandbox
from destkit.destinations.hubspot.sandbox import HubSpotSandbox
from destkit.service import Service
from destkit.testing import LoopbackServer
from tests.rawhttp import exchange

KEY = "wk-fuzz-0123456789"
TOKEN = "edge-fuzz-0123456789"
HUBSPOT_TOKEN = "pat-fuzz-0123456789"
EXAMPLES = settings(
    max_examples=40,
    deadline=10_000,  # generous on a loaded machine: a hang, not a slow moment, should fail it
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def basic(user: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:".encode()).decode()


class Troubles(logging.Handler):
    """Every record with a traceback, or at ERROR and above, from any server in this process."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)


class Servers:
    def __init__(self, folder: Path) -> None:
        config = {
            "serve": {"write_keys": [KEY], "edge_tokens": [TOKEN]},
            "destinations": [
                {"name": "hook", "type": "webhook", "settings": {"url": "http://127.0.0.1:9/never"}},
                {"name": "cp", "type": "custom-personalization-with-attributes", "settings": {"datastream_id": "web"}},
            ],
        }
        self.service = Service(config, state=str(folder / "state.db"), grace=1, deliver=False)
        self.serve = LoopbackServer(app=self.service.app)
        self.target = AdobeTargetSandbox(profiles=[{"mbox3rdPartyId": "u1", "attributes": {"plan": "pro"}}])
        self.hubspot = LoopbackServer(app=HubSpotSandbox(private_tokens=[HUBSPOT_TOKEN]).app)
        self.client = httpx.Client(timeout=5)  # one connection per server, kept alive

    def __enter__(self) -> Servers:
        self.serve.start()
        self.target.__enter__()
        self.hubspot.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.close()
        self.hubspot.stop()
        self.target.__exit__()
        self.serve.stop()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with Servers(tmp_path_factory.mktemp("hostile")) as running:
        yield running


@pytest.fixture(scope="module")
def troubles() -> Iterator[Troubles]:
    handler = Troubles()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


# (server, method, path) for every route; a path with {id} gets a generated segment.
ROUTES = [
    *(("serve", "POST", f"/v1/{kind}") for kind in ("identify", "track", "page", "screen", "group", "alias", "batch", "import")),
    ("serve", "POST", "/ee/v2/interact?dataStreamId=web"),
    ("serve", "POST", "/ee/v2/interact"),
    ("serve", "GET", "/healthz"),
    ("serve", "GET", "/metrics"),
    ("target", "GET", "/rest/v1/profiles/thirdPartyId/{id}"),
    ("target", "POST", "/m2/acme/profile/update?mbox3rdPartyId={id}"),
    ("target", "POST", "/m2/acme/v2/profile/batchUpdate"),
    ("target", "GET", "/m2/acme/profile/batchStatus?batchId={id}"),
    ("target", "POST", "/rest/v1/delivery?client=acme&sessionId={id}"),
    ("target", "GET", "/_sandbox/profiles/{id}"),
    ("target", "GET", "/_sandbox/stats"),
    ("hubspot", "POST", "/crm/v3/objects/contacts/batch/upsert"),
    ("hubspot", "GET", "/crm/v3/objects/contacts?limit={id}"),
    ("hubspot", "POST", "/events/v3/send"),
    ("hubspot", "POST", "/oauth/v3/token"),
    ("hubspot", "GET", "/_sandbox/contacts"),
    ("hubspot", "GET", "/_sandbox/contacts/{id}"),
    ("hubspot", "GET", "/_sandbox/events"),
    ("hubspot", "GET", "/_sandbox/stats"),
    ("hubspot", "POST", "/_sandbox/expire-tokens"),
]
NAMES = [f"{server} {method} {path}" for server, method, path in ROUTES]

FIELDS = [
    "type", "userId", "anonymousId", "event", "traits", "properties", "context", "writeKey", "write_key", "timestamp",
    "sentAt", "messageId", "batch", "events", "xdm", "identityMap", "id", "primary", "inputs", "idProperty", "eventName",
    "objectWriteTraceId", "mbox3rdPartyId", "profile", "grant_type", "refresh_token",
]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats()  # NaN and the infinities included: the JSON below carries them as NaN, Infinity
    | st.text(max_size=20)
    | st.sampled_from(["identify", "track", "page", "group", "alias", "u1", KEY, "", "1970-01-01T00:00:00Z", "9999-12-31"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=5),
    max_leaves=25,
)
shaped = st.dictionaries(st.sampled_from(FIELDS), values, max_size=7)
documents = shaped | st.builds(lambda items: {"batch": items}, st.lists(shaped, max_size=4)) | values
NASTY = [b"NaN", b"-Infinity", b"1e999", b'"\\ud800"', b'"\\udfff x"', b"1" + b"0" * 5000, b"[" * 3000, b"{" * 50]


def spliced(document: bytes, nasty: bytes) -> bytes:
    """A hostile token in place of the first value of ``document`` (or the whole of it)."""
    at = document.find(b": ")
    return document[: at + 2] + nasty + document[at + 2 :] if at >= 0 else nasty


def dumped(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


bodies = st.one_of(
    documents.map(dumped),
    st.tuples(documents.map(dumped), st.sampled_from(NASTY)).map(lambda pair: spliced(*pair)),
    st.integers(min_value=1, max_value=5000).map(lambda n: b'{"userId": "u1", "properties": ' + b"[" * n + b"]" * n + b"}"),
    st.binary(max_size=300),
)
visible = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.strip)
credentials = st.sampled_from(
    [basic(KEY), basic("wk-wrong"), "Basic !!!", "Basic " + base64.b64encode(b"\xff\xfe:").decode(), f"Bearer {TOKEN}",
     f"Bearer {HUBSPOT_TOKEN}", "Bearer", "Bearer wrong", ""]
) | visible  # fmt: skip
headers = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": credentials,
        "Content-Encoding": st.sampled_from(["gzip", "deflate", "identity"]),
        "Content-Type": st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]) | visible,
    },
)
segments = st.text(max_size=30).map(lambda text: quote(text, safe="", errors="surrogatepass"))


def target_of(servers: Servers, route: tuple[str, str, str], segment: str) -> tuple[str, str]:
    server, method, path = route
    base = {"serve": servers.serve.url, "target": servers.target.url, "hubspot": servers.hubspot.url}[server]
    return method, base + path.replace("{id}", segment or "x")


def no_trouble(answer_status: int, troubles: Troubles, what: str) -> None:
    # 503 is a designed answer (a full inbox, the Target sandbox's bulk rate limit); 500 is a crash.
    assert answer_status < 500 or answer_status == 503, what
    assert not troubles.records, [record.getMessage() for record in troubles.records]


@pytest.mark.parametrize("route", ROUTES, ids=NAMES)
def test_no_generated_request_gets_a_500_or_a_traceback(
    servers: Servers, troubles: Troubles, route: tuple[str, str, str]
) -> None:
    @EXAMPLES
    @given(body=bodies, sent_headers=headers, segment=segments)
    def one(body: bytes, sent_headers: dict[str, str], segment: str) -> None:
        method, url = target_of(servers, route, segment)
        content = body if method == "POST" else None
        answer = servers.client.request(method, url, content=content, headers=sent_headers)
        no_trouble(answer.status_code, troubles, f"{method} {url} {body[:200]!r} {sent_headers}")

    one()


@pytest.mark.parametrize("route", [route for route in ROUTES if route[1] == "POST"], ids=[n for n in NAMES if " POST " in n])
def test_a_declared_length_over_any_cap_is_answered_without_waiting_for_the_body(
    servers: Servers, troubles: Troubles, route: tuple[str, str, str]
) -> None:
    @EXAMPLES
    @given(declared=st.integers(min_value=2**30, max_value=2**62), authorization=credentials)
    def one(declared: int, authorization: str) -> None:
        _, url = target_of(servers, route, "x")
        target = url.split("/", 3)[3]
        head = f"POST /{target} HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\nAuthorization: {authorization}\r\n\r\n"
        answer = exchange(url, head.encode())  # the body never comes: an answer must anyway
        status = int(answer.split(b" ", 2)[1])
        no_trouble(status, troubles, f"{url} Content-Length {declared}")

    one()


def test_memory_stays_bounded_while_hostile_requests_arrive(servers: Servers) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    deep = b'{"batch": [' + b"[" * 3000 + b"]" * 3000 + b"]}"
    for n in range(40):
        big_types = {"batch": [{"type": f"{n}-{i}-" + "t" * 20_000, "userId": "u", "event": "e"} for i in range(20)]}
        httpx.post(servers.serve.url + "/v1/batch", content=deep, headers={"Authorization": basic(KEY)}, timeout=5)
        httpx.post(servers.serve.url + "/v1/batch", json=big_types, headers={"Authorization": basic(KEY)}, timeout=5)
        httpx.post(servers.serve.url + "/ee/v2/interact?dataStreamId=web", content=b" " * 200_000 + bytes([n % 256]), timeout=5)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 100 * 1024
    assert len(httpx.get(servers.serve.url + "/metrics").content) < 20_000
