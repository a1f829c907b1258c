"""The operator's config: which destinations, with which settings, subscribed to which events.

::

    destinations:
      - name: crm-webhook              # your name for this destination
        type: webhook                  # the plugin's slug
        settings: {url: "https://...", headers: {Authorization: "Bearer ${CRM_TOKEN}"}}
        retry: {max_attempts: 5}       # optional, the plugin's policy otherwise
        subscriptions:                 # optional, the plugin's presets otherwise
          - name: orders
            action: send
            trigger: 'type = "track" and event = "Order Completed"'   # optional
            mapping: {data: {"@path": "$.properties"}}                # optional, per field

Everything is checked and compiled here, before the first event: a mistake is reported with
the file, the destination, the subscription and the spot inside the mapping or trigger.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError

from .breaker import DEFAULT_AUTH_FAILURE_LIMIT
from .errors import ConfigError, ConfigWarning, DestkitError, MappingError, PluginError, TriggerSyntaxError
from .http import RequestDefaults
from .mappings import compile_mapping, compile_trigger
from .plugin import Action, Destination
from .redaction import secrets_of
from .registry import Registry, default_registry
from .retry import ParkingPolicy, RetryPolicy

__all__ = [
    "Config",
    "DestinationConfig",
    "SubscriptionConfig",
    "RuntimeOptions",
    "StateOptions",
    "CompiledDestination",
    "CompiledSubscription",
    "load_config",
    "parse_config",
    "compile_config",
    "interpolate_env",
    "describe_validation_error",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchOptions(_Strict):
    size: int | None = Field(None, ge=1, description="Payloads per call; the action's own size otherwise.")
    max_wait: float = Field(1.0, gt=0, description="Seconds a partly filled batch waits before it is sent.")


class SubscriptionConfig(_Strict):
    name: str = Field(min_length=1)
    action: str
    trigger: str | None = None
    mapping: dict[str, Any] = Field(default_factory=dict)
    batch: BatchOptions | None = None
    enabled: bool = True


class DestinationConfig(_Strict):
    name: str = Field(min_length=1)
    type: str
    settings: dict[str, Any] = Field(default_factory=dict)
    subscriptions: list[SubscriptionConfig] | None = None
    retry: RetryPolicy | None = None
    parking: ParkingPolicy = Field(default_factory=ParkingPolicy)
    auth_failure_limit: int | None = Field(
        DEFAULT_AUTH_FAILURE_LIMIT,
        ge=1,
        description="Consecutive INVALID_AUTHENTICATION answers after which nothing more is sent (null: never stop).",
    )
    enabled: bool = True
    #: Options for the destination's local stand-in, used only with ``--sandbox``.
    sandbox: dict[str, Any] = Field(default_factory=dict)


class RuntimeOptions(_Strict):
    concurrency: int = Field(32, ge=1, description="Deliveries in flight at once.")
    timeout: float = Field(10.0, gt=0, description="Seconds an HTTP request may take.")


class ServeOptions(_Strict):
    """``destkit serve``: who may send events, who may read profile attributes, and the limits
    that keep any caller from holding the service's memory, connections or time."""

    write_keys: list[SecretStr] = Field(
        default_factory=list, description="Segment write keys accepted on /v1/* (sent as the Basic-auth user)."
    )
    edge_tokens: list[SecretStr] = Field(
        default_factory=list,
        description="Bearer tokens that make a profile lookup (/ee/v2/interact) authenticated, so attributes are included.",
    )
    max_queue: int = Field(
        1_000_000,
        ge=1,
        description="Events accepted and not yet delivered, at most; past it, /v1/* answers 503 with Retry-After.",
    )
    lookup_max_bytes: int = Field(
        64 * 1024, ge=1024, le=16 * 1024 * 1024, description="Bytes a profile lookup's body may hold; 413 past it."
    )
    lookup_max_events: int = Field(100, ge=1, le=10_000, description="Events one profile lookup may ask about; 413 past it.")
    limit_concurrency: int = Field(
        1000, ge=1, description="Connections and requests in progress at once; past it, new requests are answered 503."
    )
    backlog: int = Field(2048, ge=1, description="Connections the operating system queues before the service accepts them.")
    header_timeout: float = Field(
        10.0, gt=0, description="Seconds a connection has to send a request's headers before it is closed."
    )
    body_timeout: float = Field(30.0, gt=0, description="Seconds a request has to send its whole body; 408 past it.")
    timeout_keep_alive: float = Field(5.0, gt=0, description="Seconds an idle connection is kept open after a response.")


class StateOptions(_Strict):
    """``state:``: how the state store is looked after (where it is comes from ``--state``)."""

    ledger_days: float | None = Field(
        30.0,
        gt=0,
        description="Days a delivery stays in the ledger (what stops a resent event from going out twice); "
        "serve and worker prune older entries every hour. null keeps them forever.",
    )
    lease_seconds: float = Field(
        30.0,
        ge=2,
        le=3600,
        description="How long a delivery process's claim on its share of the inbox (and on parked deliveries) "
        "lasts without renewal: after a process dies, the others take its work over this much later.",
    )


