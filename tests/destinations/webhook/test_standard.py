"""The webhook passes the standard suite."""

from destkit.destinations.webhook import destination
from destkit.testing import standard_tests

TestStandard = standard_tests(
    destination, settings={"url": "https://hooks.example.com/segment", "headers": {"Authorization": "Bearer whk-0123456789"}}
)
