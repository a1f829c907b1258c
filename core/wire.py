"""Building httpx requests the cheap way, and reading answers already in memory.

Plugins see httpx's objects (``httpx.Request``, ``httpx.Response``); building them through
httpx's constructors costs more than the rest of a dry-run request. This module builds the
same objects from parts prepared once (per-host headers, the base URL's parsed form), and
``tests/core/test_http.py`` holds its results equal to httpx's own.
"""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import httpx
from pydantic_core import to_json

__all__ = ["headers_from_raw", "RequestBuilder", "merged", "read_in_memory", "USER_AGENT"]

#: A path and query that need no quoting: unreserved and sub-delimiter characters, ":@/?",
#: and percent-escapes (checked apart: one character class is far quicker to match).
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: A full URL starts with a scheme; "://" later on (in a query, say) does not make one.
_FULL_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")


def _already_encoded(url: str) -> bool:
    return _URL_CHARACTERS.fullmatch(url) is not None and ("%" not in url or _STRAY_PERCENT.search(url) is None)


def _parts_of(base: str) -> tuple[Any, str]:
    """httpx's parsed form of a base URL without query or fragment, and its path; (None, "")
    when there is no usable base or httpx does not keep a parsed form we recognise."""
    if not base:
        return None, ""
    parsed = httpx.URL(base)
    parts = getattr(parsed, "_uri_reference", None)
    if parts is None or not hasattr(parts, "_replace") or parsed.query or parsed.fragment:
        return None, ""
    return parts, parsed.raw_path.decode("ascii").rstrip("/")


USER_AGENT = "destkit"

_NO_BODY = httpx.ByteStream(b"")
_BODY_METHODS = ("POST", "PUT", "PATCH")


def _encode_json(value: Any) -> bytes:
    """A JSON body as httpx encodes one: compact, UTF-8, no NaN or Infinity (a ValueError).

    pydantic-core encodes it about five times faster than the standard library; the two agree
    but on how a tiny exponent is spelt (``1e-7`` for ``1e-07``, the same number). It writes
    NaN and Infinity where JSON has none, so a body that may hold one is encoded again by the
    standard library, which refuses them."""
    body = to_json(value)
    if b"NaN" in body or b"Infinity" in body:
        return jsonlib.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return body


def _probe_body_filling() -> bool:
    """Whether this httpx keeps a read body where :func:`read_in_memory` puts it (checked once,
    at import; if not, httpx's own read is used)."""
    try:
        probe = httpx.Response(200, headers={"Content-Type": "application/json"}, stream=httpx.ByteStream(b"{}"))
        probe._content = b"{}"
        probe.is_stream_consumed = probe.is_closed = True
        return probe.content == b"{}" and probe.json() == {} and probe.text == "{}"
    except Exception:  # any surprise means: use httpx's own read
        return False


_CAN_FILL = _probe_body_filling()


def read_in_memory(response: httpx.Response) -> bool:
    """Read a response whose whole body is already in memory (an ``httpx.ByteStream`` with no
    content encoding), without httpx's streaming machinery; False if it is not such a response.

    A dry-run answer or a ``MockTransport`` reply is one; httpx's async read of it costs more
    than everything else about a dry-run request. What is left is exactly what ``read()``
    leaves: the body, a consumed and closed stream.
    """
    stream = response.stream
    if type(stream) is not httpx.ByteStream or "content-encoding" in response.headers:
        return False
    if not _CAN_FILL:
        response.read()
        return True
    response._content = b"".join(stream)
    response.is_stream_consumed = response.is_closed = True
    return True


def _fast_headers(raw: Iterable[tuple[bytes, bytes]]) -> httpx.Headers:
    headers = httpx.Headers()
    headers._list = [(name, name.lower(), value) for name, value in raw]
    return headers


def _probe_fast_headers() -> bool:
    """Whether :func:`_fast_headers` builds what httpx's own constructor builds (checked once,
    at import; if not, httpx's constructor is used)."""
    raw = [(b"Content-Type", b"application/json"), (b"X-Twice", b"1"), (b"x-twice", b"2")]
    try:
        fast, slow = _fast_headers(raw), httpx.Headers(raw)
        return fast.raw == slow.raw and fast.multi_items() == slow.multi_items() and fast == slow
    except Exception:  # any surprise means: use httpx's constructor
        return False


_FAST_HEADERS = _probe_fast_headers()


def headers_from_raw(raw: Iterable[tuple[bytes, bytes]]) -> httpx.Headers:
    """httpx headers from the raw (name, value) byte pairs of an answer, as httpx would build
    them: without its per-header normalizing calls, which bytes do not need."""
    return _fast_headers(raw) if _FAST_HEADERS else httpx.Headers(list(raw))


def merged(headers: httpx.Headers, extra: Mapping[str, str]) -> httpx.Headers:
    """``headers`` with ``extra`` laid over them: a name given again (in any case) replaces
    the earlier value where it stood, as one header, not two."""
    result = headers.copy()
    for name, value in extra.items():
        result[name] = value
    return result


