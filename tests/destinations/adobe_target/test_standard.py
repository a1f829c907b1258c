"""Adobe Target passes the standard suite."""

from destkit.destinations.adobe_target import destination
from destkit.testing import standard_tests

TRAITS = {"traits": {"@path": "$.traits"}}

TestStandard = standard_tests(
    destination,
    settings={"client_code": "acme", "bearer_token": "at-token-0123456789"},
    mappings={"update_profile": TRAITS, "update_profiles_batch": TRAITS, "upsert_profile": TRAITS},
)
