"""HubSpot passes the standard suite, with a private app's token and with OAuth2 tokens."""

from destkit.destinations.hubspot import destination
from destkit.testing import make_event, sample_events, standard_tests

PRIVATE_APP = {"access_token": "pat-na1-0123456789", "portal_id": 1234567}
OAUTH = {
    "access_token": "oauth-access-0123456789",
    "refresh_token": "oauth-refresh-0123456789",
    "client_id": "client-1",
    "client_secret": "client-secret-0123456789",
    "portal_id": 1234567,
}

# Valid events first (each check runs on the first one an action takes), then one HubSpot's
# contacts refuse, so that a batch must keep each event's own result in its place.
EVENTS = [*sample_events(), make_event("identify", userId="u-bad", traits={"email": "not an email"})]

TestPrivateApp = standard_tests(destination, settings=PRIVATE_APP, events=EVENTS)
TestOAuth = standard_tests(destination, settings=OAUTH, events=EVENTS)
