"""HubSpot's ``--sandbox``: the sandbox served on loopback for a run, set up from the config.

The configured credentials are the ones the sandbox accepts: an access token alone is a
private app's; a refresh token comes with the OAuth app's client id and secret, and any
configured access token is one the sandbox never issued, so the run begins by renewing it.
Options come from the destination's ``sandbox:`` entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from destkit.testing import LoopbackServer

from .sandbox import HubSpotSandbox

__all__ = ["start_sandbox", "OPTIONS"]

#: The ``sandbox:`` options, and the type each is read as.
OPTIONS: dict[str, type] = {
    "token_lifetime": float,
    "portal_id": int,
    "unique_properties": list,
    "properties": list,
    "burst": int,
    "window": float,
    "daily": int,
    "fault_rate": float,
    "latency_ms": float,
    "seed": int,
}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@contextmanager
def start_sandbox(settings: dict[str, Any], options: dict[str, Any], base_dir: Path) -> Iterator[dict[str, Any]]:
    """Serve a sandbox while the run lasts; yield the settings that point the destination at it."""
    chosen = {name: OPTIONS[name](value) for name, value in options.items()}
    refresh = _text(settings.get("refresh_token"))
    credentials: dict[str, Any] = {
        "private_tokens": [token] if (token := _text(settings.get("access_token"))) and not refresh else []
    }
    if refresh:
        credentials.update(
            client_id=_text(settings.get("client_id")),
            client_secret=_text(settings.get("client_secret")),
            refresh_tokens=[refresh],
        )
    portal = settings.get("portal_id")
    chosen.setdefault("portal_id", int(str(portal)) if str(portal or "").isdigit() else 1234567)
    with LoopbackServer(app=HubSpotSandbox(**credentials, **chosen).app) as server:
        yield {"base_url": server.url, "token_url": f"{server.url}/oauth/v3/token"}
