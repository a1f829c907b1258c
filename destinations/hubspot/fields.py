"""Default mappings the actions share."""

from __future__ import annotations

from typing import Any


def first_of(*paths: str) -> dict[str, Any]:
    """The first of ``paths`` that has a value."""
    return {"@coalesce": [{"@path": path} for path in paths]}


#: A contact's email: in an identify's traits, a track's properties, or any call's context.traits.
EMAIL = first_of("$.traits.email", "$.properties.email", "$.context.traits.email")
