"""Near misses: wherever a name is checked against the names that exist (config keys, actions,
directives, destination slugs, ``--only``), an unknown one that is close to a known one gets a
suggestion, so that ``bearer_tokn`` is answered with ``did you mean 'bearer_token'?``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean"]

#: How alike two names must be (difflib's ratio) to suggest one for the other: one or two
#: letters wrong, missing or swapped in a word, not a different word.
_CUTOFF = 0.75


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` when ``name`` is a near miss for one of ``known``, else ``""``.

    Case is ignored when comparing (``Send`` suggests ``send``), never in what is suggested.
    """
    by_folded: dict[str, str] = {}
    for candidate in known:
        by_folded.setdefault(candidate.casefold(), candidate)
    close = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=_CUTOFF)
    return f" (did you mean {by_folded[close[0]]!r}?)" if close else ""