class RequestBuilder:
    """httpx requests to one base URL with one set of default headers, built the cheap way."""

    def __init__(self, base_url: str | None, headers: Mapping[str, str]) -> None:
        self._base = (base_url or "").rstrip("/")
        self._headers = httpx.Headers({"User-Agent": USER_AGENT, **headers})
        self._host_headers: dict[bytes, tuple[httpx.Headers, list[tuple[bytes, bytes]], frozenset[bytes]]] = {}
        # Parsing a URL is a noticeable share of the per-request cost; most actions call a
        # handful of URLs over and over.
        self._parsed = lru_cache(maxsize=1024)(self._parse)
        self._base_parts, self._base_path = _parts_of(self._base)

    def set_header(self, name: str, value: str) -> None:
        """Send ``name: value`` on every request from now on (a refreshed credential)."""
        self._headers = merged(self._headers, {name: value})
        self._host_headers.clear()

    def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None,
        headers: Mapping[str, str] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        content: bytes | str | None,
        extensions: dict[str, Any],
    ) -> httpx.Request:
        """The request httpx would build from these arguments."""
        full_url = self.url(url)
        if params is None and data is None and (content is None or isinstance(content, bytes | str)):
            return self._build(method, full_url, headers, json, content, extensions)
        return httpx.Request(  # query parameters and forms: httpx's own encoding
            method,
            full_url,
            params=params,
            headers=merged(self._headers, headers) if headers else self._headers,
            json=json,
            data=data,
            content=content,
            extensions=extensions,
        )

    def url(self, url: str) -> httpx.URL:
        """The full URL of ``url``; relative ones join the base URL.

        httpx checks and re-quotes every character of a URL in Python, which is a large part
        of a request's cost when URLs differ per event (an id in the path, a query). A URL
        made only of characters RFC 3986 allows unescaped is what httpx's parse would give
        back unchanged, so it is built from the base URL's parsed parts directly; anything
        else (or an httpx whose internals differ) takes httpx's own parse.
        """
        if "?" not in url:
            return self._parsed(url)  # the same few URLs again and again: cached
        if self._base_parts is not None and url.startswith("/") and _already_encoded(url):
            path, _, query = url.partition("?")
            built = httpx.URL.__new__(httpx.URL)
            built._uri_reference = self._base_parts._replace(path=self._base_path + path, query=query)
            return built
        return httpx.URL(self.url_for(url))

    def url_for(self, url: str) -> str:
        """``url`` joined to the base URL unless it is a full URL."""
        if not self._base or _FULL_URL.match(url):
            return url
        if not url:
            return self._base
        return f"{self._base}/{url.lstrip('/')}"

    def _parse(self, url: str) -> httpx.URL:
        return httpx.URL(self.url_for(url))

    def _build(
        self,
        method: str,
        url: httpx.URL,
        headers: Mapping[str, str] | None,
        json: Any,
        content: bytes | str | None,
        extensions: dict[str, Any],
    ) -> httpx.Request:
        """The request httpx would build from these arguments, built the cheap way.

        httpx's constructor re-checks and re-encodes every header and prepares the body in
        several steps; given a ready ``stream`` it takes the request as it is. So the headers
        are prepared here as httpx prepares them (Host first, then the destination's and the
        call's headers, then the body's length and type) from a per-host copy made once.
        ``tests/core/test_http.py`` holds the two constructions equal.
        """
        method = method.upper()
        if json is not None:
            body, content_type = _encode_json(json), b"application/json"
        elif content is not None:
            body, content_type = content.encode("utf-8") if isinstance(content, str) else content, None
        else:
            body, content_type = b"", None
        if headers:
            given = merged(self._headers, headers).raw
            lower = frozenset(name.lower() for name, _ in given)
            host = [] if b"host" in lower else [(b"Host", url.netloc)]
            ready: httpx.Headers | None = None
            raw = [*host, *given]
        else:  # the same Host and headers for most requests: prepared once per host
            ready, raw, lower = self._for_host(url)
            host = raw[:1]
        if body or json is not None:
            extra = [] if b"content-length" in lower else [(b"Content-Length", str(len(body)).encode())]
            if content_type is not None and b"content-type" not in lower:
                extra.append((b"Content-Type", content_type))
            ready = None if extra else ready
            raw = [*raw, *extra]
        elif method in _BODY_METHODS and b"content-length" not in lower:
            # An empty body's length goes right after the Host httpx adds, before the headers.
            ready, raw = None, [*host, (b"Content-Length", b"0"), *raw[len(host) :]]
        request = httpx.Request(
            method,
            url,
            headers=ready if ready is not None else headers_from_raw(raw),  # all bytes: no normalizing needed
            stream=httpx.ByteStream(body) if body else _NO_BODY,
            extensions=extensions,
        )
        request.read()  # the body in memory, as httpx's own construction leaves it
        return request

    def _for_host(self, url: httpx.URL) -> tuple[httpx.Headers, list[tuple[bytes, bytes]], frozenset[bytes]]:
        """Host, then the destination's headers (names as given): as ready headers, as raw
        pairs, and the lowercase names they hold."""
        netloc = url.netloc
        prepared = self._host_headers.get(netloc)
        if prepared is None:
            raw = [(b"Host", netloc), *self._headers.raw]
            prepared = (httpx.Headers(raw), raw, frozenset(name.lower() for name, _ in raw))
            if len(self._host_headers) < 64:  # a destination talks to a few hosts
                self._host_headers[netloc] = prepared
        return prepared
