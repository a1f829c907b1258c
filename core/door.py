"""The tracking API's door: what a request to ``/v1/*`` must pass before its events are stored.

In this order, so that an unauthenticated caller costs as little as possible:

1. a write key in the ``Authorization`` header (Basic, the key as the user name) is checked
   before a byte of the body is read; a wrong one is a 401;
2. the body is read with a cap (:func:`~destkit.bodies.read_body`: 413 past it, refused on its
   ``Content-Length`` before reading; 408 when it trickles in slower than the body timeout),
   and gunzipped within the same cap;
3. it is parsed by :func:`~destkit.eventjson.parse_event_json` (strict, depth-bounded, finite
   numbers, valid Unicode), else a 400 naming the problem;
4. a ``writeKey`` in the body is checked when the header had none (a string, else 400), and
   ``writeKey``/``write_key`` are removed from the body and from every event of a batch, so a
   key never reaches the inbox, a destination or a dead letter;
5. each event gets what Segment's API adds on receipt and is checked against the spec: a single
   event that fails is a 400; in a batch, as Segment's API does, the others are accepted and
   the failing one is left out, logged (once per interval) and counted. A batch's own
   ``sentAt``, given to each of its events without one, must then be a time, else the whole
   batch is a 400 (each of those events would otherwise be left out for it).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request

from .bodies import BodyTooLarge, BodyTooSlow, ClientGone, read_body, unpacked
from .errors import InvalidEvent
from .eventjson import EventJSONError, parse_event_json
from .events import EVENT_TYPES, validate_event
from .keys import KeyRing
from .sources import MAX_EVENT_BYTES

__all__ = ["Door", "Refused", "MAX_BATCH_BYTES", "MAX_BATCH_EVENTS", "SECRET_FIELDS", "stamp"]

MAX_BATCH_BYTES = 500 * 1024  # the Segment tracking API's limits for one batch request
MAX_BATCH_EVENTS = 2500
#: fields that carry a write key, removed from every event at the door
SECRET_FIELDS = ("writeKey", "write_key")
_TIME: TypeAdapter[datetime] = TypeAdapter(datetime)  # what an event's sentAt must be
_SAID = 300  # characters of a client's value quoted back in a message or a log line, at most

log = logging.getLogger("destkit.serve")


class Refused(Exception):
    """A request the door turns away: the status, a message for the sender and a metric reason."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


