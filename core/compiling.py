"""Compiling a config: each destination checked against its plugin, each subscription's
trigger and mapping compiled once, before the first event.

Every mistake is found, not just the first: ``destkit validate`` prints them all, each with the
file, the destination, the subscription and the spot; other commands stop with the same text.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .config import (
    BatchOptions,
    CompiledDestination,
    CompiledSubscription,
    Config,
    DestinationConfig,
    SubscriptionConfig,
    interpolate_env,
)
from .errors import ConfigError, ConfigErrors, ConfigWarning, DestkitError, MappingError, PluginError, TriggerSyntaxError
from .http import RequestDefaults
from .mappings import compile_mapping, compile_trigger
from .names import did_you_mean
from .plugin import Action, Destination
from .redaction import secrets_of
from .registry import Registry, default_registry
from .validation import Problems, destination_where, unknown_key, validation_problems

__all__ = ["compile_config", "plugin_for", "check_sandbox_options", "check_state_kept"]


def compile_config(
    config: Config,
    registry: Registry | None = None,
    environ: Mapping[str, str] | None = None,
    problems: list[str] | None = None,
) -> list[CompiledSubscription]:
    """Check every destination against its plugin and compile every subscription once.

    Every mistake is raised at once (:class:`ConfigErrors`), or, given a ``problems`` list,
    added to it, returning what compiled."""
    registry = registry or default_registry()
    found = Problems()
    compiled: list[CompiledSubscription] = []
    for index, entry in enumerate(config.destinations):
        if entry.enabled:
            with found.kept():
                compiled += _compile_entry(config, index, registry, environ, found)
    found.settle(problems)
    return compiled


def _compile_entry(
    config: Config, index: int, registry: Registry, environ: Mapping[str, str] | None, found: Problems
) -> list[CompiledSubscription]:
    entry = config.destinations[index]
    where, plugin = plugin_for(config, index, registry)
    with found.kept():
        check_sandbox_options(entry, plugin, where)
    destination = None
    with found.kept():  # a settings mistake still lets the subscriptions be checked
        destination = _compile_destination(entry, plugin, where, environ)
    subscriptions = entry.subscriptions
    if subscriptions is None:
        subscriptions = [
            SubscriptionConfig(name=p.name, action=p.action, trigger=p.trigger, mapping=dict(p.mapping)) for p in plugin.presets
        ]
        if not subscriptions:
            raise ConfigError(f"{where}: no subscriptions, and {plugin.slug!r} has no presets to use instead")
    names = [s.name for s in subscriptions]
    compiled = []
    for sub in subscriptions:
        sub_where = f"{where}, subscription {sub.name!r}"
        if not sub.enabled:
            continue
        if names.count(sub.name) > 1:
            found.problems.append(f"{sub_where}: subscription names must be unique within a destination")
            continue
        with found.kept():
            one = _compile_subscription(sub, plugin, destination, sub_where, found)
            if one is not None:
                compiled.append(one)
    return compiled


def _compile_subscription(
    sub: SubscriptionConfig, plugin: Destination[Any], destination: CompiledDestination | None, where: str, found: Problems
) -> CompiledSubscription | None:
    """One subscription, its trigger and its mapping each checked (a mistake in one does not
    hide the other's); None when anything in it is wrong."""
    try:
        action = plugin.action(sub.action)
    except PluginError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    before = len(found.problems)
    trigger: Callable[[dict[str, Any]], bool] | None = None
    mapping: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConfigWarning)
        trigger_source = sub.trigger if sub.trigger is not None else action.default_trigger
        with found.kept():
            if trigger_source is None:
                raise ConfigError(f"{where}: no trigger, and action {action.slug!r} has no default trigger")
            try:
                trigger = compile_trigger(trigger_source)
            except TriggerSyntaxError as exc:
                raise ConfigError(f"{where}: trigger: {exc}") from None
        said = [f"{where}: trigger: {w.message}" for w in caught if issubclass(w.category, ConfigWarning)]
        caught.clear()
        mapping_source: dict[str, Any] = {}
        with found.kept():
            mapping_source = _merged_mapping(action, sub.mapping, where)
            try:
                mapping = compile_mapping(mapping_source)
            except MappingError as exc:
                raise ConfigError(f"{where}: mapping: {exc}") from None
        said += [f"{where}: mapping: {w.message}" for w in caught if issubclass(w.category, ConfigWarning)]
    batch = sub.batch
    if batch is not None and action.perform_batch is None:
        raise ConfigError(f"{where}: action {action.slug!r} cannot batch (it has no perform_batch)")
    if batch is None and action.always_batched:
        batch = BatchOptions()
    if destination is None or trigger is None or mapping is None or len(found.problems) > before:
        return None
    return CompiledSubscription(
        destination, sub.name, action, trigger_source, trigger, mapping_source, mapping, batch, tuple(said)
    )


