"""How a destination authenticates, as Segment's destination definitions declare it.

::

    Custom()                       the credentials travel as request_defaults puts them (the default)
    Basic(username="user", password="password")     HTTP Basic from two settings
    OAuth2(refresh_access_token=refresh)             a Bearer access token, refreshed by the plugin

Each scheme may also declare ``test_authentication(ctx)``: a cheap call that raises a
:class:`DeliveryError` when the credentials are refused (``destkit check`` runs it, sending no
event).

With ``OAuth2``, the settings hold an access token and a refresh token (field names
configurable). The runtime keeps one :class:`OAuth2Session` per destination: every request
carries its current access token; a 401 (or a token known to have expired) makes it call the
plugin's ``refresh_access_token`` once, and every delivery in flight then uses the new token.
Refreshed tokens are saved through a :class:`TokenStore` (in memory unless the runtime is
given another), so a restart does not begin with an expired token.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, SecretStr

from .errors import DeliveryError, InvalidAuthentication, PluginError

if TYPE_CHECKING:
    from .plugin import Context

__all__ = [
    "Authentication",
    "Custom",
    "Basic",
    "OAuth2",
    "OAuth2Tokens",
    "OAuth2Session",
    "TokenStore",
    "MemoryTokenStore",
]

#: Stop using a token this long before its announced expiry (half its life when that is
#: shorter), so no request carries one that dies in flight.
EXPIRY_MARGIN = 60.0

TestAuthentication = Callable[["Context[Any]"], Awaitable[None]]


def _setting(settings: BaseModel, name: str) -> str | None:
    value = getattr(settings, name, None)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value or None


@dataclass(frozen=True)
class Authentication:
    """A destination's authentication scheme; see the module's docstring for the three kinds."""

    scheme: ClassVar[str] = "custom"
    #: Raises a DeliveryError (INVALID_AUTHENTICATION, say) when the credentials are refused.
    test_authentication: TestAuthentication | None = None

    def fields(self) -> tuple[str, ...]:
        """The settings this scheme reads (checked against the settings model when declared)."""
        return ()

    def headers(self, settings: BaseModel) -> dict[str, str]:
        """Headers the scheme puts on every request, computed once from the settings."""
        return {}

    def derived_secrets(self, settings: BaseModel) -> set[str]:
        """Secrets made from the settings' secrets (an encoded credential), masked like them."""
        return set()

    def check(self, settings: type[BaseModel], destination: str) -> None:
        missing = [name for name in self.fields() if name not in settings.model_fields]
        if missing:
            raise PluginError(
                f"destination {destination!r}: its {self.scheme} authentication reads setting(s) "
                f"{', '.join(missing)}, which its settings model does not have"
            )


@dataclass(frozen=True)
class Custom(Authentication):
    """Credentials the plugin places itself, with ``request_defaults`` (an API key header...)."""

    scheme: ClassVar[str] = "custom"


@dataclass(frozen=True)
class Basic(Authentication):
    """HTTP Basic authentication from two settings (the password one a ``SecretStr``)."""

    scheme: ClassVar[str] = "basic"
    username: str = "username"
    password: str = "password"

    def fields(self) -> tuple[str, ...]:
        return (self.username, self.password)

    def _token(self, settings: BaseModel) -> str:
        pair = f"{_setting(settings, self.username) or ''}:{_setting(settings, self.password) or ''}"
        return base64.b64encode(pair.encode("utf-8")).decode("ascii")

    def headers(self, settings: BaseModel) -> dict[str, str]:
        return {"Authorization": f"Basic {self._token(settings)}"}

    def derived_secrets(self, settings: BaseModel) -> set[str]:
        return {self._token(settings)}


@dataclass(frozen=True)
class OAuth2Tokens:
    """An OAuth2 access token, the refresh token that renews it, and when to stop using the
    access token (epoch seconds; None when unknown: used until refused)."""

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None

    def expired(self, now: float) -> bool:
        """True when there is no access token, or its time is up."""
        return not self.access_token or (self.expires_at is not None and now >= self.expires_at)

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any], previous: OAuth2Tokens, now: float | None = None) -> OAuth2Tokens:
        """Read a token endpoint's answer (RFC 6749, section 5.1): ``access_token``,
        ``expires_in`` (seconds) and, when the server rotates it, ``refresh_token``."""
        access = answer.get("access_token")
        if not isinstance(access, str) or not access:
            raise InvalidAuthentication("the token endpoint's answer holds no access_token")
        expires_in = answer.get("expires_in")
        moment = time.time() if now is None else now
        expires_at = None
        if isinstance(expires_in, int | float):
            life = max(0.0, float(expires_in))
            expires_at = moment + life - min(EXPIRY_MARGIN, life / 2)
        refresh = answer.get("refresh_token")
        return cls(access, refresh if isinstance(refresh, str) and refresh else previous.refresh_token, expires_at)


#: The plugin's renewal: given a context (its ``http`` carries no credential) and the current
#: tokens, ask the API's token endpoint for new ones.
RefreshAccessToken = Callable[["Context[Any]", OAuth2Tokens], Awaitable[OAuth2Tokens]]


