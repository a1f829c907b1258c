"""The plugin API's declarations: what a destination and its actions may be, and how they are typed."""

from __future__ import annotations

import typing

from destkit.http import Requester
from destkit.plugin import Context
from destkit.profiles import Profiles


def test_the_context_annotations_resolve_at_run_time() -> None:
    hints = typing.get_type_hints(Context)
    assert hints["http"] is Requester
    assert hints["profiles"] == Profiles | None
