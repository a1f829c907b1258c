"""The sandbox's contacts: records with properties, found by email or by a unique property.

What HubSpot checks of a contact's properties, the sandbox checks too: a property must exist
(HubSpot's default contact properties, and those given with ``--property``), an email must look
like one (``INVALID_EMAIL``), a lifecycle stage must be one of HubSpot's (``INVALID_OPTION``).
A property of unique values (``email``, and those given with ``--unique-property``) identifies
a contact in a batch upsert. Emails are compared without case, as HubSpot compares them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["Contact", "ContactBook", "DEFAULT_PROPERTIES", "LIFECYCLE_STAGES"]

#: HubSpot's default contact properties that destkit's mappings write, and a few more.
DEFAULT_PROPERTIES = frozenset(
    {
        "email",
        "firstname",
        "lastname",
        "phone",
        "mobilephone",
        "company",
        "jobtitle",
        "website",
        "address",
        "city",
        "state",
        "zip",
        "country",
        "lifecyclestage",
        "hs_lead_status",
    }
)
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _now(clock: Callable[[], float]) -> str:
    return datetime.fromtimestamp(clock(), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Contact:
    id: str
    properties: dict[str, str]
    created_at: str
    updated_at: str
    updates: int = 0

    def as_result(self, new: bool) -> dict[str, Any]:
        """As the batch upsert answers with it."""
        return {
            "id": self.id,
            "properties": dict(self.properties),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "archived": False,
            "new": new,
        }


@dataclass
class ContactBook:
    """Every contact, by record id; unique properties index them."""

    unique: frozenset[str] = frozenset({"email"})
    known: frozenset[str] = DEFAULT_PROPERTIES
    clock: Callable[[], float] = field(default=lambda: datetime.now(UTC).timestamp())
    contacts: dict[str, Contact] = field(default_factory=dict)

    @classmethod
    def create(
        cls, unique: Iterable[str] = (), custom: Iterable[str] = (), clock: Callable[[], float] | None = None
    ) -> ContactBook:
        unique_set = frozenset({"email", *unique})
        book = cls(unique=unique_set, known=DEFAULT_PROPERTIES | unique_set | frozenset(custom))
        if clock is not None:
            book.clock = clock
        return book

    def problems(self, id_property: str, value: str, properties: dict[str, Any]) -> list[dict[str, Any]]:
        """What HubSpot would refuse in one input: one detail (message, code, context) per problem."""
        found: list[dict[str, Any]] = []
        if id_property == "email" and not _EMAIL.match(value):
            found.append(_detail(f"Email address {value} is invalid", "INVALID_EMAIL", "email"))
        for name, given in properties.items():
            if name not in self.known:
                found.append(_detail(f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST", name))
            elif not isinstance(given, str):
                found.append(_detail(f"{name} was not a string: {given!r}", "INVALID_STRING", name))
            elif name == "email" and given and not _EMAIL.match(given):
                found.append(_detail(f"Email address {given} is invalid", "INVALID_EMAIL", name))
            elif name == "lifecyclestage" and given and given not in LIFECYCLE_STAGES:
                found.append(_detail(f"{given!r} was not one of the allowed options: {LIFECYCLE_STAGES}", "INVALID_OPTION", name))
        return found

    def find(self, id_property: str, value: str) -> Contact | None:
        wanted = value.lower() if id_property == "email" else value
        for contact in self.contacts.values():
            have = contact.properties.get(id_property, "")
            if (have.lower() if id_property == "email" else have) == wanted:
                return contact
        return None

    def upsert(self, id_property: str, value: str, properties: dict[str, str]) -> tuple[Contact, bool]:
        """Create or update the contact whose ``id_property`` is ``value``; True when created."""
        now = _now(self.clock)
        contact = self.find(id_property, value)
        created = contact is None
        if contact is None:
            contact = Contact(str(len(self.contacts) + 1001), {id_property: value}, now, now)
            self.contacts[contact.id] = contact
        else:
            contact.updates += 1
        contact.properties.update(properties)
        contact.updated_at = now
        return contact, created


def _detail(message: str, code: str, name: str) -> dict[str, Any]:
    return {"message": message, "code": code, "context": {"propertyName": [name]}}
