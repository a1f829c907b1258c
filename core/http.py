"""HTTP for actions: httpx requests and responses, sent on one pooled transport per runtime.

The API plugins see is httpx's (``httpx.Request``, ``httpx.Response``; tests hand in
``httpx.MockTransport``). Requests go straight to the transport (:mod:`destkit.transport`, the
project's own pool of HTTP/1.1 connections, the quickest measured in ``benchmarks/delivery.py``),
not through ``httpx.AsyncClient``, whose per-request machinery (redirects, cookies, auth flows,
hooks; destkit uses none of them) would cost more than the rest of the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, Unpack

import httpx

from .errors import DeliveryError, ErrorResponse, error_for_response, error_for_transport_failure
from .urlpaths import expand_path
from .wire import RequestBuilder, read_in_memory

__all__ = ["DEFAULT_TIMEOUT", "make_transport", "Requester", "RequestDefaults", "RequestOptions", "RequestAuth", "QueryParams"]


@dataclass(frozen=True)
class RequestDefaults:
    """Applied to every request an action makes: a base URL for relative paths, and headers."""

    base_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


DEFAULT_TIMEOUT = 10.0


def make_transport(max_connections: int = 100) -> httpx.AsyncBaseTransport:
    """The runtime's shared, pooled transport (:mod:`destkit.transport`)."""
    from .transport import Transport

    return Transport(max_connections=max_connections)


#: Query parameters as httpx takes them: a mapping, or (name, value) pairs for repeated names.
QueryParams = Mapping[str, Any] | list[tuple[str, Any]]


class RequestOptions(TypedDict, total=False):
    """What every ``ctx.http`` method takes besides the URL: httpx's usual arguments.

    ``params``: query parameters, added to any query in the URL. ``headers``: added to (and
    overriding by name) the destination's. ``json``: a body encoded as JSON. ``data``: a form,
    encoded as ``application/x-www-form-urlencoded``. ``content``: a raw body (``str`` is sent
    as UTF-8). ``timeout``: seconds for this request, instead of the runtime's. With
    ``raise_for_status=False`` a non-2xx answer is returned instead of raised.
    ``path_params``: values for the URL's ``{name}`` placeholders, each encoded as exactly one
    path segment (:func:`destkit.urlpaths.path_segment`): give every value from an event this way.
    """

    params: QueryParams | None
    path_params: Mapping[str, Any] | None
    headers: Mapping[str, str] | None
    json: Any
    data: Mapping[str, Any] | None
    content: bytes | str | None
    timeout: float | None
    raise_for_status: bool


class RequestAuth(Protocol):
    """A credential that can change while the runtime runs (an OAuth2 access token): the
    requester asks for its current value before each request, and tells it of a 401."""

    header: str

    async def value(self) -> str:
        """The header's value to send now (refreshed first when known to have expired)."""
        ...

    async def rejected(self, used: str) -> bool:
        """``used`` got a 401: True when a new value is ready, so the request is sent once more."""
        ...


