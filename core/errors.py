"""Every exception destkit raises, in one tree.

::

    DestkitError
    ├── ConfigError                 a config, mapping or trigger is wrong (found before any event)
    │   ├── ConfigErrors            several at once, each located: carries ``problems``
    │   ├── MappingError            a field mapping: carries ``pointer`` (JSON pointer inside it)
    │   └── TriggerSyntaxError      a trigger expression: carries ``column`` and ``expected``
    ├── PluginError                 a destination plugin is declared wrongly or cannot be found
    ├── EventJSONError              bytes that are not an event's JSON (also a ValueError):
    │                               not UTF-8 or JSON, too deep, a non-finite number; ``where``
    └── DeliveryError               one delivery went wrong: ``code``, ``status``, ``retryable``,
        │                           ``retry_after``; the retry policy reads these and nothing else
        ├── InvalidEvent                    INVALID_EVENT            the event breaks the Segment spec
        ├── MappingFailed                   MAPPING_FAILED           a mapping could not be applied to it
        ├── PayloadValidationError          PAYLOAD_VALIDATION_FAILED the mapped payload is unusable
        ├── InvalidAuthentication           INVALID_AUTHENTICATION   401 / 403
        ├── DestinationSuspended            DESTINATION_SUSPENDED    not sent: credentials refused too often
        ├── RateLimited                     RATE_LIMITED             429 (retryable)
        ├── DeliveryTimeout                 TIMEOUT                  408, or no answer in time (retryable)
        ├── RetryableError                  RETRYABLE_ERROR          5xx, 423, connection errors
        └── BadRequest                      BAD_REQUEST              other 4xx (not retried)

    httpx.RemoteProtocolError
    └── UnreadableAnswer            an answer came (``status``) but its body is not read: over the
        └── AnswerTooLarge          limit, or damaged; raised by destkit's transport (http1)

    ConfigWarning (a UserWarning)   legal, but probably not what was meant; never stops anything
    ├── MappingWarning              carries ``pointer``, as MappingError does
    └── TriggerWarning              carries ``expression`` and ``column``, as TriggerSyntaxError does

Warnings go through Python's :mod:`warnings`, so a program compiling mappings itself sees
them the usual way; ``destkit validate`` prints those of a config (``CompiledSubscription.warnings``).

A destination raises its own subclasses (Adobe Target's ``PROFILE_NOT_FOUND``, say) or
maps HTTP answers differently by passing ``classify_response`` to its ``Destination``.
An error raised for an answer keeps it as ``error.response`` (an :class:`ErrorResponse`: the
status, the headers and the start of the body, secrets masked).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, ClassVar

import httpx

from .redaction import mask_header

__all__ = [
    "DestkitError",
    "ConfigError",
    "ConfigErrors",
    "MappingError",
    "TriggerSyntaxError",
    "ConfigWarning",
    "MappingWarning",
    "TriggerWarning",
    "PluginError",
    "EventJSONError",
    "DeliveryError",
    "InvalidEvent",
    "MappingFailed",
    "PayloadValidationError",
    "InvalidAuthentication",
    "DestinationSuspended",
    "RateLimited",
    "DeliveryTimeout",
    "RetryableError",
    "BadRequest",
    "ErrorResponse",
    "KEPT_BODY",
    "error_for_response",
    "error_for_transport_failure",
]


class DestkitError(Exception):
    """The root of every destkit exception."""


class ConfigError(DestkitError):
    """A config, mapping or trigger is wrong. Raised while loading, before any event is sent."""


class ConfigErrors(ConfigError):
    """Every mistake found in a config, not just the first: ``problems`` holds one located
    message each (``destkit validate`` prints them all, one ``error:`` line each)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class MappingError(ConfigError):
    """A field mapping cannot be compiled; ``pointer`` locates the spot (``/traits/@if/then``)."""

    def __init__(self, message: str, pointer: str = "") -> None:
        self.reason = message
        self.pointer = pointer
        super().__init__(f"{pointer or '/'}: {message}")


