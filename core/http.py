"""HTTP for actions: httpx requests and responses, sent on one pooled transport per runtime.

The API plugins see is httpx's (``httpx.Request``, ``httpx.Response``; tests hand in
``httpx.MockTransport``). Two choices come from measurement (``benchmarks/delivery.py``, 32
concurrent POSTs to a loopback server on the project's 2-core machine):

- the default transport is aiohttp's, through ``httpx-aiohttp``: httpx's own async pool
  managed ~580 requests/s, against ~3,800 over the aiohttp transport;
- requests go straight to the transport, not through ``httpx.AsyncClient``, whose per-request
  machinery (redirects, cookies, auth flows, hooks; destkit uses none of them) cost another
  ~40%: ~3,900 requests/s through the client, ~6,200 without it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import httpx

from .errors import DeliveryError, error_for_response, error_for_transport_failure
from .plugin import RequestDefaults

__all__ = ["DEFAULT_TIMEOUT", "make_transport", "Requester"]

#: A path and query that need no quoting: unreserved and sub-delimiter characters, ":@/?",
#: and percent-escapes.
_ALREADY_ENCODED = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*")


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


DEFAULT_TIMEOUT = 10.0
USER_AGENT = "destkit"


def make_transport(max_connections: int = 100) -> httpx.AsyncBaseTransport:
    """The runtime's shared, pooled transport."""
    from httpx_aiohttp import AiohttpTransport

    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    transport: httpx.AsyncBaseTransport = AiohttpTransport(limits=limits)
    return transport


class Requester:
    """The shared transport seen through one destination's defaults and error reading.

    Relative URLs join the destination's base URL; its headers go on every request. A
    non-2xx answer raises the destination's :class:`DeliveryError` unless
    ``raise_for_status=False``; so does a request that got no answer. Redirects are not
    followed: a destination API that redirects is reported, not chased.
    """

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        defaults: RequestDefaults | None = None,
        classify: Callable[[httpx.Response], DeliveryError] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.transport = transport
        self.defaults = defaults or RequestDefaults()
        self.classify = classify or error_for_response
        self.timeout = timeout
        self._base = (self.defaults.base_url or "").rstrip("/")
        self._headers = httpx.Headers({"User-Agent": USER_AGENT, **self.defaults.headers})
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        # Parsing a URL is a noticeable share of the per-request cost; most actions call a
        # handful of URLs over and over.
        self._parsed = lru_cache(maxsize=1024)(self._parse)
        self._base_parts, self._base_path = _parts_of(self._base)

    def _url(self, url: str) -> httpx.URL:
        """The full URL of ``url``; relative ones join the base URL.

        httpx checks and re-quotes every character of a URL in Python, which is a large part
        of a request's cost when URLs differ per event (an id in the path, a query). A URL
        made only of characters RFC 3986 allows unescaped is what httpx's parse would give
        back unchanged, so it is built from the base URL's parsed parts directly; anything
        else (or an httpx whose internals differ) takes httpx's own parse.
        """
        if "?" not in url:
            return self._parsed(url)  # the same few URLs again and again: cached
        if self._base_parts is not None and url.startswith("/") and _ALREADY_ENCODED.fullmatch(url):
            path, _, query = url.partition("?")
            built = httpx.URL.__new__(httpx.URL)
            built._uri_reference = self._base_parts._replace(path=self._base_path + path, query=query)
            return built
        return httpx.URL(self.url_for(url))

    def url_for(self, url: str) -> str:
        if "://" in url or not self._base:
            return url
        if not url:
            return self._base
        return f"{self._base}/{url.lstrip('/')}"

    def _parse(self, url: str) -> httpx.URL:
        return httpx.URL(self.url_for(url))

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | str | None = None,
        timeout: float | None = None,
        raise_for_status: bool = True,
    ) -> httpx.Response:
        full_url = self._url(url)
        extensions = self._extensions if timeout is None else {"timeout": httpx.Timeout(timeout).as_dict()}
        request = httpx.Request(
            method,
            full_url,
            params=params,
            headers=httpx.Headers({**self._headers, **headers}) if headers else self._headers,
            json=json,
            data=data,
            content=content,
            extensions=extensions,
        )
        try:
            response = await self.transport.handle_async_request(request)
            if not response.is_stream_consumed:
                try:
                    await response.aread()
                finally:
                    await response.aclose()
        except httpx.TransportError as exc:
            raise error_for_transport_failure(exc, method, full_url.path) from None
        response.request = request
        if raise_for_status and not response.is_success:
            raise self.classify(response)
        return response

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)
