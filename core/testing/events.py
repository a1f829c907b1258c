"""Valid Segment events for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

__all__ = ["make_event", "EVENT_TYPES"]

#: The six Segment calls, each with the fields its spec requires (and empty objects to fill).
_DEFAULTS: dict[str, dict[str, Any]] = {
    "track": {"event": "Test Event", "properties": {}},
    "identify": {"traits": {}},
    "group": {"groupId": "group-1", "traits": {}},
    "alias": {"previousId": "previous-1"},
    "page": {"properties": {}},
    "screen": {"properties": {}},
}
EVENT_TYPES = tuple(_DEFAULTS)


def make_event(type: str = "track", **fields: Any) -> dict[str, Any]:
    """A valid Segment event of ``type``; ``fields`` add to or replace the defaults."""
    event: dict[str, Any] = {
        "type": type,
        "messageId": f"test-{uuid.uuid4()}",
        "timestamp": datetime.now(UTC).isoformat(),
        "context": {},
    }
    if "userId" not in fields and "anonymousId" not in fields:
        event["anonymousId"] = "anonymous-test-user"
    event.update(_DEFAULTS.get(type, {}))
    event.update(fields)
    return event