class TriggerSyntaxError(ConfigError):
    """A trigger expression cannot be parsed; ``column`` is 1-based."""

    def __init__(self, message: str, expression: str, column: int, expected: str = "") -> None:
        self.reason = message
        self.expression = expression
        self.column = column
        self.expected = expected
        caret = " " * (column - 1) + "^"
        detail = f"{message} at column {column}" + (f" (expected {expected})" if expected else "")
        super().__init__(f"{detail}\n  {expression}\n  {caret}")


class ConfigWarning(UserWarning):
    """A mapping or trigger that compiles but probably does not mean what was meant."""


class MappingWarning(ConfigWarning):
    """About a field mapping; ``pointer`` locates the spot, as in :class:`MappingError`."""

    def __init__(self, message: str, pointer: str = "") -> None:
        self.reason = message
        self.pointer = pointer
        super().__init__(f"{pointer or '/'}: {message}")


class TriggerWarning(ConfigWarning):
    """About a trigger expression; ``column`` is 1-based, as in :class:`TriggerSyntaxError`."""

    def __init__(self, message: str, expression: str, column: int) -> None:
        self.reason = message
        self.expression = expression
        self.column = column
        super().__init__(f"{message} at column {column}")


class PluginError(DestkitError):
    """A destination plugin is declared wrongly, or no plugin has the requested slug."""


#: Bytes of an answer's body an error keeps: room for an API's explanation, bounded whatever it sent.
KEPT_BODY = 16 * 1024


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """The answer behind a :class:`DeliveryError`, as the error keeps it.

    ``ctx.http`` attaches one to every error it raises for an answer. The body is cut to
    :data:`KEPT_BODY` bytes (``truncated`` says so), and known secrets are masked in it and in
    the headers, so an error can be logged or reported whole.
    """

    status_code: int
    headers: httpx.Headers
    text: str
    truncated: bool = False

    def json(self) -> Any:
        """The body parsed as JSON; a ValueError when it is not JSON (or was cut short)."""
        return json.loads(self.text)

    @classmethod
    def of(cls, response: httpx.Response, redact: Callable[[str], str] | None = None, limit: int = KEPT_BODY) -> ErrorResponse:
        """Keep ``response`` (already read): its status, masked headers, the start of its body."""
        mask = redact or _unchanged
        content = response.content
        # Masked before it is cut, so that a secret across the cut is masked whole.
        text = mask(content[: 2 * limit].decode(response.encoding or "utf-8", errors="replace"))
        truncated = len(content) > limit or len(text) > limit
        headers = httpx.Headers([(name, mask(mask_header(name, value))) for name, value in response.headers.multi_items()])
        return cls(response.status_code, headers, text[:limit], truncated)


def _unchanged(text: str) -> str:
    return text


class EventJSONError(DestkitError, ValueError):
    """Bytes that cannot be an event's JSON; ``reason`` says what is wrong, ``where`` where (a line and column, or a path)."""

    def __init__(self, reason: str, where: str = "") -> None:
        self.reason = reason
        self.where = where
        super().__init__(f"{reason} at {where}" if where else reason)


class DeliveryError(DestkitError):
    """One delivery failed. Subclasses fix ``code`` and whether it is ``retryable``.

    ``status`` is the HTTP status when there was an answer; ``retry_after`` (seconds) is the
    destination's own request to wait, honoured by the retry policy up to its cap;
    ``response`` is the answer itself, bounded and masked, when there was one.
    """

    code: str = "DELIVERY_FAILED"
    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        code: str | None = None,
        response: ErrorResponse | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.response = response
        if code is not None:
            self.code = code  # an instance may carry a more precise code than its class

    def mask(self, redact: Callable[[str], str]) -> None:
        """Mask known secrets in the message (done by ``ctx.http`` before the error leaves it)."""
        self.message = redact(self.message)
        self.args = (self.message, *self.args[1:])


class InvalidEvent(DeliveryError):
    code = "INVALID_EVENT"


class MappingFailed(DeliveryError):
    code = "MAPPING_FAILED"


class PayloadValidationError(DeliveryError):
    code = "PAYLOAD_VALIDATION_FAILED"


class InvalidAuthentication(DeliveryError):
    code = "INVALID_AUTHENTICATION"


