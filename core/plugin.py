"""What a destination plugin declares: a :class:`Destination` with its settings and its actions.

An action is one module: a pydantic payload model whose fields carry their default mapping
(:func:`field`), then ``perform`` (one payload) and/or ``perform_batch`` (many), then the
:class:`Action` that ties them together::

    class Payload(BaseModel):
        url: str = field(default_mapping={"@path": "$.properties.url"}, description="Where to post")

    async def perform(ctx: Context[Settings], payload: Payload) -> None:
        await ctx.http.post(payload.url, json=payload.model_dump())

    action = Action(slug="post", title="Post", description="...", payload=Payload, perform=perform,
                    default_trigger='type = "track"')
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel
from pydantic import Field as PydanticField

from .auth import Authentication, Custom
from .errors import DeliveryError, PluginError
from .http import RequestDefaults, Requester
from .names import did_you_mean
from .profiles import Profiles
from .retry import RetryPolicy

__all__ = [
    "Action",
    "Context",
    "Destination",
    "Preset",
    "RequestDefaults",
    "BatchResult",
    "SandboxStarter",
    "field",
    "default_mapping_of",
    "NO_DEFAULT_MAPPING",
]

SettingsT = TypeVar("SettingsT", bound=BaseModel)
PayloadT = TypeVar("PayloadT", bound=BaseModel)

#: What ``perform_batch`` returns for each payload, in order: None when it was delivered.
BatchResult = DeliveryError | None

_DEFAULT_MAPPING_KEY = "x-default-mapping"
_SLUG = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


class _NoDefaultMapping:
    def __repr__(self) -> str:
        return "NO_DEFAULT_MAPPING"


NO_DEFAULT_MAPPING: Any = _NoDefaultMapping()


def field(
    *,
    default_mapping: Any = NO_DEFAULT_MAPPING,
    description: str,
    **kwargs: Any,
) -> Any:
    """A pydantic ``Field`` that also carries the field's default mapping.

    ``default_mapping`` is written in the mapping language (``{"@path": "$.userId"}``...). An
    operator's subscription may replace it; a field without one must be mapped explicitly
    (or have a plain ``default=``). Other keyword arguments go to pydantic's ``Field``.
    """
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    if default_mapping is not NO_DEFAULT_MAPPING:
        extra[_DEFAULT_MAPPING_KEY] = default_mapping
    return PydanticField(description=description, json_schema_extra=extra or None, **kwargs)


def default_mapping_of(payload: type[BaseModel]) -> dict[str, Any]:
    """The default mapping of every field of ``payload`` that declares one."""
    mapping = {}
    for name, info in payload.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and _DEFAULT_MAPPING_KEY in extra:
            mapping[info.alias or name] = extra[_DEFAULT_MAPPING_KEY]
    return mapping


@dataclass
class Context(Generic[SettingsT]):
    """What ``perform`` gets besides its payload.

    ``http`` is the runtime's shared client with the destination's defaults applied; it raises
    :class:`DeliveryError` for non-2xx answers and for requests that got no answer.
    """

    settings: SettingsT
    http: Requester
    destination: str
    subscription: str
    logger: logging.Logger
    #: The raw events behind the payloads (one for ``perform``, many for ``perform_batch``).
    events: Sequence[dict[str, Any]] = ()
    #: Profiles this destination keeps in the state store (profile-request destinations);
    #: None when the runtime has no state store.
    profiles: Profiles | None = None


SandboxStarter = Callable[[dict[str, Any], dict[str, Any], Path], AbstractContextManager[dict[str, Any]]]
Perform = Callable[[Context[Any], Any], Awaitable[Any]]
PerformBatch = Callable[[Context[Any], list[Any]], Awaitable[Sequence[BatchResult]]]


@dataclass(frozen=True)
class Action(Generic[PayloadT]):
    """One thing a destination can do with an event.

    At least one of ``perform`` and ``perform_batch`` is given. An action with only
    ``perform_batch`` is always batched, up to ``batch_size`` payloads per call; one with both
    is batched when a subscription asks for it.
    """

    slug: str
    title: str
    description: str
    payload: type[PayloadT]
    perform: Callable[[Context[Any], PayloadT], Awaitable[Any]] | None = None
    perform_batch: Callable[[Context[Any], list[PayloadT]], Awaitable[Sequence[BatchResult]]] | None = None
    default_trigger: str | None = None
    batch_size: int = 100

    def __post_init__(self) -> None:
        if not _SLUG.match(self.slug):
            raise PluginError(f"action slug {self.slug!r} must be lower-case letters, digits, '-' or '_'")
        if self.perform is None and self.perform_batch is None:
            raise PluginError(f"action {self.slug!r} needs perform or perform_batch")
        if not (isinstance(self.payload, type) and issubclass(self.payload, BaseModel)):
            raise PluginError(f"action {self.slug!r}: payload must be a pydantic model class")
        if self.batch_size < 1:
            raise PluginError(f"action {self.slug!r}: batch_size must be at least 1")

    @property
    def default_mapping(self) -> dict[str, Any]:
        return default_mapping_of(self.payload)

    @property
    def always_batched(self) -> bool:
        return self.perform is None


@dataclass(frozen=True)
class Preset:
    """A ready-made subscription; a destination configured without subscriptions uses its presets."""

    name: str
    action: str
    trigger: str | None = None
    mapping: Mapping[str, Any] = dataclass_field(default_factory=dict)


@dataclass(frozen=True)
class Destination(Generic[SettingsT]):
    """A destination plugin: registered under the entry-point group ``destkit.destinations``."""

    slug: str
    name: str
    description: str
    settings: type[SettingsT]
    actions: Sequence[Action[Any]]
    presets: Sequence[Preset] = ()
    #: Headers and base URL for every request, computed once from the validated settings.
    request_defaults: Callable[[SettingsT], RequestDefaults] | None = None
    #: How requests are authenticated (Custom, Basic or OAuth2), and how to test credentials.
    authentication: Authentication = dataclass_field(default_factory=Custom)
    #: Turns a non-2xx answer into a DeliveryError; the default is errors.error_for_response.
    classify_response: Callable[[httpx.Response], DeliveryError] | None = None
    retry: RetryPolicy = dataclass_field(default_factory=RetryPolicy)
    #: Starts a local stand-in for the destination's API (``replay --sandbox``): given the
    #: configured settings, the destination's ``sandbox:`` options from the config and the
    #: config's folder, it serves while the context lasts and yields the settings to replace.
    sandbox: SandboxStarter | None = None
    #: The options its sandbox takes in a destination's ``sandbox:`` entry; any other is a
    #: config error, found by ``destkit validate`` too.
    sandbox_options: Collection[str] = ()
    #: What a dry run answers to each request, so that actions reading answers go on.
    dry_run_answer: Callable[[httpx.Request], httpx.Response] | None = None
    #: Its actions keep data in the state store (profiles), so a run that delivers without one
    #: is refused before the first event instead of failing event by event.
    needs_state: bool = False

    def __post_init__(self) -> None:
        if not _SLUG.match(self.slug):
            raise PluginError(f"destination slug {self.slug!r} must be lower-case letters, digits, '-' or '_'")
        if not (isinstance(self.settings, type) and issubclass(self.settings, BaseModel)):
            raise PluginError(f"destination {self.slug!r}: settings must be a pydantic model class")
        slugs = [action.slug for action in self.actions]
        if not slugs:
            raise PluginError(f"destination {self.slug!r} declares no action")
        duplicated = sorted({slug for slug in slugs if slugs.count(slug) > 1})
        if duplicated:
            raise PluginError(f"destination {self.slug!r} declares action(s) twice: {', '.join(duplicated)}")
        for preset in self.presets:
            if preset.action not in slugs:
                raise PluginError(f"destination {self.slug!r}: preset {preset.name!r} names unknown action {preset.action!r}")
        self.authentication.check(self.settings, self.slug)

    def action(self, slug: str) -> Action[Any]:
        for action in self.actions:
            if action.slug == slug:
                return action
        slugs = [a.slug for a in self.actions]
        hint = did_you_mean(slug, slugs)
        raise PluginError(f"destination {self.slug!r} has no action {slug!r}{hint} (it has: {', '.join(slugs)})")
