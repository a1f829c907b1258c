"""HubSpot's answers read as destkit errors: its rate-limit policies above all.

A 429 names the limit hit in its body's ``policyName``, and the ``X-HubSpot-RateLimit-*``
headers say how the window stands:

- ``TEN_SECONDLY_ROLLING`` (and the older ``SECONDLY``): a burst limit over a rolling window of
  ``X-HubSpot-RateLimit-Interval-Milliseconds`` (10 s); waiting out the window is enough;
- ``DAILY``: the account's calls for the day are spent (``X-HubSpot-RateLimit-Daily-Remaining``
  is 0); they come back at midnight in the account's time zone, which destkit does not know,
  so the error asks to wait until the next midnight UTC.

A ``Retry-After`` header, when there is one, wins. Everything else reads as destkit's default.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from destkit import DeliveryError, RateLimited, error_for_response

#: When HubSpot names no window: one second, its burst limits' own unit.
BURST_WAIT = 1.0


def _number(response: httpx.Response, header: str) -> float | None:
    try:
        return float(response.headers[header])
    except (KeyError, ValueError):
        return None


def _policy(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    policy = body.get("policyName") if isinstance(body, dict) else None
    return policy if isinstance(policy, str) else ""


def until_midnight_utc(now: datetime | None = None) -> float:
    """Seconds until the next midnight UTC."""
    moment = now or datetime.now(UTC)
    midnight = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - moment).total_seconds()


def rate_limited(response: httpx.Response, error: DeliveryError) -> RateLimited:
    """A 429, with how long HubSpot's policy says to wait."""
    policy = _policy(response)
    daily_left = _number(response, "x-hubspot-ratelimit-daily-remaining")
    if policy == "DAILY" or daily_left == 0:
        wait = until_midnight_utc()
        reason = "the account's daily API calls are spent; they come back at midnight in its time zone"
    else:
        window = _number(response, "x-hubspot-ratelimit-interval-milliseconds")
        wait = window / 1000 if window and _number(response, "x-hubspot-ratelimit-remaining") == 0 else BURST_WAIT
        reason = f"a burst limit ({policy or 'unnamed'})"
    retry_after = error.retry_after if error.retry_after is not None else wait
    return RateLimited(f"HubSpot rate limit: {reason}. {error.message}", status=429, retry_after=retry_after)


def classify_response(response: httpx.Response) -> DeliveryError:
    """destkit's reading of HubSpot's answers: see the module's docstring."""
    error = error_for_response(response)
    if response.status_code == 429:
        return rate_limited(response, error)
    return error
