"""URL paths built from data: one encoder for a path segment, one check for a path.

A value from an event (an id, a mapped path) that ends up in a URL must never change where
the request goes. Two tools, used by ``ctx.http`` and by payload models:

- :func:`path_segment` encodes a value as exactly one path segment: ``/``, ``?``, ``#`` and
  ``%`` are percent-encoded, and ``.``/``..`` (which every HTTP client and server resolves,
  encoded or not: RFC 3986 makes ``%2E`` a dot) are refused, since no encoding keeps them one
  segment. ``ctx.http`` applies it to every ``{name}`` of a URL given ``path_params``.
- :data:`RelativePath` is a payload type for a path appended to the destination's URL: it
  can never name another scheme, host or port, nor climb out of the URL's own path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote, unquote

from pydantic import AfterValidator

from .errors import PayloadValidationError

__all__ = ["path_segment", "expand_path", "check_relative_path", "RelativePath"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DOT_SEGMENTS = frozenset({".", ".."})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: How many times a path is percent-decoded for checking: a server that decodes twice
#: (``%252F`` -> ``%2F`` -> ``/``) must see nothing worse than one that decodes once.
_DECODINGS = 3


def path_segment(value: str, name: str = "path segment") -> str:
    """``value`` percent-encoded as exactly one URL path segment.

    Raises:
        PayloadValidationError: for an empty value, ``.`` or ``..`` (``name`` says whose).
    """
    if value in _DOT_SEGMENTS or not value:
        shown = repr(value) if value else "empty"
        raise PayloadValidationError(f"{name}: {shown} cannot be a URL path segment (it would change the path)")
    return quote(value, safe="")


def expand_path(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with each ``{name}`` replaced by ``path_segment(str(values[name]))``.

    Raises:
        PayloadValidationError: for a value that cannot be a segment.
        KeyError: for a placeholder ``values`` lacks (a plugin's mistake, not the event's).
    """
    return _PLACEHOLDER.sub(lambda found: path_segment(str(values[found.group(1)]), found.group(1)), template)


def check_relative_path(value: str) -> str:
    """``value`` if it is safe to append to a URL's path: empty, or starting with one ``/``,
    with no backslash, control character or dot segment in its path, percent-decoded or not.

    Raises:
        ValueError: naming what is wrong (pydantic reports it as the field's error).
    """
    if not value:
        return value
    form = value
    for _ in range(_DECODINGS):
        _check_path_form(form, value)
        decoded = unquote(form)
        if decoded == form:
            break
        form = decoded
    return value


def _check_path_form(form: str, value: str) -> None:
    shown = repr(value[:80])
    if not form.startswith("/") or form.startswith("//"):
        raise ValueError(f"{shown} is not a path: it must start with a single '/' (it cannot name a scheme, host or port)")
    path = form.split("?", 1)[0].split("#", 1)[0]
    if "\\" in path:
        raise ValueError(f"{shown} holds a backslash, which some servers and clients read as '/'")
    if _CONTROL.search(form):
        raise ValueError(f"{shown} holds a control character")
    if any(segment in _DOT_SEGMENTS for segment in path.split("/")):
        raise ValueError(f"{shown} holds a '.' or '..' segment, which would climb out of the destination's URL")


#: A payload field for a path appended to the destination's URL (see :func:`check_relative_path`).
RelativePath = Annotated[str, AfterValidator(check_relative_path)]