class Requester:
    """``ctx.http``: the runtime's shared transport seen through one destination.

    Relative URLs join the destination's base URL; its headers go on every request (and its
    credential, when its authentication scheme keeps one). A non-2xx answer raises the
    destination's :class:`DeliveryError` (see :meth:`classify`) unless
    ``raise_for_status=False``; a request that got no answer raises one too. Errors keep the
    answer (``error.response``) and never hold a known secret. Redirects are not followed: a
    destination API that redirects is reported, not chased.
    """

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        defaults: RequestDefaults | None = None,
        classify: Callable[[httpx.Response], DeliveryError] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        redact: Callable[[str], str] | None = None,
        auth: RequestAuth | None = None,
    ) -> None:
        self.transport = transport
        self.defaults = defaults or RequestDefaults()
        self._classify = classify or error_for_response
        self.timeout = timeout
        self.redact = redact
        self.auth = auth
        self._credential: str | None = None
        self._wire = RequestBuilder(self.defaults.base_url, self.defaults.headers)
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}

    # --- what actions call ------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | str | None = None,
        timeout: float | None = None,
        raise_for_status: bool = True,
        path_params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one request and read its answer.

        Args:
            method: the HTTP method (``GET``, ``POST``...).
            url: a path joined to the destination's base URL, or a full URL.
            params: query parameters, added to any query ``url`` has.
            headers: added to the destination's headers, replacing those of the same name.
            json: a body, encoded as compact UTF-8 JSON.
            data: a form body (``application/x-www-form-urlencoded``).
            content: a raw body; a ``str`` is sent as UTF-8.
            timeout: seconds this request may take, instead of the runtime's ``timeout``.
            raise_for_status: False to get a non-2xx answer back instead of an error.
            path_params: values for ``{name}`` placeholders in ``url``, each encoded as one
                path segment, so that no value (``..``, ``a/b``, ``?``) can change the path.

        Returns:
            The answer, read (``.json()``, ``.text``, ``.content``, ``.headers``).

        Raises:
            PayloadValidationError: for a path parameter that cannot be a segment (``..``).
            DeliveryError: for a non-2xx answer (as :meth:`classify` reads it) unless
                ``raise_for_status`` is False, and for a request that got no answer
                (``TIMEOUT``, ``CONNECTION_ERROR``; both retryable).
        """
        if path_params is not None:
            url = expand_path(url, path_params)
        if self.auth is None:
            response = await self._exchange(method, url, params, headers, json, data, content, timeout)
        else:
            used = await self._authorize()
            response = await self._exchange(method, url, params, headers, json, data, content, timeout)
            if response.status_code == 401 and await self.auth.rejected(used):
                await self._authorize()  # once: a second 401 is the answer
                response = await self._exchange(method, url, params, headers, json, data, content, timeout)
        if raise_for_status and not response.is_success:
            raise self.classify(response)
        return response

    async def get(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """``GET url``.

        Args:
            url: a path joined to the base URL, or a full URL.
            **options: as :meth:`request` takes them (``params``, ``headers``, ``timeout``...).

        Returns:
            The answer, read.
        """
        return await self.request("GET", url, **options)

    async def post(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """``POST url``, usually with ``json=``, ``data=`` or ``content=``.

        Args:
            url: a path joined to the base URL, or a full URL.
            **options: as :meth:`request` takes them.

        Returns:
            The answer, read.
        """
        return await self.request("POST", url, **options)

    async def put(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """``PUT url``: see :meth:`post`.

        Args:
            url: a path joined to the base URL, or a full URL.
            **options: as :meth:`request` takes them.

        Returns:
            The answer, read.
        """
        return await self.request("PUT", url, **options)

    async def patch(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """``PATCH url``: see :meth:`post`.

        Args:
            url: a path joined to the base URL, or a full URL.
            **options: as :meth:`request` takes them.

        Returns:
            The answer, read.
        """
        return await self.request("PATCH", url, **options)

    async def delete(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """``DELETE url``.

        Args:
            url: a path joined to the base URL, or a full URL.
            **options: as :meth:`request` takes them.

        Returns:
            The answer, read.
        """
        return await self.request("DELETE", url, **options)

    async def head(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """``HEAD url``: the answer's status and headers, no body.

        Args:
            url: a path joined to the base URL, or a full URL.
            **options: as :meth:`request` takes them.

        Returns:
            The answer, read.
        """
        return await self.request("HEAD", url, **options)

    async def options(self, url: str, **options: Unpack[RequestOptions]) -> httpx.Response:
        """``OPTIONS url``.

        Args:
            url: a path joined to the base URL, or a full URL.
            **options: as :meth:`request` takes them.

        Returns:
            The answer, read.
        """
        return await self.request("OPTIONS", url, **options)

    def classify(self, response: httpx.Response) -> DeliveryError:
        """The error for a non-2xx answer: what :meth:`request` raises, for an action that
        read the answer itself (``raise_for_status=False``) and decided it is a failure.

        Args:
            response: the answer, read.

        Returns:
            The destination's reading of it (its ``classify_response``, else
            :func:`destkit.errors.error_for_response`), with the answer kept as
            ``error.response`` and known secrets masked in both.
        """
        error = self._classify(response)
        error.response = ErrorResponse.of(response, self.redact)
        if self.redact is not None:
            error.mask(self.redact)
        return error

    # --- how ----------------------------------------------------------------------------------------

    async def _authorize(self) -> str:
        """Put the credential's current value on the headers every request starts from."""
        assert self.auth is not None
        value = await self.auth.value()
        if value != self._credential:
            self._credential = value
            self._wire.set_header(self.auth.header, value)
        return value

    def url_for(self, url: str) -> str:
        """``url`` joined to the destination's base URL, unless it is a full URL."""
        return self._wire.url_for(url)

    async def _exchange(
        self,
        method: str,
        url: str,
        params: QueryParams | None,
        headers: Mapping[str, str] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        content: bytes | str | None,
        timeout: float | None,
    ) -> httpx.Response:
        """Send one request and read its whole answer; a DeliveryError when none came."""
        extensions = self._extensions if timeout is None else {"timeout": httpx.Timeout(timeout).as_dict()}
        request = self._wire.request(method, url, params, headers, json, data, content, extensions)
        try:
            response = await self.transport.handle_async_request(request)
            if not response.is_stream_consumed and not read_in_memory(response):
                try:
                    await response.aread()
                finally:
                    await response.aclose()
        except httpx.TransportError as exc:
            error = error_for_transport_failure(exc, method, request.url.path)
            if self.redact is not None:
                error.mask(self.redact)
            raise error from None
        response.request = request
        return response
