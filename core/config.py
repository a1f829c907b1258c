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

Here the file is read and its shape checked; :mod:`destkit.compiling` then checks it against
the plugins and compiles it, before the first event. Every mistake is reported with the file,
the destination, the subscription and the spot inside the mapping or trigger.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError

from .breaker import DEFAULT_AUTH_FAILURE_LIMIT
from .errors import ConfigError
from .http import RequestDefaults
from .plugin import Action, Destination
from .retry import ParkingPolicy, RetryPolicy
from .validation import Problems, describe_validation_error, validation_problems

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
    lookup_max_identities: int = Field(
        500, ge=1, le=100_000, description="Identities one profile lookup may name, all its events together; 413 past it."
    )
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


def load_config(path: str | os.PathLike[str], problems: list[str] | None = None) -> Config:
    """Read a YAML or JSON config file and validate its shape (not yet its plugins); with a
    ``problems`` list, shape mistakes are added to it instead of raised (see :func:`parse_config`)."""
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
    return parse_config(data, source=str(file), problems=problems)


def parse_config(data: Any, *, source: str = "<config>", problems: list[str] | None = None) -> Config:
    """Validate a config's shape. Every mistake is raised at once (:class:`ConfigErrors`), or,
    given a ``problems`` list, added to it and the config's sound part returned (``validate``)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a config is a mapping with a 'destinations' list")
    found = Problems()
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
        found.problems += [f"{source}: {line}" for line in validation_problems(exc, data, Config)]
        config = _sound_part(data, exc)
    config.source = source
    config._serve_problem = serve_problem
    names = [d.name for d in config.destinations if d.enabled or d.type]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        found.problems.append(f"{source}: destination names must be unique: {', '.join(duplicated)}")
    found.settle(problems)
    return config


def _sound_part(data: dict[str, Any], exc: ValidationError) -> Config:
    """What of a config is valid, so that its plugins, triggers and mappings can be checked too:
    the config without the keys found wrong (their defaults apply) or, when that is not
    enough, with each broken destination a disabled placeholder, keeping the others' indexes."""
    pruned = copy.deepcopy(data)
    for error in exc.errors():
        _drop(pruned, error["loc"])
    try:
        return Config.model_validate(pruned)
    except ValidationError as again:
        return _placeholders(pruned, again)


def _drop(data: dict[str, Any], loc: tuple[int | str, ...]) -> None:
    """Remove the innermost key on the way to ``loc`` (never the destinations list itself)."""
    node: Any = data
    holder: dict[str, Any] | None = None
    key: Any = None
    for step in loc:
        if isinstance(node, dict) and step in node:
            holder, key = node, step
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            break
    if holder is not None and not (holder is data and key == "destinations"):
        del holder[key]


def _placeholders(data: dict[str, Any], exc: ValidationError) -> Config:
    broken = {tuple(error["loc"][:2]) for error in exc.errors() if error["loc"][:1] == ("destinations",)}
    blocks = {error["loc"][0] for error in exc.errors() if error["loc"] and error["loc"][0] != "destinations"}
    kept = {key: value for key, value in data.items() if key not in blocks}
    entries = data.get("destinations")
    if ("destinations",) in broken or not isinstance(entries, list):
        entries = []
    kept["destinations"] = [
        {"name": f"destinations[{index}]", "type": "", "enabled": False} if ("destinations", index) in broken else entry
        for index, entry in enumerate(entries)
    ]
    try:
        return Config.model_validate(kept)
    except ValidationError:  # nothing sound to check further
        return Config(destinations=[])


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