class Config(_Strict):
    destinations: list[DestinationConfig]
    runtime: RuntimeOptions = Field(default_factory=RuntimeOptions)
    serve: ServeOptions = Field(default_factory=ServeOptions)
    state: StateOptions = Field(default_factory=StateOptions)
    #: Where the config came from, for error messages; not part of the file.
    source: str = Field("<config>", exclude=True)
    _serve_problem: str | None = PrivateAttr(None)

    def serve_options(self) -> ServeOptions:
        """The ``serve:`` block, for the service, checked as the service needs it: with at least
        one non-empty write key. Only the service needs it, so a variable it names and the
        environment lacks stops ``destkit serve`` (and ``validate``), here, not a replay of the
        same file."""
        if self._serve_problem is not None:
            raise ConfigError(self._serve_problem)
        if not any(key.get_secret_value() for key in self.serve.write_keys):
            raise ConfigError(f"{self.source}: serve needs at least one write key (serve: {{write_keys: [...]}})")
        return self.serve

    @property
    def declares_serve(self) -> bool:
        """Whether the file has a ``serve:`` block (which ``destkit validate`` then checks as serve would)."""
        return "serve" in self.model_fields_set or self._serve_problem is not None


@dataclass(frozen=True)
class CompiledDestination:
    name: str
    plugin: Destination[Any]
    settings: BaseModel
    request_defaults: RequestDefaults
    retry: RetryPolicy
    secrets: frozenset[str]
    parking: ParkingPolicy = field(default_factory=ParkingPolicy)
    auth_failure_limit: int | None = DEFAULT_AUTH_FAILURE_LIMIT


@dataclass(frozen=True)
class CompiledSubscription:
    destination: CompiledDestination
    name: str
    action: Action[Any]
    trigger_source: str | None
    trigger: Callable[[dict[str, Any]], bool]
    mapping_source: dict[str, Any]
    mapping: Callable[[dict[str, Any]], dict[str, Any]]
    batch: BatchOptions | None
    #: What compiling found legal but doubtful, located as errors are (``destkit validate`` prints them).
    warnings: tuple[str, ...] = ()

    @property
    def mapping_hash(self) -> str:
        """Identifies the mapping in force, so a dead letter tells whether it has changed since."""
        encoded = json.dumps(self.mapping_source, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]


# --- reading ------------------------------------------------------------------------------------


#: the largest config file read; a config is a page or two, so this is only a bound
MAX_CONFIG_BYTES = 1024 * 1024


class _ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader, without aliases: ``*name`` can make a few hundred bytes expand into
    gigabytes ("billion laughs"), so one is refused where it stands, before anything expands."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            problem = "aliases (*name) are not allowed in a config"
            raise yaml.composer.ComposerError(None, None, problem, self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        return super().compose_node(parent, index)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read a YAML or JSON config file and validate its shape (not yet its plugins)."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{file}: a config file is at most {MAX_CONFIG_BYTES // 1024 // 1024} MB")
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.load(text, Loader=_ConfigLoader)  # a SafeLoader
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else str(file)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    return parse_config(data, source=str(file))


def parse_config(data: Any, *, source: str = "<config>") -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a config is a mapping with a 'destinations' list")
    serve = data.get("serve")
    serve_problem = None
    if isinstance(serve, dict):  # its secrets usually come from the environment
        try:
            data = {**data, "serve": interpolate_env(serve, f"{source}: serve")}
        except ConfigError as exc:  # told by serve_options(), to the one command that reads it
            data, serve_problem = {key: value for key, value in data.items() if key != "serve"}, str(exc)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_validation_error(exc, data)}") from None
    config.source = source
    config._serve_problem = serve_problem
    names = [d.name for d in config.destinations]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ConfigError(f"{source}: destination names must be unique: {', '.join(duplicated)}")
    return config


