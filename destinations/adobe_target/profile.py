"""Adobe Target's rules for profile attributes, shared by the three actions.

Traits become flat ``name -> string`` attributes: nested objects joined with dots
(``address.city``), arrays by index (``tags.0``), nulls dropped, values written the way a
person reads them (``true``, ``3``, ``19.99``). Adobe's limits are checked before any call:
an attribute name is at most 128 characters, a value at most 256, an id at most 256.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from destkit import DeliveryError, PayloadValidationError, field
from destkit.mappings import js_string

__all__ = [
    "ProfilePayload",
    "USER_OR_ANONYMOUS_ID",
    "MAX_ID",
    "MAX_NAME",
    "MAX_VALUE",
    "PROFILE_NOT_FOUND_RETRY_AFTER",
    "ProfileNotFound",
    "profile_attributes",
    "check_id",
]

MAX_ID = 256
MAX_NAME = 128
MAX_VALUE = 256
#: How long to wait before asking again about a missing profile. Target syncs new profiles
#: every 5 to 10 minutes, so retrying within seconds is pointless: this is longer than any
#: fast-retry cap, and the event waits for the slow schedule.
PROFILE_NOT_FOUND_RETRY_AFTER = 300.0


USER_OR_ANONYMOUS_ID = {"@coalesce": [{"@path": "$.userId"}, {"@path": "$.anonymousId"}]}


class ProfilePayload(BaseModel):
    """What every Adobe Target action takes: whose profile, and which attributes to set."""

    mbox3rdPartyId: str = field(
        default_mapping=USER_OR_ANONYMOUS_ID,
        description="The visitor's id in Target: the userId, else the anonymousId.",
        max_length=MAX_ID,
    )
    traits: dict[str, Any] = field(
        description="Profile attributes to set. No default mapping, so that nothing (PII included) is sent "
        'unless you choose it: map {"@path": "$.traits"} for all traits, or pick some.',
    )


class ProfileNotFound(DeliveryError):
    """Target has no visible profile for this mbox3rdPartyId (yet)."""

    code = "PROFILE_NOT_FOUND"
    default_retryable = True

    def __init__(self, third_party_id: str, client_code: str, status: int | None = 404) -> None:
        super().__init__(
            f"Adobe Target has no profile with mbox3rdPartyId {third_party_id!r} for client {client_code!r}. "
            "Either it is not visible yet (a profile created on the web by at.js or the Web SDK can take up to "
            "an hour to reach the profile API), or it expired (after 14 days without activity by default). "
            "Target's update API never creates profiles: use the upsert_profile action to create them "
            "server-side.",
            status=status,
            retry_after=PROFILE_NOT_FOUND_RETRY_AFTER,
        )
        self.third_party_id = third_party_id


def _flatten(value: dict[str, Any] | list[Any], prefix: str, out: list[tuple[str, str]]) -> None:
    for key, item in value.items() if isinstance(value, dict) else enumerate(value):
        name = f"{prefix}.{key}" if prefix else str(key)
        if item is None:
            continue  # Target stores no nulls, and a missing value cannot clear one
        if isinstance(item, str):
            out.append((name, item))
        elif isinstance(item, dict | list):
            _flatten(item, name, out)
        else:
            out.append((name, js_string(item)))


def profile_attributes(traits: dict[str, Any]) -> list[tuple[str, str]]:
    """Flat ``(name, value)`` pairs for Target, in the traits' order; raises on Target's limits."""
    pairs: list[tuple[str, str]] = []
    _flatten(traits, "", pairs)
    for name, value in pairs:
        if len(name) > MAX_NAME:
            raise PayloadValidationError(
                f"traits: attribute name {name[:40]!r}... is {len(name)} characters (Adobe Target allows {MAX_NAME})"
            )
        if len(value) > MAX_VALUE:
            raise PayloadValidationError(
                f"traits.{name}: value is {len(value)} characters (Adobe Target allows {MAX_VALUE} per attribute)"
            )
    if not pairs:
        raise PayloadValidationError("traits: nothing to send (no attribute has a value; Target cannot store nulls)")
    return pairs


def check_id(third_party_id: str) -> str:
    if not third_party_id:
        raise PayloadValidationError("mbox3rdPartyId: empty (map userId or anonymousId onto it)")
    if len(third_party_id) > MAX_ID:
        raise PayloadValidationError(f"mbox3rdPartyId: {len(third_party_id)} characters (Adobe Target allows {MAX_ID})")
    return third_party_id
