"""Pydantic's validation errors in an operator's words: one line per mistake, located, never
showing a value (settings hold secrets).

A location inside a config names what a person named: ``destination 'crm-hook'
(destinations[0]), subscription 'orders': tigger: unknown key (did you mean 'trigger'?)``.
An unknown key is told with the near miss it probably is, from the keys the model at that
spot takes, so one mechanism serves the config's own blocks and every plugin's settings.
"""

from __future__ import annotations

import types
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .errors import ConfigError, ConfigErrors
from .names import did_you_mean

__all__ = [
    "Problems",
    "validation_problems",
    "describe_validation_error",
    "where_in_config",
    "destination_where",
    "known_keys",
    "unknown_key",
]


class Problems:
    """The mistakes found so far in a config: every one is told, not just the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    @contextmanager
    def kept(self) -> Iterator[None]:
        """Note a ConfigError raised inside, and go on with the rest of the config."""
        try:
            yield
        except ConfigErrors as exc:
            self.problems.extend(exc.problems)
        except ConfigError as exc:
            self.problems.append(str(exc))

    def settle(self, into: list[str] | None) -> None:
        """Hand the problems to a caller gathering them (``into``), or raise them."""
        if into is not None:
            into.extend(self.problems)
        elif len(self.problems) == 1:
            raise ConfigError(self.problems[0])
        elif self.problems:
            raise ConfigErrors(self.problems)


#: Past this many keys, an unknown key's message gives no list of the known ones.
_LISTED = 12


def describe_validation_error(exc: ValidationError, data: Any = None, model: type[BaseModel] | None = None) -> str:
    """All of :func:`validation_problems` in one line, ``; ``-separated (a payload's errors)."""
    return "; ".join(validation_problems(exc, data, model))


def validation_problems(exc: ValidationError, data: Any = None, model: type[BaseModel] | None = None) -> list[str]:
    """One ``where: what`` line per error. ``data`` is what was validated (to name list items
    by their ``name``); ``model`` the model it was validated against (to suggest keys)."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            if parent is not None and parent.model_config.get("extra") == "allow":
                continue  # a model that takes any key, inside one checked strictly
            message = unknown_key(str(loc[-1]), known_keys(parent) if parent is not None else [])
        elif error["type"] == "missing":
            message = "missing"
        else:
            message = error["msg"]
        where = where_in_config(loc, data)
        lines.append(f"{where}: {message}" if where else message)
    return lines


def unknown_key(key: str, known: Collection[str]) -> str:
    """``unknown key``, with the near miss it probably is, or else the keys there are when few."""
    suggestion = did_you_mean(key, known)
    if suggestion or not known or len(known) > _LISTED:
        return "unknown key" + suggestion
    return f"unknown key (known: {', '.join(sorted(known))})"


def known_keys(model: type[BaseModel]) -> list[str]:
    """The keys a model takes: its fields' names and aliases."""
    keys = []
    for name, info in model.model_fields.items():
        keys.append(name)
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str) and alias != name:
                keys.append(alias)
    return keys


def destination_where(index: int, name: Any) -> str:
    """How messages name ``destinations[index]``: by its name when it has one."""
    return f"destination {name!r} (destinations[{index}])" if isinstance(name, str) and name else f"destinations[{index}]"


def where_in_config(loc: Sequence[Any], data: Any) -> str:
    """``loc`` in words: a config's destination and subscription by name, then a dotted path."""
    steps = list(loc)
    head = ""
    if len(steps) >= 2 and steps[0] == "destinations" and isinstance(steps[1], int) and isinstance(data, Mapping):
        entry = _item(data.get("destinations"), steps[1])
        head = destination_where(steps[1], entry.get("name") if isinstance(entry, Mapping) else None)
        steps, data = steps[2:], entry
        if len(steps) >= 2 and steps[0] == "subscriptions" and isinstance(steps[1], int) and isinstance(data, Mapping):
            sub = _item(data.get("subscriptions"), steps[1])
            name = sub.get("name") if isinstance(sub, Mapping) else None
            head += f", subscription {name!r}" if isinstance(name, str) and name else f", subscriptions[{steps[1]}]"
            steps, data = steps[2:], sub
    path = _dotted(steps, data)
    return f"{head}: {path}" if head and path else head or path


def _dotted(steps: Sequence[Any], data: Any) -> str:
    parts: list[str] = []
    node = data
    for step in steps:
        if isinstance(step, int):
            node = _item(node, step)
            label = f"[{step}]"
            if isinstance(node, Mapping) and isinstance(node.get("name"), str):
                label += f" ({node['name']})"
            parts.append(label)
        else:
            node = node.get(step) if isinstance(node, Mapping) else None
            parts.append(("." if parts else "") + str(step))
    return "".join(parts)


def _item(items: Any, index: int) -> Any:
    return items[index] if isinstance(items, list) and 0 <= index < len(items) else None


def _model_at(model: type[BaseModel] | None, loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model that validated the value at ``loc`` inside ``model``, when it was one."""
    annotation: Any = model
    for step in loc:
        annotation = _step(annotation, step)
        if annotation is None:
            return None
    found = _unwrap(annotation)
    members = get_args(found) if get_origin(found) in (Union, types.UnionType) else (found,)
    models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    return models[0] if models else None


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _step(annotation: Any, step: Any) -> Any:
    annotation = _unwrap(annotation)
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        for member in get_args(annotation):
            if member is not type(None) and (found := _step(member, step)) is not None:
                return found
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if step in (name, info.alias):
                return info.annotation
        return None
    args = get_args(annotation)
    if isinstance(step, int) and origin in (list, tuple, set, frozenset, Sequence) and args:
        return args[0]
    if isinstance(step, str) and origin in (dict, Mapping) and len(args) == 2:
        return args[1]
    return None
