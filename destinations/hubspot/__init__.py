"""HubSpot: contacts kept up to date, and custom behavioral events on their timelines.

- ``upsert_contact``: CRM v3's batch upsert, by email or a custom property with unique
  values, up to 100 contacts per call, each event getting its own contact's result;
- ``send_custom_event``: one custom behavioral event occurrence per track event.

Authentication is a private app's access token, or OAuth2 tokens the destination renews
(``auth.py``). HubSpot's rate limits are read from its 429 answers (``limits.py``).
"""

from __future__ import annotations

from destkit import Destination, Preset

from . import send_custom_event, upsert_contact
from .auth import authentication
from .dry_run import dry_run_answer
from .limits import classify_response
from .sandbox_starter import OPTIONS, start_sandbox
from .settings import Settings, request_defaults

destination = Destination(
    slug="hubspot",
    name="HubSpot",
    description="Upsert HubSpot contacts from identify calls, and send track events as custom behavioral events.",
    settings=Settings,
    actions=[upsert_contact.action, send_custom_event.action],
    presets=[Preset(name="contacts", action="upsert_contact")],
    request_defaults=request_defaults,
    authentication=authentication,
    classify_response=classify_response,
    sandbox=start_sandbox,
    sandbox_options=frozenset(OPTIONS),
    dry_run_answer=dry_run_answer,
)
