"""Checking a presented secret (a write key, an edge token) against the known ones, in constant time.

A plain ``key in keys`` stops at the first differing byte and at the first match, so how long
it takes tells a caller how much of a guess was right, and which key matched. Here every known
key is compared with :func:`hmac.compare_digest`, always all of them.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

__all__ = ["KeyRing"]


class KeyRing:
    """The secrets a service accepts; empty ones are left out."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = tuple(dict.fromkeys(key.encode() for key in keys if key))

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def values(self) -> set[str]:
        """The keys themselves, for a redactor to mask."""
        return {key.decode() for key in self._keys}

    def accepts(self, presented: str) -> bool:
        """Whether ``presented`` is one of the keys, comparing with every key whatever the answer."""
        candidate = presented.encode("utf-8", errors="surrogatepass")
        found = False
        for key in self._keys:
            found |= hmac.compare_digest(candidate, key)
        return found
