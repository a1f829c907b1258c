"""Profile-request destinations, and the edge lookup that answers for them.

AEP's profile-request destinations (Custom Personalization, with or without attributes, and
the Adobe Target connection) push nothing. Their action keeps, per identity, the Engage
audiences the person is in (and, with attributes, chosen attributes) in the state store;
then a page or a server asks, as it would ask AEP's edge::

    POST /ee/v2/interact?dataStreamId=web-prod
    {"event": {"xdm": {"identityMap": {"userId": [{"id": "u1", "primary": true}]}}}}

and ``destkit serve`` answers with one ``profileLookup`` per destination configured on that
datastream, in the edge's shape::

    {"requestId": "...", "handle": [{"type": "activation:pull", "eventIndex": 0, "payload": [
        {"type": "profileLookup", "destinationId": "...", "alias": "web", "segments": [{"id": "vip"}],
         "attributes": {"plan": {"value": "pro"}}}]}]}

``attributes`` appear only for a destination that keeps them AND a call carrying a valid
``Authorization: Bearer`` token (the config's ``serve.edge_tokens``); a wrong token is a 401.
The token is checked before the body is read; the body is bounded (``serve.lookup_max_bytes``,
``serve.lookup_max_events``, ``serve.lookup_max_identities``: 413 past them; each identity
costs a read of the store per destination) and parsed as strictly as events are.

Engage sends audience membership two ways, both read here: an identify whose traits hold
``{"<audience_key>": true|false}``, and a track ``Audience Entered`` / ``Audience Exited``
whose properties hold ``audience_key`` (and the same flag); both carry ``context.personas``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .bodies import BodyTooLarge, BodyTooSlow, ClientGone, read_body
from .config import CompiledDestination, CompiledSubscription, ServeOptions
from .errors import DeliveryError, PayloadValidationError
from .eventjson import EventJSONError, parse_event_json
from .keys import KeyRing
from .plugin import Action, Context, field
from .profiles import StoredProfile, StoredProfiles
from .state import StateStore

__all__ = [
    "EdgeSettings",
    "AudiencePayload",
    "keep_profile",
    "sync_audiences",
    "AUDIENCE_EVENTS",
    "no_sandbox_needed",
    "EdgeLookup",
]

#: Engage's audience events: the identify and the two tracks it sends, marked as audiences.
AUDIENCE_EVENTS = (
    'context.personas.computation_class = "audience" and '
    '(type = "identify" or event = "Audience Entered" or event = "Audience Exited")'
)
_MEMBERSHIP_EVENTS = {"Audience Entered": True, "Audience Exited": False}
_AUDIENCE_KEY = {"@coalesce": [{"@path": "$.properties.audience_key"}, {"@path": "$.context.personas.computation_key"}]}


class EdgeSettings(BaseModel):
    """What every profile-request destination is configured with."""

    #: Whether lookups may include the attributes this destination keeps.
    keeps_attributes: ClassVar[bool] = False

    datastream_id: str = Field(
        min_length=1,
        description="The datastream whose lookups (/ee/v2/interact?dataStreamId=...) include this destination.",
    )
    alias: str | None = Field(
        None,
        min_length=1,
        description="The integration alias pages find this destination's answer under; its config name unless set.",
    )
    destination_id: str | None = Field(
        None,
        min_length=1,
        description="The destinationId in lookups; a stable UUID made from the datastream and config name unless set.",
    )


# --- the action: keeping audiences (and attributes) per identity --------------------------------


class AudiencePayload(BaseModel):
    identities: dict[str, str | None] = field(
        default_mapping={"userId": {"@path": "$.userId"}, "anonymousId": {"@path": "$.anonymousId"}},
        description="Whom the profile belongs to: namespace -> id (as lookups' identityMap names them). "
        "Empty and null ids are left out.",
    )
    audience_key: str | None = field(
        default=None,
        default_mapping=_AUDIENCE_KEY,
        description="The Engage audience the event is about; its flag is read under this name.",
    )
    audience_id: str | None = field(
        default=None,
        default_mapping=_AUDIENCE_KEY,
        description="What lookups list in segments for it; the audience key unless mapped "
        "(to $.context.personas.computation_id, say).",
    )
    flags: dict[str, Any] | None = field(
        default=None,
        default_mapping={"@coalesce": [{"@path": "$.properties"}, {"@path": "$.traits"}]},
        description="Where membership is read: the true/false value under the audience key.",
    )
    event: str | None = field(
        default=None,
        default_mapping={"@path": "$.event"},
        description="Audience Entered / Audience Exited tell membership when the flag is absent.",
    )

    def membership(self) -> dict[str, bool]:
        """{audience id: member?} for the audience this event is about; {} when it names none."""
        if not self.audience_key:
            return {}
        flag = (self.flags or {}).get(self.audience_key)
        member = flag if isinstance(flag, bool) else _MEMBERSHIP_EVENTS.get(self.event or "")
        if member is None:
            raise PayloadValidationError(
                f"audience {self.audience_key!r}: no membership to read (neither a true/false "
                f"{self.audience_key!r} in the traits or properties, nor an Audience Entered/Exited event)"
            )
        return {self.audience_id or self.audience_key: member}


async def keep_profile(ctx: Context[EdgeSettings], payload: AudiencePayload, attributes: Mapping[str, Any] | None = None) -> None:
    """Apply one event to the profile of each of its identities, in the state store."""
    if ctx.profiles is None:
        raise DeliveryError(
            f"{ctx.destination} keeps its profiles in the state store, and this run has none "
            "(replay keeps one unless --no-state, --dry-run or --sandbox without --state; "
            "Runtime(..., state=PATH) when embedding)",
            code="STATE_REQUIRED",
        )
    identities = {namespace: value for namespace, value in payload.identities.items() if value}
    if not identities:
        raise PayloadValidationError("identities: none has a value (map at least one namespace to an id)")
    audiences = payload.membership()
    if not audiences and attributes is None:
        raise PayloadValidationError("nothing to keep: the event names no audience (audience_key) and gave no attributes")
    await ctx.profiles.update(identities, audiences=audiences, attributes=attributes)


async def _perform_audiences(ctx: Context[EdgeSettings], payload: AudiencePayload) -> None:
    await keep_profile(ctx, payload)


sync_audiences: Action[AudiencePayload] = Action(
    slug="sync_audiences",
    title="Sync audiences",
    description="Keep each person's Engage audience memberships for profile lookups.",
    payload=AudiencePayload,
    perform=_perform_audiences,
    default_trigger=AUDIENCE_EVENTS,
)


@contextmanager
def no_sandbox_needed(settings: dict[str, Any], options: dict[str, Any], folder: Path) -> Iterator[dict[str, Any]]:
    """``--sandbox`` for a destination that calls no remote API: nothing to stand in for."""
    yield {}


# --- the lookup: POST /ee/v2/interact -----------------------------------------------------------


class _Problem(Exception):
    """An RFC 7807 answer; auth failures carry the edge's EXEG-0500-401 type."""

    def __init__(self, status: int, title: str, detail: str, code: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.code = status, title, detail, code

    def response(self, request_id: str) -> Response:
        body = {
            "type": f"https://ns.adobe.com/aep/errors/{self.code}" if self.code else "about:blank",
            "status": self.status,
            "title": self.title,
            "detail": self.detail,
            "report": {"requestId": request_id},
        }
        return JSONResponse(body, self.status, media_type="application/problem+json")


class EdgeLookup:
    """Answers profile lookups for the config's profile-request destinations, from the store."""

    def __init__(
        self,
        subscriptions: list[CompiledSubscription],
        tokens: KeyRing,
        store: Callable[[], StateStore | None],
        counted: Callable[[str], None] = lambda result: None,
        options: ServeOptions | None = None,
    ) -> None:
        self.datastreams: dict[str, list[CompiledDestination]] = {}
        seen: set[str] = set()
        for sub in subscriptions:
            dest = sub.destination
            if isinstance(dest.settings, EdgeSettings) and dest.name not in seen:
                seen.add(dest.name)
                self.datastreams.setdefault(dest.settings.datastream_id, []).append(dest)
        self.options = options or ServeOptions()
        self.tokens = tokens
        self.store = store
        self.counted = counted

    async def interact(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            authenticated = self._authenticated(request.headers.get("authorization"))
            datastream = request.query_params.get("dataStreamId") or request.query_params.get("configId")
            if not datastream:
                raise _Problem(400, "Bad Request", "the dataStreamId query parameter is required")
            destinations = self.datastreams.get(datastream)
            if not destinations:
                configured = ", ".join(sorted(self.datastreams)) or "none"
                detail = f"no destination is configured for datastream {datastream!r} (configured: {configured})"
                raise _Problem(400, "Bad Request", detail)
            events = _events(await self._body(request), self.options.lookup_max_events, self.options.lookup_max_identities)
            store = self.store()
            if store is None:
                raise _Problem(503, "Service Unavailable", "the service is starting")
        except _Problem as problem:
            self.counted("rejected")
            return problem.response(request_id)
        handle = []
        for index, identities in enumerate(events):
            profiles = [await _find(store, dest, identities) for dest in destinations]
            known = any(profile is not None for profile in profiles)
            # A known person gets one entry per destination on the datastream (empty where a
            # destination holds nothing for them); an unknown one an empty payload.
            payload = [_entry(dest, profile, authenticated) for dest, profile in zip(destinations, profiles, strict=True)]
            self.counted("found" if known else "unknown")
            handle.append({"type": "activation:pull", "eventIndex": index, "payload": payload if known else []})
        return JSONResponse({"requestId": request_id, "handle": handle})

    def _authenticated(self, header: str | None) -> bool:
        if header is None:
            return False
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _Problem(401, "Unauthorized", "the Authorization header must be 'Bearer <token>'", "EXEG-0500-401")
        if not self.tokens.accepts(token):
            raise _Problem(401, "Unauthorized", "the bearer token is not valid for this service", "EXEG-0500-401")
        return True

    async def _body(self, request: Request) -> Any:
        limit = self.options.lookup_max_bytes
        try:
            body = await read_body(request.scope, request.receive, limit, timeout=self.options.body_timeout)
        except BodyTooLarge:
            detail = f"a lookup's body is at most {limit:,} bytes (serve.lookup_max_bytes)"
            raise _Problem(413, "Payload Too Large", detail) from None
        except BodyTooSlow as exc:
            raise _Problem(408, "Request Timeout", str(exc)) from None
        except ClientGone:
            raise _Problem(400, "Bad Request", "the client went away before its body was complete") from None
        try:
            return parse_event_json(body or b"null")
        except EventJSONError as exc:
            raise _Problem(400, "Bad Request", f"the body is {exc}") from None


async def _find(store: StateStore, dest: CompiledDestination, identities: list[tuple[str, str]]) -> StoredProfile | None:
    """The profile of the first identity (primary first) the destination knows."""
    profiles = StoredProfiles(store, dest.name)
    for namespace, identity in identities:
        profile = await profiles.get(namespace, identity)
        if profile is not None:
            return profile
    return None


def _entry(dest: CompiledDestination, profile: StoredProfile | None, authenticated: bool) -> dict[str, Any]:
    settings = dest.settings
    assert isinstance(settings, EdgeSettings)
    made_up_id = uuid.uuid5(uuid.NAMESPACE_OID, f"{settings.datastream_id}/{dest.name}")
    entry: dict[str, Any] = {
        "type": "profileLookup",
        "destinationId": settings.destination_id or str(made_up_id),
        "alias": settings.alias or dest.name,
    }
    if authenticated and type(settings).keeps_attributes:
        entry["attributes"] = {name: {"value": value} for name, value in (profile.attributes if profile else {}).items()}
    entry["segments"] = [{"id": segment} for segment in (profile.segments if profile else [])]
    return entry


def _events(data: Any, most: int, most_identities: int) -> list[list[tuple[str, str]]]:
    """The identities of each event of a request, primary ones first; a _Problem if malformed."""
    if isinstance(data, dict) and isinstance(data.get("event"), dict):
        events, where = [data["event"]], ["event"]
    elif isinstance(data, dict) and isinstance(data.get("events"), list) and data["events"]:
        events, where = data["events"], [f"events[{i}]" for i in range(len(data["events"]))]
    else:
        raise _Problem(400, "Bad Request", 'the body must be {"event": {"xdm": {"identityMap": {...}}}}')
    if len(events) > most:
        detail = f"a lookup asks about at most {most:,} events (serve.lookup_max_events); this one {len(events):,}"
        raise _Problem(413, "Payload Too Large", detail)
    identities = [_identities(event, spot) for event, spot in zip(events, where, strict=True)]
    named = sum(map(len, identities))
    if named > most_identities:
        detail = f"a lookup names at most {most_identities:,} identities (serve.lookup_max_identities); this one {named:,}"
        raise _Problem(413, "Payload Too Large", detail)
    return identities


def _identities(event: Any, where: str) -> list[tuple[str, str]]:
    xdm = event.get("xdm") if isinstance(event, dict) else None
    identity_map = xdm.get("identityMap") if isinstance(xdm, dict) else None
    if not isinstance(identity_map, dict) or not identity_map:
        raise _Problem(400, "Bad Request", f"{where}.xdm.identityMap is required: {{namespace: [{{id, primary}}]}}")
    primary: list[tuple[str, str]] = []
    others: list[tuple[str, str]] = []
    for namespace, entries in identity_map.items():
        if not isinstance(entries, list):
            raise _Problem(400, "Bad Request", f"{where}.xdm.identityMap.{namespace} must be a list of {{id, primary}}")
        if "\x00" in namespace:  # a key in the state store, where PostgreSQL's text cannot hold a NUL
            raise _Problem(400, "Bad Request", f"{where}.xdm.identityMap: the namespace {namespace!r} holds a NUL character")
        for index, entry in enumerate(entries):
            identity = entry.get("id") if isinstance(entry, dict) else None
            if not isinstance(identity, str) or not identity:
                raise _Problem(400, "Bad Request", f"{where}.xdm.identityMap.{namespace}[{index}].id must be a non-empty string")
            if "\x00" in identity:
                raise _Problem(400, "Bad Request", f"{where}.xdm.identityMap.{namespace}[{index}].id holds a NUL character")
            (primary if entry.get("primary") is True else others).append((namespace, identity))
    return primary + others
