"""Who may call the sandbox, and how often: tokens, their expiry and renewal, rate limits.

- A private app's token (``--private-app-token``) never expires. An OAuth app (``--client-id``,
  ``--client-secret``) renews access tokens at ``POST /oauth/v3/token`` from a refresh token it
  was given (``--refresh-token``); each lives ``token_lifetime`` seconds (HubSpot: 1,800). A
  token the sandbox does not know is a 401 ``INVALID_AUTHENTICATION``, an expired one a 401
  ``EXPIRED_AUTHENTICATION``, as HubSpot answers.
- Every app shares a rolling window of ``burst`` calls per ``window`` seconds (HubSpot: 100 or
  more per 10 s): past it, 429 with ``policyName: TEN_SECONDLY_ROLLING``; a private app also
  has ``daily`` calls a day: past them, 429 with ``policyName: DAILY``. Answers carry the
  ``X-HubSpot-RateLimit-*`` headers (the daily ones for private apps only, as HubSpot does).
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Access", "Refusal", "Caller"]


@dataclass(frozen=True)
class Refusal:
    """An answer other than the one asked for: its status, JSON body and headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Caller:
    """Who called: a private app, or an OAuth app (whose calls count no daily limit)."""

    private: bool
    headers: dict[str, str]


class Access:
    def __init__(
        self,
        *,
        private_tokens: Iterable[str] = (),
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_tokens: Iterable[str] = (),
        token_lifetime: float = 1800.0,
        burst: int = 100,
        window: float = 10.0,
        daily: int = 250_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.private_tokens = set(private_tokens)
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_tokens = set(refresh_tokens)
        self.token_lifetime = token_lifetime
        self.burst, self.window, self.daily = burst, window, daily
        self.clock = clock
        self.access_tokens: dict[str, float] = {}  # token -> when it expires
        self.issued = 0
        self._calls: deque[float] = deque()
        self._daily_used = 0

    # --- tokens -----------------------------------------------------------------------------------

    def renew(self, form: Mapping[str, str]) -> Refusal:
        """The token endpoint: an answer (status 200 with tokens) or HubSpot's refusal."""
        if form.get("grant_type") != "refresh_token":
            return Refusal(400, {"status": "BAD_GRANT_TYPE", "message": "grant_type must be refresh_token"})
        if form.get("client_id") != self.client_id or self.client_id is None:
            return Refusal(400, {"status": "BAD_CLIENT_ID", "message": "missing or unknown client id"})
        if form.get("client_secret") != self.client_secret:
            return Refusal(400, {"status": "BAD_CLIENT_SECRET", "message": "missing or invalid client secret"})
        refresh = form.get("refresh_token", "")
        if refresh not in self.refresh_tokens:
            return Refusal(400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"})
        token = f"sandbox-at-{secrets.token_hex(12)}"
        self.access_tokens[token] = self.clock() + self.token_lifetime
        self.issued += 1
        body = {"token_type": "bearer", "access_token": token, "refresh_token": refresh, "expires_in": int(self.token_lifetime)}
        return Refusal(200, body)

    def expire_all(self) -> int:
        """Make every access token issued so far expired (to exercise renewal); how many there were."""
        now = self.clock()
        for token in self.access_tokens:
            self.access_tokens[token] = now
        return len(self.access_tokens)

    # --- a call -----------------------------------------------------------------------------------

    def admit(self, authorization: str | None) -> Caller | Refusal:
        """Who the caller is, within their limits; else the 401 or 429 to answer."""
        token = (authorization or "").removeprefix("Bearer ").strip()
        private = token in self.private_tokens
        if not private:
            expires = self.access_tokens.get(token)
            if expires is None:
                return _unauthorized("Authentication credentials not found.", "INVALID_AUTHENTICATION")
            late = self.clock() - expires
            if late >= 0:
                return _unauthorized(
                    f"The OAuth token used to make this call expired {int(late)} second(s) ago.", "EXPIRED_AUTHENTICATION"
                )
        now = self.clock()
        while self._calls and self._calls[0] <= now - self.window:
            self._calls.popleft()
        if private and self._daily_used >= self.daily:
            return self._limited("DAILY", "You have reached your daily limit.", private)
        if len(self._calls) >= self.burst:
            return self._limited("TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.", private)
        self._calls.append(now)
        self._daily_used += private
        return Caller(private, self.headers(private))

    def headers(self, private: bool) -> dict[str, str]:
        window = {
            "X-HubSpot-RateLimit-Max": str(self.burst),
            "X-HubSpot-RateLimit-Remaining": str(max(0, self.burst - len(self._calls))),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.window * 1000)),
        }
        if private:
            window["X-HubSpot-RateLimit-Daily"] = str(self.daily)
            window["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(0, self.daily - self._daily_used))
        return window

    def _limited(self, policy: str, message: str, private: bool) -> Refusal:
        body = {"status": "error", "message": message, "errorType": "RATE_LIMIT", "policyName": policy}
        return Refusal(429, body, self.headers(private))


def _unauthorized(message: str, category: str) -> Refusal:
    return Refusal(401, {"status": "error", "message": message, "category": category})
