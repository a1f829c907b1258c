"""Canary secrets: settings whose every secret carries a marker, and a net for what destkit emits.

The standard suite plants a marker in every ``SecretStr`` setting (at the end of the value
given, so a URL or a token keeps its form), runs the action, and looks for the marker in
everything that leaves: outcome messages, report lines, log records and dry-run output. A
plugin that prints part of a secret (the path of a secret URL, the last characters of a key)
is caught as surely as one that prints it whole: any 8 consecutive characters of the marker
give it away.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, get_args

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

__all__ = ["Canaries", "plant_canaries", "capture_logs", "echo"]

#: How many consecutive characters of a marker betray a secret.
_PART = 8


class Canaries:
    """Settings with markers planted, and the marker to look for."""

    def __init__(self, settings: dict[str, Any], marker: str, planted: list[str]) -> None:
        self.settings = settings
        self.marker = marker
        #: The settings that carry the marker, by name (``headers.Authorization`` for a dict's entry).
        self.planted = planted

    def find_in(self, text: str) -> str | None:
        """The first place a part of the marker (8 characters or more) shows in ``text``, with
        some context; None when it shows nowhere."""
        for start in range(len(self.marker) - _PART + 1):
            at = text.find(self.marker[start : start + _PART])
            if at >= 0:
                return text[max(0, at - 60) : at + len(self.marker) + 20]
        return None


def _allows_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in get_args(annotation)


def plant_canaries(model: type[BaseModel], settings: Mapping[str, Any]) -> Canaries:
    """``settings`` with a marker appended to every secret (and put in every optional secret
    left empty, where the model accepts it)."""
    marker = f"cAnArY{uuid.uuid4().hex[:12]}"
    try:
        validated = model.model_validate(dict(settings))
    except ValidationError as exc:
        raise AssertionError(f"the settings given do not validate against {model.__name__}: {exc}") from None
    planted_settings = dict(settings)
    planted: list[str] = []
    optional: list[str] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        value = getattr(validated, name)
        if isinstance(value, SecretStr):
            planted_settings[key] = value.get_secret_value() + marker
            planted.append(key)
        elif isinstance(value, dict) and value and all(isinstance(item, SecretStr) for item in value.values()):
            planted_settings[key] = {entry: item.get_secret_value() + marker for entry, item in value.items()}
            planted.extend(f"{key}.{entry}" for entry in value)
        elif value is None and _allows_secret(info.annotation):
            planted_settings[key] = f"{marker}-{name}"
            optional.append(key)
    for attempt in (optional, []):  # an empty optional secret may have a form to keep: then left out
        trial = {key: value for key, value in planted_settings.items() if key not in optional or key in attempt}
        try:
            model.model_validate(trial)
        except ValidationError:
            continue
        return Canaries(trial, marker, planted + attempt)
    raise AssertionError(f"{model.__name__} refuses its settings once a marker is appended to each secret")


@contextmanager
def capture_logs() -> Iterator[list[str]]:
    """Every record destkit and its plugins log meanwhile, rendered with any traceback."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record) + (f"\n{record.exc_text}" if record.exc_text else ""))

    handler = Keep(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("destkit")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def echo(status: int) -> Any:
    """A mock handler answering ``status`` with everything the request carried, as a careless
    API might: its method, URL, headers and body."""

    def answer(request: httpx.Request) -> httpx.Response:
        headers = "; ".join(f"{name}: {value}" for name, value in request.headers.items())
        body = request.content.decode("utf-8", errors="replace")
        extra = {"Retry-After": "1"} if status in (429, 503) else {}
        return httpx.Response(status, text=f"{request.method} {request.url} [{headers}] {body}", headers=extra)

    return answer
