"""Keeping secrets out of everything destkit prints, logs or writes: one mechanism.

Secrets come from the settings model: every ``SecretStr`` setting, and the parts of it that
can show up alone (:func:`secret_parts`): the credentials after an HTTP auth scheme
(``Bearer <token>``; a ``Basic`` pair's password too), and of a URL its userinfo, path,
query and query values (a Slack-style webhook URL's path *is* the secret), though not its
scheme and host. The password in any URL setting counts too. A :class:`Redactor` knows them
(and their URL-encoded forms) and masks them in any text; the runtime passes every error
message, report, dead letter and log line through one before it leaves. Headers that carry
credentials by their name (:func:`credential_header`) are masked whatever their source.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

from pydantic import BaseModel, SecretBytes, SecretStr

__all__ = ["Redactor", "secrets_of", "secret_parts", "credential_header", "mask_header", "MASK", "RedactingFilter"]

MASK = "***"
_MIN_SECRET = 4  # masking one- to three-character strings would garble ordinary text
#: An HTTP auth scheme (RFC 9110's token) followed by its credentials.
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +(\S.*)", re.DOTALL)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
#: Header names that carry credentials, whoever set them: Authorization, Cookie, X-Api-Key,
#: X-Auth-Token, X-Amz-Security-Token, a signature...
_CREDENTIAL_HEADER = re.compile(r"auth|cookie|token|secret|passw|api-?key|signature|credential|session", re.IGNORECASE)


def credential_header(name: str) -> bool:
    """Whether a header named ``name`` carries a credential (its value is never shown)."""
    return _CREDENTIAL_HEADER.search(name.replace("_", "-")) is not None


def mask_header(name: str, value: str) -> str:
    """``value`` as it may be shown: masked for a credential header, keeping only an auth scheme
    (``Bearer ***``); unchanged for any other header."""
    if not credential_header(name):
        return value
    scheme = _SCHEME.fullmatch(value.strip())
    return f"{scheme.group(1)} {MASK}" if scheme else MASK


def secret_parts(value: str) -> set[str]:
    """A secret value and the parts of it that may appear on their own in an answer or a URL.

    ``Bearer abc`` gives ``abc`` too; ``Basic dXNlcjpwdw==`` its decoded ``user:pw`` and ``pw``;
    a URL its userinfo, password, path, query and each query value, but not the whole URL,
    whose scheme and host are no secret (so a printed request still says where it went).
    """
    value = value.strip()
    if _URL.match(value):
        return url_secrets(value, everything=True)
    parts = {value}
    scheme = _SCHEME.fullmatch(value)
    if scheme:
        credentials = scheme.group(2).strip()
        parts.add(credentials)
        if scheme.group(1).lower() == "basic":
            parts |= _basic_parts(credentials)
    return parts


def url_secrets(url: str, *, everything: bool = False) -> set[str]:
    """A URL's userinfo and password; with ``everything``, its path, query and query values too."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL after all (a bad port, say): the whole value stays secret
        return {url} if everything else set()
    found = set()
    if "@" in parts.netloc:
        found.add(parts.netloc.rsplit("@", 1)[0])
        if password:
            found.add(password)
    if everything:
        found |= {parts.path.rstrip("/"), parts.query, parts.fragment}
        found |= {item for _, item in parse_qsl(parts.query, keep_blank_values=True)}
    return {part for part in found if part}


def _basic_parts(credentials: str) -> set[str]:
    try:
        pair = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return set()
    return {pair, pair.partition(":")[2]}


def secrets_of(value: Any) -> set[str]:
    """Every secret inside settings: ``SecretStr`` fields and their :func:`secret_parts`, the
    passwords of URL settings, in nested models, dicts and lists."""
    found: set[str] = set()
    if isinstance(value, SecretStr):
        found |= secret_parts(value.get_secret_value())
    elif isinstance(value, SecretBytes):
        found |= secret_parts(value.get_secret_value().decode(errors="replace"))
    elif isinstance(value, str):
        if _URL.match(value):
            found |= url_secrets(value)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found |= secrets_of(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            found |= secrets_of(item)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            found |= secrets_of(item)
    return found


class Redactor:
    """Masks known secret strings in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        forms = set(self._secrets)
        for secret in secrets:
            if secret and len(secret) >= _MIN_SECRET:
                forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._secrets)


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the rendered message of every record."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if self.redactor:
            record.msg = self.redactor(record.getMessage())
            record.args = None
        return True
