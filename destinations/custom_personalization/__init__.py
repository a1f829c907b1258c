"""Custom Personalization: a person's audiences (and, with attributes, chosen attributes), for
the pages and servers that ask ``destkit serve`` for them, as AEP's destinations of that name.

Two destinations, as in AEP: ``custom-personalization`` keeps audience memberships only;
``custom-personalization-with-attributes`` also keeps the attributes you map, and answers
them to authenticated lookups only. Nothing is sent anywhere: profiles stay in the state store.
"""

from __future__ import annotations

from typing import ClassVar

from destkit import Destination, Preset
from destkit.edge import EdgeSettings, no_sandbox_needed, sync_audiences

from . import sync_profile


class SettingsWithAttributes(EdgeSettings):
    keeps_attributes: ClassVar[bool] = True


destination = Destination(
    slug="custom-personalization",
    name="Custom Personalization",
    description="Keep each person's Engage audiences for profile lookups (POST /ee/v2/interact on destkit serve).",
    settings=EdgeSettings,
    actions=[sync_audiences],
    presets=[Preset(name="audiences", action="sync_audiences")],
    sandbox=no_sandbox_needed,
    needs_state=True,
)

destination_with_attributes = Destination(
    slug="custom-personalization-with-attributes",
    name="Custom Personalization With Attributes",
    description="Keep each person's Engage audiences and mapped attributes; attributes go only to authenticated lookups.",
    settings=SettingsWithAttributes,
    actions=[sync_audiences, sync_profile.action],
    presets=[Preset(name="audiences", action="sync_audiences")],
    sandbox=no_sandbox_needed,
    needs_state=True,
)
