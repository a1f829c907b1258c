"""Adobe Target on AEP's edge: a person's audiences, for pages that ask, as AEP's Adobe Target
connection (a profile-request destination) provides them to Target.

Audience memberships only (the connection carries no attributes); they stay in the state
store and ``destkit serve`` answers lookups for them (POST /ee/v2/interact). For pushing
profile attributes to Target itself, use the ``adobe-target`` destination.
"""

from __future__ import annotations

from destkit import Destination, Preset
from destkit.edge import EdgeSettings, no_sandbox_needed, sync_audiences

destination = Destination(
    slug="adobe-target-edge",
    name="Adobe Target (edge)",
    description="Keep each person's Engage audiences for Adobe Target's profile lookups on the edge.",
    settings=EdgeSettings,
    actions=[sync_audiences],
    presets=[Preset(name="audiences", action="sync_audiences")],
    sandbox=no_sandbox_needed,
    needs_state=True,
)
