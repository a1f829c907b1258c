"""Requests as actions make them: built cheaply, yet exactly as httpx would build them, and
answers read whatever shape their body arrives in."""

from __future__ import annotations

import gzip
import random
from typing import Any

import httpx
import pytest

from destkit.http import RequestDefaults, Requester
from destkit.wire import read_in_memory

BASE = "https://api.example.com/v1"
DEFAULTS = RequestDefaults(base_url=BASE, headers={"Authorization": "Bearer t0k", "X-Client": "acme"})


async def sent_by_requester(method: str, url: str, defaults: RequestDefaults = DEFAULTS, **kwargs: Any) -> httpx.Request:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    await Requester(httpx.MockTransport(answer), defaults).request(method, url, **kwargs)
    return seen[0]


def built_by_httpx(method: str, url: str, defaults: RequestDefaults = DEFAULTS, **kwargs: Any) -> httpx.Request:
    """httpx's own construction, with the destination's headers under the call's (by name, in any case)."""
    headers = httpx.Headers({"User-Agent": "destkit", **defaults.headers})
    for name, value in kwargs.pop("headers", {}).items():
        headers[name] = value  # replaces a header of that name where it stood
    base = defaults.base_url or ""
    full = url if "://" in url else f"{base}/{url.lstrip('/')}" if url else base
    return httpx.Request(method, full, headers=headers, **kwargs)


CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/profiles/42?client=acme", {}),
    ("get", "profiles/42", {}),
    ("GET", "", {}),
    ("POST", "/events", {"json": {"name": "Zoë", "n": [1, 2.5, None], "ok": True}}),
    ("POST", "/events", {"json": []}),
    ("POST", "/events", {}),
    ("PUT", "/events/1", {"content": b""}),
    ("POST", "/form?mbox3rdPartyId=u1", {"content": "profile.a=1&profile.b=%26", "headers": {"Content-Type": "x/y"}}),
    ("DELETE", "/events/1", {"content": b"raw bytes"}),
    ("PATCH", "/events/1", {"json": {"a": 1}, "headers": {"content-type": "application/merge-patch+json"}}),
    ("GET", "/x", {"headers": {"authorization": "Bearer other", "X-Extra": "1"}}),
    ("GET", "/x", {"headers": {"Authorization": "Bearer other", "x-client": "other"}}),
    ("POST", "https://other.example.org:8443/hook", {"json": {"a": 1}, "headers": {"Content-Length": "7"}}),
    ("POST", "/events", {"headers": {"Host": "virtual.example.com"}}),
    ("PUT", "/events/1", {"headers": {"X-Request-Id": "r1"}}),
    ("GET", "/search", {"params": {"q": "a b", "page": 2}}),
    ("POST", "/form", {"data": {"a": "1", "b": ["x", "y"]}}),
]


@pytest.mark.parametrize(("method", "url", "kwargs"), CASES)
async def test_a_request_is_what_httpx_itself_would_build(method: str, url: str, kwargs: dict[str, Any]) -> None:
    ours = await sent_by_requester(method, url, **kwargs)
    theirs = built_by_httpx(method, url, **dict(kwargs))
    assert (ours.method, str(ours.url)) == (theirs.method, str(theirs.url))
    assert ours.headers.raw == theirs.headers.raw  # names, their case and their order
    assert ours.content == theirs.content
    assert b"".join(ours.stream) == theirs.content  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "/profiles/u1?client=acme&profile.a=Acme%20%3D%20Co",
        "/profiles/u1?profile.name=Zo%C3%AB&x=%7e",
        "/profiles/u 1?q=a b",  # spaces: quoted by httpx
        "/profiles/Zoë?q=é",
        "/p?bad=%zz&also=%4",  # stray percent signs: quoted by httpx
        "/p?a=[1]&b={2}|^",
        "/p?",
        "https://other.example.org/x?y=1",
    ],
)
async def test_a_url_is_what_httpx_would_parse(url: str) -> None:
    ours = await sent_by_requester("GET", url)
    theirs = httpx.URL(url if "://" in url else BASE + url)
    assert (ours.url.raw_path, ours.url.host, str(ours.url)) == (theirs.raw_path, theirs.host, str(theirs))


