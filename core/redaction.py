"""Keeping secrets out of everything destkit prints, logs or writes.

Secrets are the values of ``SecretStr`` settings. A :class:`Redactor` knows them (and their
URL-encoded forms) and masks them in any text; the runtime passes every error message and
log line through one before it leaves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, SecretBytes, SecretStr

__all__ = ["Redactor", "secrets_of", "MASK", "RedactingFilter"]

MASK = "***"
_MIN_SECRET = 4  # masking one- to three-character strings would garble ordinary text


def secrets_of(value: Any) -> set[str]:
    """Every secret value inside settings: ``SecretStr`` fields, in nested models, dicts and lists."""
    found: set[str] = set()
    if isinstance(value, SecretStr):
        found.add(value.get_secret_value())
    elif isinstance(value, SecretBytes):
        found.add(value.get_secret_value().decode(errors="replace"))
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
