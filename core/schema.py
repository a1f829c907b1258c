"""A destination described from its models: what ``destinations show`` prints and docs are made of."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .plugin import Action, Destination, default_mapping_of

__all__ = ["describe_destination", "describe_fields"]


def describe_fields(model: type[BaseModel]) -> list[dict[str, Any]]:
    """One row per field: name, JSON type, required, default, default mapping, secret, description."""
    schema = model.model_json_schema()
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    mappings = default_mapping_of(model)
    rows = []
    for name, prop in properties.items():
        rows.append(
            {
                "name": name,
                "type": _type_of(prop, schema),
                "required": name in required,
                "default": prop.get("default"),
                "default_mapping": mappings.get(name),
                "secret": _is_secret(prop),
                "description": prop.get("description", ""),
            }
        )
    return rows


def _is_secret(prop: dict[str, Any]) -> bool:
    """A SecretStr, optional (``anyOf`` with null) or as the values of a dict, is a secret."""
    if prop.get("format") == "password":
        return True
    values = prop.get("additionalProperties")
    options = prop.get("anyOf", [])
    return (isinstance(values, dict) and _is_secret(values)) or any(_is_secret(option) for option in options)


def _type_of(prop: dict[str, Any], schema: dict[str, Any]) -> str:
    if "enum" in prop:
        return " | ".join(repr(v) for v in prop["enum"])
    if "const" in prop:
        return repr(prop["const"])
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " | ".join(_type_of(option, schema) for option in prop["anyOf"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"array of {_type_of(prop.get('items', {}), schema)}"
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"object of {_type_of(prop['additionalProperties'], schema)}"
    return str(kind)


def _describe_action(action: Action[Any]) -> dict[str, Any]:
    return {
        "slug": action.slug,
        "title": action.title,
        "description": action.description,
        "default_trigger": action.default_trigger,
        "batching": "always" if action.always_batched else ("optional" if action.perform_batch else "no"),
        "batch_size": action.batch_size if action.perform_batch else None,
        "fields": describe_fields(action.payload),
        "default_mapping": action.default_mapping,
        "payload_schema": action.payload.model_json_schema(),
    }


def describe_destination(destination: Destination[Any]) -> dict[str, Any]:
    return {
        "slug": destination.slug,
        "name": destination.name,
        "description": destination.description,
        "settings": describe_fields(destination.settings),
        "settings_schema": destination.settings.model_json_schema(),
        "actions": [_describe_action(action) for action in destination.actions],
        "presets": [
            {"name": p.name, "action": p.action, "trigger": p.trigger, "mapping": dict(p.mapping)} for p in destination.presets
        ],
        "retry": destination.retry.model_dump(),
    }
