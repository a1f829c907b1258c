"""Target's XML answers (profile update, bulk submit, bulk status), read with a real parser.

defusedxml's parser, not the standard library's: it refuses any entity declaration and
any external reference outright, so an answer with a "billion laughs" or a file-reading
entity is an error instead of being expanded within expat's amplification limits, while
the entities XML itself defines (``&amp;`` in ``tom&amp;jerry``) are decoded as they must be.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from destkit import DeliveryError

__all__ = ["InvalidAnswer", "parse_answer", "text_of", "count_of", "MAX_ANSWER"]

#: Bytes of XML read at most: a status listing 500,000 rows is far below this.
MAX_ANSWER = 64 * 1024 * 1024


class InvalidAnswer(DeliveryError):
    """Target answered with XML that cannot be read (malformed, too large, or hostile)."""

    code = "INVALID_ANSWER"


def parse_answer(body: bytes | str, what: str) -> Element:
    """The root element of an XML answer; InvalidAnswer (naming ``what``) when it is not XML
    or declares entities, a DTD with external parts, or is larger than :data:`MAX_ANSWER`."""
    if len(body) > MAX_ANSWER:
        raise InvalidAnswer(f"Adobe Target's {what} answer is {len(body):,} bytes, over the {MAX_ANSWER:,} read")
    try:
        root: Element = fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InvalidAnswer(
            f"Adobe Target's {what} answer holds a DTD or an entity declaration, which is refused, "
            f"not expanded ({type(exc).__name__})"
        ) from None
    except ParseError as exc:
        raise InvalidAnswer(f"Adobe Target's {what} answer is not XML ({exc})") from None
    return root


def text_of(element: Element, name: str) -> str | None:
    """The stripped text of ``element``'s first ``name`` child (or of itself when it is one)."""
    found = element if element.tag == name else element.find(name)
    if found is None:
        return None
    return "".join(found.itertext()).strip()


def count_of(element: Element, name: str) -> int:
    """The whole number in ``element``'s ``name`` child (0 when absent); InvalidAnswer otherwise."""
    text = text_of(element, name) or "0"
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise InvalidAnswer(f"Adobe Target's {name} is not a count: {text[:40]!r}")
    return int(text)