@pytest.mark.parametrize("url", ["/p?next=http://other.example.org/", "/p/http://other.example.org", "p?u=a://b"])
async def test_a_relative_url_holding_a_scheme_later_on_stays_on_the_base_host(url: str) -> None:
    sent = await sent_by_requester("GET", url)
    assert sent.url.host == httpx.URL(BASE).host


@pytest.mark.parametrize("name", ["Authorization", "authorization", "AUTHORIZATION"])
async def test_a_header_of_the_call_replaces_the_destinations_whatever_its_case(name: str) -> None:
    sent = await sent_by_requester("GET", "/x", headers={name: "Bearer other"})
    assert sent.headers.get_list("authorization") == ["Bearer other"]


async def test_each_request_gets_headers_of_its_own() -> None:
    first = await sent_by_requester("GET", "/a", headers={"X-One": "1"})
    second = await sent_by_requester("GET", "/b")
    assert "x-one" in first.headers and "x-one" not in second.headers
    assert second.extensions["timeout"]["read"] == 10.0


def replying(response: httpx.Response) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: response)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"visitorId": "v"}),  # read when made
        httpx.Response(200, headers={"Content-Type": "application/json"}, stream=httpx.ByteStream(b'{"visitorId":"v"}')),
        httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(gzip.compress(b'{"visitorId":"v"}'))),
    ],
    ids=["read", "in memory", "compressed"],
)
async def test_an_answer_is_read_whatever_its_body(response: httpx.Response) -> None:
    answer = await Requester(replying(response), DEFAULTS).get("/p")
    assert answer.json() == {"visitorId": "v"}
    assert answer.is_stream_consumed and answer.is_closed
    assert answer.request.url == "https://api.example.com/v1/p"


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b'{"a": "\xc3\xa9"}', {"Content-Type": "application/json"}),
        (b"caf\xe9", {"Content-Type": "text/plain; charset=latin-1"}),
        (b"", {}),
    ],
)
def test_reading_in_memory_leaves_what_httpx_read_leaves(body: bytes, headers: dict[str, str]) -> None:
    fast = httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))
    slow = httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))
    assert read_in_memory(fast)
    slow.read()
    assert (fast.content, fast.text, fast.is_stream_consumed, fast.is_closed) == (
        slow.content,
        slow.text,
        slow.is_stream_consumed,
        slow.is_closed,
    )


def test_a_streamed_or_compressed_answer_is_left_to_httpx() -> None:
    compressed = httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(gzip.compress(b"x")))
    assert not read_in_memory(compressed)
    streamed = httpx.Response(200, stream=httpx.AsyncByteStream())
    assert not read_in_memory(streamed)


async def test_random_requests_are_what_httpx_would_build() -> None:
    """Many combinations of method, path, call headers and body, drawn with a fixed seed."""
    rng = random.Random(20261123)
    names = ["Content-Type", "content-length", "Host", "X-Trace", "authorization", "Accept", "user-agent"]
    values = ["1", "text/plain", "virtual.example.com", "Bearer xyz", "a b"]
    bodies: list[dict[str, Any]] = [
        {},
        {"json": {"k": "v", "n": [1, None, 2.5]}},
        {"json": "just a string"},
        {"content": b""},
        {"content": b"raw"},
        {"content": "text é"},
    ]
    for _ in range(300):
        method = rng.choice(["GET", "POST", "PUT", "PATCH", "DELETE", "post"])
        url = rng.choice(["", "/a", "/a/b?x=1&y=%20", "c?d=e", "https://other.example.org:8443/z"])
        kwargs = dict(rng.choice(bodies))
        if rng.random() < 0.5:
            picked = rng.sample(names, rng.randint(1, 3))
            kwargs["headers"] = {name: rng.choice(values) for name in picked}
            if "content-length" in kwargs["headers"]:
                kwargs["headers"]["content-length"] = "3"
        ours = await sent_by_requester(method, url, **kwargs)
        theirs = built_by_httpx(method, url, **dict(kwargs))
        where = f"{method} {url!r} {kwargs}"
        assert (ours.method, str(ours.url)) == (theirs.method, str(theirs.url)), where
        assert ours.headers.raw == theirs.headers.raw, where
        assert ours.content == theirs.content, where