def describe_validation_error(exc: ValidationError, data: Any = None) -> str:
    """Pydantic errors as ``where: what`` lines, naming destinations by their names, never values."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        where = _location(error["loc"], data)
        message = "missing" if error["type"] == "missing" else error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)


def _location(loc: tuple[Any, ...], data: Any) -> str:
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int):
            label = f"[{step}]"
            node = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                label += f" ({node['name']})"
            parts.append(label)
        else:
            node = node.get(step) if isinstance(node, dict) else None
            parts.append(("." if parts else "") + str(step))
    return "".join(parts)


_ENV = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate_env(value: Any, where: str, environ: Mapping[str, str] | None = None) -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string; ``$${`` writes a literal ``${``."""
    env = os.environ if environ is None else environ
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name, default = match.group(1), match.group(2)
            if env.get(name) or (name in env and default is None):
                return env[name]
            if default is not None:  # unset or empty, as a shell's ${VAR:-default} reads it
                return default
            raise ConfigError(f"{where}: environment variable {name} is not set (write ${{{name}:-default}} for a fallback)")

        return _ENV.sub(substitute, value)
    if isinstance(value, dict):
        return {k: interpolate_env(v, f"{where}.{k}", env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate_env(v, f"{where}[{i}]", env) for i, v in enumerate(value)]
    return value


# --- compiling ----------------------------------------------------------------------------------


def compile_config(
    config: Config, registry: Registry | None = None, environ: Mapping[str, str] | None = None
) -> list[CompiledSubscription]:
    """Check every destination against its plugin and compile every subscription once."""
    registry = registry or default_registry()
    compiled: list[CompiledSubscription] = []
    for index, entry in enumerate(config.destinations):
        if not entry.enabled:
            continue
        where, plugin = plugin_for(config, index, registry)
        destination = _compile_destination(entry, plugin, where, environ)
        subscriptions = entry.subscriptions
        if subscriptions is None:
            subscriptions = [
                SubscriptionConfig(name=p.name, action=p.action, trigger=p.trigger, mapping=dict(p.mapping))
                for p in plugin.presets
            ]
            if not subscriptions:
                raise ConfigError(f"{where}: no subscriptions, and {plugin.slug!r} has no presets to use instead")
        names = [s.name for s in subscriptions]
        for sub in subscriptions:
            if not sub.enabled:
                continue
            sub_where = f"{where}, subscription {sub.name!r}"
            if names.count(sub.name) > 1:
                raise ConfigError(f"{sub_where}: subscription names must be unique within a destination")
            try:
                action = plugin.action(sub.action)
            except PluginError as exc:
                raise ConfigError(f"{sub_where}: {exc}") from None
            trigger_source = sub.trigger if sub.trigger is not None else action.default_trigger
            if trigger_source is None:
                raise ConfigError(f"{sub_where}: no trigger, and action {action.slug!r} has no default trigger")
            with warnings.catch_warnings(record=True) as found:
                warnings.simplefilter("always", ConfigWarning)
                try:
                    trigger = compile_trigger(trigger_source)
                except TriggerSyntaxError as exc:
                    raise ConfigError(f"{sub_where}: trigger: {exc}") from None
                said = [f"{sub_where}: trigger: {w.message}" for w in found if issubclass(w.category, ConfigWarning)]
                found.clear()
                mapping_source = _merged_mapping(action, sub.mapping, sub_where)
                try:
                    mapping = compile_mapping(mapping_source)
                except MappingError as exc:
                    raise ConfigError(f"{sub_where}: mapping: {exc}") from None
                said += [f"{sub_where}: mapping: {w.message}" for w in found if issubclass(w.category, ConfigWarning)]
            batch = sub.batch
            if batch is not None and action.perform_batch is None:
                raise ConfigError(f"{sub_where}: action {action.slug!r} cannot batch (it has no perform_batch)")
            if batch is None and action.always_batched:
                batch = BatchOptions()
            compiled.append(
                CompiledSubscription(
                    destination, sub.name, action, trigger_source, trigger, mapping_source, mapping, batch, tuple(said)
                )
            )
    return compiled


def plugin_for(config: Config, index: int, registry: Registry) -> tuple[str, Destination[Any]]:
    """Where ``destinations[index]`` is (for messages), and its plugin; a ConfigError if missing."""
    entry = config.destinations[index]
    where = f"{config.source}: destination {entry.name!r} (destinations[{index}])"
    try:
        return where, registry.get(entry.type)
    except PluginError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _merged_mapping(action: Action[Any], overrides: dict[str, Any], where: str) -> dict[str, Any]:
    """The action's default mapping with the subscription's fields laid over it, field by field."""
    fields = action.payload.model_fields
    accepted = {info.alias or name for name, info in fields.items()}
    extra_allowed = action.payload.model_config.get("extra") == "allow"
    unknown = sorted(set(overrides) - accepted)
    if unknown and not extra_allowed:
        raise ConfigError(
            f"{where}: mapping names field(s) {', '.join(unknown)} that action {action.slug!r} does not have "
            f"(it has: {', '.join(sorted(accepted))})"
        )
    return {**action.default_mapping, **overrides}


def _compile_destination(
    entry: DestinationConfig, plugin: Destination[Any], where: str, environ: Mapping[str, str] | None
) -> CompiledDestination:
    raw_settings = interpolate_env(entry.settings, f"{where}: settings", environ)
    try:
        settings = plugin.settings.model_validate(raw_settings)
    except ValidationError as exc:
        raise ConfigError(f"{where}: settings: {describe_validation_error(exc)}") from None
    try:
        defaults = plugin.request_defaults(settings) if plugin.request_defaults else RequestDefaults()
    except DestkitError as exc:
        raise ConfigError(f"{where}: settings: {exc}") from None
    auth = plugin.authentication
    if auth.headers(settings):
        defaults = replace(defaults, headers={**defaults.headers, **auth.headers(settings)})
    return CompiledDestination(
        name=entry.name,
        plugin=plugin,
        settings=settings,
        request_defaults=defaults,
        retry=entry.retry or plugin.retry,
        secrets=frozenset(secrets_of(settings) | auth.derived_secrets(settings)),
        parking=entry.parking,
        auth_failure_limit=entry.auth_failure_limit,
    )
