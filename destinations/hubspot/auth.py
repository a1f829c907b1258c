"""HubSpot's OAuth2: renewing an access token, and checking the credentials.

Access tokens last 30 minutes (``expires_in`` says so); HubSpot asks apps to renew them on
time rather than wait for a 401, which the session does from ``expires_in``. A private app's
token never expires and has no refresh token: a 401 is then the answer.
"""

from __future__ import annotations

from destkit import Context, OAuth2, OAuth2Tokens

from .settings import Settings


async def refresh_access_token(ctx: Context[Settings], tokens: OAuth2Tokens) -> OAuth2Tokens:
    """POST the refresh token to the token endpoint (form-encoded, as OAuth v3 requires)."""
    settings = ctx.settings
    assert settings.client_id is not None and settings.client_secret is not None  # the settings insist on both
    form = {
        "grant_type": "refresh_token",
        "client_id": settings.client_id,
        "client_secret": settings.client_secret.get_secret_value(),
        "refresh_token": tokens.refresh_token or "",
    }
    answer = await ctx.http.post(settings.token_endpoint, data=form)
    return OAuth2Tokens.from_answer(answer.json(), tokens)


async def test_authentication(ctx: Context[Settings]) -> None:
    """Read one contact: refused credentials are a 401 (a token HubSpot does not know) or a
    403 (a token without the CRM contacts scope)."""
    await ctx.http.get("/crm/v3/objects/contacts", params={"limit": 1})


authentication = OAuth2(refresh_access_token=refresh_access_token, test_authentication=test_authentication)
