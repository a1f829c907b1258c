"""Seeding the sandbox's profiles from JSON, and what a profile keeps of each update."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from destkit.destinations.adobe_target.sandbox_profiles import SandboxProfile, load_profiles


def test_profiles_are_seeded_from_ids_and_objects_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    path.write_text(json.dumps(["u1", {"mbox3rdPartyId": "u2", "attributes": {"plan": "pro", "seats": 3}}]))
    assert load_profiles(path) == [("u1", {}), ("u2", {"plan": "pro", "seats": "3"})]


@pytest.mark.parametrize(
    ("source", "words"),
    [({"u1": {}}, "holds a JSON list"), (["u1", 7], r"profiles\[1\]: expected an id"), ([{"id": "u3"}], r"profiles\[0\]")],
)
def test_a_bad_seed_names_the_entry(source: Any, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        load_profiles(source)


def test_an_update_stamps_each_attribute_and_counts() -> None:
    profile = SandboxProfile("u1", "tnt-1", visible_at=0.0)
    profile.set([("plan", "pro"), ("seats", "3")])
    profile.set([("plan", "team")])
    assert {name: value for name, (value, _) in profile.attributes.items()} == {"plan": "team", "seats": "3"}
    assert profile.updates == 2
    assert profile.attributes["plan"][1] == profile.modified_at
