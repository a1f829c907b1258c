"""The profile-request destinations pass the standard suite, keeping profiles in a real SQLite store."""

import tempfile
from pathlib import Path
from typing import Any

from destkit.destinations.adobe_target_edge import destination as target_edge
from destkit.destinations.custom_personalization import destination, destination_with_attributes
from destkit.testing import make_event, standard_tests

SETTINGS = {"datastream_id": "web-prod"}
PERSONAS: dict[str, Any] = {"personas": {"computation_class": "audience", "computation_key": "vip"}}
AUDIENCE = [make_event("identify", userId="u1", traits={"vip": True}, context=PERSONAS)]
ATTRIBUTES = {"sync_profile": {"attributes": {"plan": {"@path": "$.traits.plan"}}}}


def new_store() -> str:
    """A state file of its own for each run (the runtime opens and closes it)."""
    return str(Path(tempfile.mkdtemp(prefix="destkit-standard-")) / "state.db")


TestCustomPersonalization = standard_tests(destination, settings=SETTINGS, events=AUDIENCE, state=new_store)
TestWithAttributes = standard_tests(
    destination_with_attributes, settings=SETTINGS, events=AUDIENCE, mappings=ATTRIBUTES, state=new_store
)
TestTargetEdge = standard_tests(target_edge, settings=SETTINGS, events=AUDIENCE, state=new_store)
