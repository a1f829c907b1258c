"""Webhook: POST each mapped event (or a batch of them) as JSON to a URL of yours.

The smallest complete destination, and the one to copy when writing a new plugin: settings
and request defaults (``settings.py``), one module per action, presets.
"""

from __future__ import annotations

from destkit import Destination, Preset

from . import send, send_batch
from .settings import Settings, request_defaults

destination = Destination(
    slug="webhook",
    name="Webhook",
    description="Send events as JSON to any HTTP endpoint.",
    settings=Settings,
    actions=[send.action, send_batch.action],
    presets=[Preset(name="every event", action="send")],
    request_defaults=request_defaults,
)