class DestinationSuspended(DeliveryError):
    """Not sent: the destination refused its credentials too often in a row (:mod:`destkit.breaker`).
    Not retried at once; with the state store it is parked until working credentials send it."""

    code = "DESTINATION_SUSPENDED"


class RateLimited(DeliveryError):
    code = "RATE_LIMITED"
    default_retryable = True


class DeliveryTimeout(DeliveryError):
    code = "TIMEOUT"
    default_retryable = True


class RetryableError(DeliveryError):
    code = "RETRYABLE_ERROR"
    default_retryable = True


class BadRequest(DeliveryError):
    code = "BAD_REQUEST"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _snippet(response: httpx.Response, limit: int = 200) -> str:
    try:
        text = response.text.strip()
    except Exception:  # an undecodable body still yields an error, just without the text
        return ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def error_for_response(response: httpx.Response) -> DeliveryError:
    """The default ``classify_response``: how a non-2xx answer becomes a :class:`DeliveryError`.

    408, 423, 429 and 5xx except 501 are retryable (honouring ``Retry-After``); other 4xx are
    not; 401/403 are ``INVALID_AUTHENTICATION``. The message names the method, the path
    (never the query, which may hold identifiers or tokens) and the start of the body. A
    destination whose API answers its own way passes a ``classify_response`` that reads what
    it needs and falls back on this one for the rest.

    Args:
        response: the answer, read.

    Returns:
        The error to raise (``ctx.http`` then attaches the answer and masks secrets).
    """
    status = response.status_code
    request = response.request
    body = _snippet(response)
    message = f"{request.method} {request.url.path} answered {status}" + (f": {body}" if body else "")
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status in (401, 403):
        return InvalidAuthentication(message, status=status)
    if status == 429:
        return RateLimited(message, status=status, retry_after=retry_after)
    if status == 408:
        return DeliveryTimeout(message, status=status, retry_after=retry_after)
    if status == 423 or (status >= 500 and status != 501):
        return RetryableError(message, status=status, retry_after=retry_after)
    if status == 400:
        return BadRequest(message, status=status)
    return BadRequest(message, status=status, code=_code_for_status(status))


def _code_for_status(status: int) -> str:
    named = {404: "NOT_FOUND", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE", 501: "NOT_IMPLEMENTED"}
    return named.get(status, f"HTTP_{status}")


class UnreadableAnswer(httpx.RemoteProtocolError):
    """An answer whose body is not read: over the most that is read, or packed (gzip, deflate)
    and damaged. ``status`` is the answer's status once its head was read whole (else 0)."""

    def __init__(self, message: str, *, request: httpx.Request | None = None, status: int = 0) -> None:
        super().__init__(message, request=request)
        self.status = status


def error_for_transport_failure(exc: httpx.TransportError, method: str, path: str) -> DeliveryError:
    """A request that got no answer: timeouts are ``TIMEOUT``, a request that cannot be sent
    (a header that would split it) ``PAYLOAD_VALIDATION_FAILED``, the rest ``CONNECTION_ERROR``.

    An answer with a 2xx status whose body cannot be read (over the most that is read, or
    damaged) is not a missing answer: the destination took the request, and sending it again
    would repeat it (``ANSWER_UNREADABLE``, not retried). With another status it stays a
    ``CONNECTION_ERROR``: the destination's own reading of that status needs the answer."""
    kind = type(exc).__name__
    if isinstance(exc, UnreadableAnswer) and 200 <= exc.status < 300:
        message = f"{method} {path} answered {exc.status}, but its body cannot be read ({exc}); not sent again"
        return DeliveryError(message, status=exc.status, code="ANSWER_UNREADABLE")
    if isinstance(exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol):  # sending it again cannot help
        return PayloadValidationError(f"{method} {path} cannot be sent ({kind}: {exc})")
    if isinstance(exc, httpx.TimeoutException):
        return DeliveryTimeout(f"{method} {path} got no answer in time ({kind})")
    return RetryableError(f"{method} {path} failed before an answer ({kind}: {exc})", code="CONNECTION_ERROR")
