"""``destkit check``: is each destination's API reachable, and are its credentials accepted?

Nothing is delivered. A plugin that declares ``test_authentication`` (Segment's
``testAuthentication``) has it run, through the same ``ctx.http`` its actions use (an OAuth2
token is refreshed if refused). For one that declares none, a ``HEAD`` to its base URL shows
the API answers at all; a destination that calls no API has nothing to check.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .config import CompiledDestination
from .errors import DeliveryError
from .runtime import Runtime

__all__ = ["CheckResult", "check_destinations"]


@dataclass(frozen=True)
class CheckResult:
    """One destination's check: ``ok``, and what was found, in words (secrets masked)."""

    destination: str
    type: str
    ok: bool
    detail: str


async def check_destinations(runtime: Runtime) -> list[CheckResult]:
    """Check every enabled destination of a started runtime, side by side, in config order."""
    destinations = list({sub.destination.name: sub.destination for sub in runtime.subscriptions}.values())
    return list(await asyncio.gather(*(_check(runtime, destination) for destination in destinations)))


async def _check(runtime: Runtime, destination: CompiledDestination) -> CheckResult:
    plugin = destination.plugin

    def result(ok: bool, detail: str) -> CheckResult:
        return CheckResult(destination.name, plugin.slug, ok, runtime.redact(detail))

    context = runtime.context(destination.name)
    test = plugin.authentication.test_authentication
    try:
        if test is not None:
            await test(context)
            return result(True, "credentials accepted")
        if not destination.request_defaults.base_url:
            return result(True, "nothing to check: it calls no API")
        answer = await context.http.head("", raise_for_status=False)
    except DeliveryError as error:
        return result(False, f"{error.code}: {error.message}")
    except Exception as error:  # a bug in the plugin's test is its failure, not check's
        return result(False, f"PLUGIN_ERROR: test_authentication raised {type(error).__name__}: {error}")
    unchecked = f"credentials not checked: {plugin.slug} declares no test"
    return result(True, f"reachable (HEAD answered {answer.status_code}); {unchecked}")