@dataclass(frozen=True)
class OAuth2(Authentication):
    """A Bearer access token that the plugin's ``refresh_access_token`` renews."""

    scheme: ClassVar[str] = "oauth2"
    refresh_access_token: RefreshAccessToken | None = None
    access_token: str = "access_token"
    refresh_token: str = "refresh_token"

    def fields(self) -> tuple[str, ...]:
        return (self.access_token, self.refresh_token)

    def check(self, settings: type[BaseModel], destination: str) -> None:
        super().check(settings, destination)
        if self.refresh_access_token is None:
            raise PluginError(f"destination {destination!r}: oauth2 authentication needs refresh_access_token")

    def tokens(self, settings: BaseModel) -> OAuth2Tokens:
        """The tokens the operator configured."""
        return OAuth2Tokens(_setting(settings, self.access_token) or "", _setting(settings, self.refresh_token))

    def session(
        self, ctx: Context[Any], *, key: str, store: TokenStore, learnt: Callable[[Iterable[str]], None]
    ) -> OAuth2Session:
        """A destination's session: ``ctx`` (its settings, and an ``http`` without credentials)
        is what ``refresh_access_token`` gets; ``learnt`` hears of every token learnt, to mask it."""
        renew = self.refresh_access_token
        assert renew is not None  # check() insists on it

        async def refresh(tokens: OAuth2Tokens) -> OAuth2Tokens:
            return await renew(ctx, tokens)

        def remember(tokens: OAuth2Tokens) -> None:
            learnt(secret for secret in (tokens.access_token, tokens.refresh_token) if secret)

        return OAuth2Session(self.tokens(ctx.settings), refresh, key=key, store=store, on_new_tokens=remember)


class TokenStore(Protocol):
    """Where refreshed tokens are kept between runs. The state store's contract has the same
    two methods, so a :class:`~destkit.state.StateStore` is one."""

    async def load_token(self, key: str) -> dict[str, Any] | None:
        """The value saved under ``key``, or None."""
        ...

    async def save_token(self, key: str, value: dict[str, Any]) -> None:
        """Keep ``value`` under ``key``, replacing what was there."""
        ...


class MemoryTokenStore:
    """A :class:`TokenStore` for one process's lifetime (the default)."""

    def __init__(self) -> None:
        self._values: dict[str, dict[str, Any]] = {}

    async def load_token(self, key: str) -> dict[str, Any] | None:
        value = self._values.get(key)
        return dict(value) if value is not None else None

    async def save_token(self, key: str, value: dict[str, Any]) -> None:
        self._values[key] = dict(value)


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]


class OAuth2Session:
    """One destination's OAuth2 tokens while the runtime runs (the ``ctx.http`` credential).

    Saved tokens are used only while the configured refresh token is the one they came from:
    an operator who re-authorizes (and so changes the config) starts from the new tokens.
    """

    header = "Authorization"

    def __init__(
        self,
        configured: OAuth2Tokens,
        refresh: Callable[[OAuth2Tokens], Awaitable[OAuth2Tokens]] | None,
        *,
        key: str,
        store: TokenStore,
        on_new_tokens: Callable[[OAuth2Tokens], None] = lambda tokens: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tokens = configured
        self._refresh = refresh if configured.refresh_token else None
        self._key = key
        self._store = store
        self._on_new_tokens = on_new_tokens
        self._clock = clock
        self._origin = _fingerprint(configured.refresh_token or configured.access_token)
        self._lock = asyncio.Lock()
        self._loaded = False
        self.refreshes = 0

    async def value(self) -> str:
        if not self._loaded:
            async with self._lock:
                if not self._loaded:
                    self._adopt(await self._saved())
                    self._loaded = True
        if self._refresh is not None and self.tokens.expired(self._clock()):
            await self._renew(self.tokens.access_token)
        return f"Bearer {self.tokens.access_token}"

    async def rejected(self, used: str) -> bool:
        if self._refresh is None:
            return False  # a token nothing can renew (a private app's): the 401 is the answer
        await self._renew(used.removeprefix("Bearer "))
        return True

    async def _renew(self, seen: str) -> None:
        """Refresh once for everyone who saw ``seen`` fail: who waits on the lock finds it done."""
        assert self._refresh is not None
        async with self._lock:
            if self.tokens.access_token != seen:
                return  # renewed while this caller waited
            saved = await self._saved()  # another process may have renewed it already
            if saved is not None and saved.access_token != seen and not saved.expired(self._clock()):
                self._adopt(saved)
                return
            try:
                renewed = await self._refresh(self.tokens)
            except DeliveryError as error:
                if error.retryable:
                    raise
                raise InvalidAuthentication(
                    f"the OAuth2 access token could not be refreshed: {error.message}", status=error.status
                ) from None
            self.refreshes += 1
            self._adopt(renewed)
            record = {"access_token": renewed.access_token, "refresh_token": renewed.refresh_token}
            await self._store.save_token(self._key, {**record, "expires_at": renewed.expires_at, "origin": self._origin})

    def _adopt(self, tokens: OAuth2Tokens | None) -> None:
        if tokens is not None and tokens != self.tokens:
            self.tokens = replace(tokens, refresh_token=tokens.refresh_token or self.tokens.refresh_token)
            self._on_new_tokens(self.tokens)

    async def _saved(self) -> OAuth2Tokens | None:
        saved = await self._store.load_token(self._key)
        if not saved or saved.get("origin") != self._origin or not saved.get("access_token"):
            return None
        expires_at = saved.get("expires_at")
        return OAuth2Tokens(
            str(saved["access_token"]),
            saved.get("refresh_token") or None,
            float(expires_at) if isinstance(expires_at, int | float) else None,
        )
