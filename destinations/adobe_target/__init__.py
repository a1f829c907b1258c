"""Adobe Target: keep visitor profiles up to date, keyed by mbox3rdPartyId.

mbox3rdPartyId is the event's userId, falling back on anonymousId, so that profiles created
on the web (at.js or the Web SDK, with the same id) can be updated from the server. Three
actions:

- ``update_profile``: checks that the profile exists, then updates it (Target's single
  profile update never creates a profile; a missing one is ``PROFILE_NOT_FOUND``);
- ``update_profiles_batch``: the bulk profile update API (v2), which also creates profiles;
- ``upsert_profile``: the Delivery API, which creates the profile when it is missing.
"""

from __future__ import annotations

import httpx

from destkit import Custom, DeliveryError, Destination, RateLimited
from destkit.errors import error_for_response

from . import update_profile, update_profiles_batch, upsert_profile
from .dry_run import dry_run_answer
from .sandbox import SANDBOX_OPTIONS, start_sandbox
from .settings import Settings, request_defaults, test_authentication


def classify_response(response: httpx.Response) -> DeliveryError:
    """The bulk API says 503 when past its 50 calls a minute: that is rate limiting."""
    error = error_for_response(response)
    if response.status_code == 503 and "/profile/batch" in response.request.url.path:
        return RateLimited(error.message, status=503, retry_after=error.retry_after)
    if response.status_code == 420:  # Delivery API: too many concurrent requests in one session
        return RateLimited(error.message, status=420, retry_after=error.retry_after)
    return error


destination = Destination(
    slug="adobe-target",
    name="Adobe Target",
    description="Update Adobe Target visitor profiles (mbox3rdPartyId = userId, else anonymousId).",
    settings=Settings,
    actions=[update_profile.action, update_profiles_batch.action, upsert_profile.action],
    request_defaults=request_defaults,
    authentication=Custom(test_authentication=test_authentication),
    classify_response=classify_response,
    sandbox=start_sandbox,
    sandbox_options=SANDBOX_OPTIONS,
    dry_run_answer=dry_run_answer,
)