class Door:
    """Reads the events of one tracking API request, or refuses it (:class:`Refused`).

    ``dropped(reason)`` is called for each event of a batch left out.
    """

    def __init__(self, keys: KeyRing, *, body_timeout: float, dropped: Callable[[str], None] = lambda reason: None) -> None:
        self.keys = keys
        self.body_timeout = body_timeout
        self.dropped = dropped

    async def events(self, request: Request, kind: str | None) -> list[dict[str, Any]]:
        """The events of a request to ``/v1/{kind}`` (``kind`` None for a batch), ready to store."""
        header_key = basic_user(request.headers.get("authorization"))
        if header_key is not None and not self.keys.accepts(header_key):
            raise Refused(401, "unknown write key", "auth")
        data = await self._body(request, MAX_EVENT_BYTES if kind else MAX_BATCH_BYTES)
        if header_key is None:
            self._check_body_key(data.get("writeKey"))
        _strip_keys(data)
        received_at = datetime.now(UTC)
        if kind is not None:
            event = stamp({**data, "type": kind}, received_at, data.get("sentAt"))
            try:
                return [validate_event(event)]
            except InvalidEvent as exc:
                raise Refused(400, _short(str(exc)), "invalid") from None
        return self._batch(data, received_at)

    async def _body(self, request: Request, limit: int) -> dict[str, Any]:
        what = "an event" if limit == MAX_EVENT_BYTES else "a batch"
        try:
            body = await read_body(request.scope, request.receive, limit, timeout=self.body_timeout)
        except BodyTooLarge:
            raise Refused(413, f"the body is over {limit // 1024} KB, the limit for {what}", "size") from None
        except BodyTooSlow as exc:
            raise Refused(408, f"the {exc}", "slow") from None
        except ClientGone:
            raise Refused(400, "the client went away before its body was complete", "gone") from None
        if request.headers.get("content-encoding", "").lower() == "gzip":
            try:
                body = unpacked(body, "gzip", limit)
            except zlib.error:
                raise Refused(400, "the body says gzip but is not", "gzip") from None
            if len(body) > limit:
                raise Refused(413, f"the body is over {limit // 1024} KB once unzipped, the limit for {what}", "size")
        try:
            data = parse_event_json(body)
        except EventJSONError as exc:
            raise Refused(400, f"the body is {exc}", "json") from None
        if not isinstance(data, dict):
            raise Refused(400, "the body must be a JSON object", "json")
        return data

    def _check_body_key(self, key: Any) -> None:
        if key is None:
            raise Refused(401, "a write key is required (as the Basic-auth user name, or writeKey in the body)", "auth")
        if not isinstance(key, str):
            raise Refused(400, "writeKey must be a string", "auth")
        if not self.keys.accepts(key):
            raise Refused(401, "unknown write key", "auth")

    def _batch(self, data: dict[str, Any], received_at: datetime) -> list[dict[str, Any]]:
        batch = data.get("batch")
        if not isinstance(batch, list):
            raise Refused(400, 'a batch is {"batch": [events...]}', "batch")
        if len(batch) > MAX_BATCH_EVENTS:
            raise Refused(400, f"the batch holds {len(batch):,} events; at most {MAX_BATCH_EVENTS:,}", "size")
        sent_at = data.get("sentAt")
        if sent_at and any(isinstance(item, dict) and not item.get("sentAt") for item in batch):
            try:
                _TIME.validate_python(sent_at)
            except ValidationError as exc:
                problem = exc.errors()[0]["msg"]
                raise Refused(400, f"the batch's sentAt is not a time: {_short(repr(sent_at))} ({problem})", "batch") from None
        events = []
        for index, item in enumerate(batch):
            if not isinstance(item, dict):
                raise Refused(400, f"batch[{index}] is not a JSON object", "batch")
            size = len(json.dumps(item))
            if size > MAX_EVENT_BYTES:
                raise Refused(400, f"batch[{index}] is {size:,} bytes; an event is at most {MAX_EVENT_BYTES:,}", "size")
            _strip_keys(item)
            event = stamp(item, received_at, sent_at)
            try:
                events.append(validate_event(event))
            except InvalidEvent as exc:
                reason = _drop_reason(item)
                self.dropped(reason)
                said = {"repeat_key": ("left out", reason)}  # one line per interval and reason, whatever the client sent
                log.warning("left out an event of an accepted batch: batch[%d]: %s", index, _short(str(exc)), extra=said)
        return events


def basic_user(header: str | None) -> str | None:
    """The user name of a Basic ``Authorization`` header (Segment's libraries send the write key
    there); ``""`` for a malformed one, None without one."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[0]


def stamp(event: dict[str, Any], received_at: datetime, batch_sent_at: Any) -> dict[str, Any]:
    """What Segment's API adds on receipt: a messageId if missing, receivedAt, and the
    timestamp corrected for the sender's clock (timestamp = receivedAt - (sentAt - timestamp))."""
    event = dict(event)
    event.setdefault("messageId", f"dk-{uuid.uuid4()}")
    event["receivedAt"] = received_at.isoformat().replace("+00:00", "Z")
    sent_at = event.get("sentAt") or batch_sent_at
    timestamp = event.get("timestamp")
    if sent_at and timestamp:
        sent, stamped = _parse_time(sent_at), _parse_time(timestamp)
        if sent is not None and stamped is not None:
            try:
                corrected = received_at - (sent - stamped)
            except OverflowError:  # clocks years apart: nothing sensible to correct
                corrected = None
            if corrected is not None:
                event["originalTimestamp"] = timestamp
                event["timestamp"] = corrected.isoformat().replace("+00:00", "Z")
    if sent_at:
        event["sentAt"] = sent_at
    return event


def _strip_keys(data: dict[str, Any]) -> None:
    for name in SECRET_FIELDS:
        data.pop(name, None)


def _drop_reason(event: dict[str, Any]) -> str:
    if event.get("type") not in EVENT_TYPES:
        return "unknown_type"
    if not event.get("userId") and not event.get("anonymousId"):
        return "no_user_anon_id"
    return "invalid"


def _short(text: str) -> str:
    return text if len(text) <= _SAID else text[:_SAID] + "..."


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