def plugin_for(config: Config, index: int, registry: Registry) -> tuple[str, Destination[Any]]:
    """Where ``destinations[index]`` is (for messages), and its plugin; a ConfigError if missing."""
    entry = config.destinations[index]
    where = f"{config.source}: {destination_where(index, entry.name)}"
    try:
        return where, registry.get(entry.type)
    except PluginError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def check_sandbox_options(entry: DestinationConfig, plugin: Destination[Any], where: str) -> None:
    """A ConfigError naming each key of the destination's ``sandbox:`` entry its sandbox does not take."""
    problems = [
        f"{where}: sandbox.{key}: {unknown_key(key, plugin.sandbox_options)}"
        for key in entry.sandbox
        if key not in plugin.sandbox_options
    ]
    if problems:
        raise ConfigErrors(problems)


def _merged_mapping(action: Action[Any], overrides: dict[str, Any], where: str) -> dict[str, Any]:
    """The action's default mapping with the subscription's fields laid over it, field by field."""
    fields = action.payload.model_fields
    accepted = {info.alias or name for name, info in fields.items()}
    extra_allowed = action.payload.model_config.get("extra") == "allow"
    unknown = sorted(set(overrides) - accepted)
    if unknown and not extra_allowed:
        hints = "".join(did_you_mean(name, accepted) for name in unknown)
        raise ConfigError(
            f"{where}: mapping names field(s) {', '.join(unknown)} that action {action.slug!r} does not have"
            f"{hints} (it has: {', '.join(sorted(accepted))})"
        )
    return {**action.default_mapping, **overrides}


def _settings(model: type[BaseModel], raw: dict[str, Any], where: str) -> BaseModel:
    """A plugin's settings, validated with every key checked: a key the model does not take is
    a mistake (a typo in ``bearer_token`` would otherwise send no credential), unless the model
    says it takes any key (``extra="allow"``)."""
    strict: Literal["forbid"] | None = None if model.model_config.get("extra") == "allow" else "forbid"
    try:
        return model.model_validate(raw, extra=strict)
    except ValidationError as exc:
        problems = [f"{where}: {line}" for line in validation_problems(exc, raw, model)]
        if problems:
            raise ConfigErrors(problems) from None
    return model.model_validate(raw)  # the only unknown keys were inside models that take any


def _compile_destination(
    entry: DestinationConfig, plugin: Destination[Any], where: str, environ: Mapping[str, str] | None
) -> CompiledDestination:
    raw_settings = interpolate_env(entry.settings, f"{where}: settings", environ)
    settings = _settings(plugin.settings, raw_settings, f"{where}: settings")
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


def check_state_kept(subscriptions: list[CompiledSubscription], why_none: str) -> None:
    """A ConfigError when a run keeping no state store (``why_none`` says why) would deliver to a
    destination whose plugin keeps data in one: it would fail every event it is sent."""
    needing = sorted(
        {f"{s.destination.name!r} ({s.destination.plugin.slug})" for s in subscriptions if s.destination.plugin.needs_state}
    )
    if needing:
        raise ConfigError(
            f"destination(s) {', '.join(needing)} keep their data in the state store, and this run has none "
            f"({why_none}): give --state"
        )
