"""Reading HubSpot's batch answers back onto the inputs that were sent, by objectWriteTraceId."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from destkit import BatchResult, DeliveryError, PayloadValidationError, RetryableError

#: Categories of a refused input that sending it again cannot fix: the data must change.
REFUSED = frozenset({"VALIDATION_ERROR", "OBJECT_NOT_FOUND", "CONFLICT", "OBJECT_ALREADY_EXISTS"})


def row_error(problem: Mapping[str, Any], contact: str) -> DeliveryError:
    """The error of one input HubSpot refused, in its words (and its detailed codes)."""
    details = [item for item in problem.get("errors") or [] if isinstance(item, Mapping)]
    said = "; ".join(str(item["message"]) for item in details if item.get("message")) or str(problem.get("message", ""))
    codes = sorted({str(item["code"]) for item in details if item.get("code")})
    message = f"HubSpot refused contact {contact!r}: {said}" + (f" ({', '.join(codes)})" if codes else "")
    if problem.get("category") in REFUSED:
        return PayloadValidationError(message)
    return RetryableError(message, code="BATCH_ROW_FAILED")


def _traces(item: Mapping[str, Any]) -> list[str]:
    """The trace ids an answer's item names: a result carries one, an error a list in its context."""
    own = item.get("objectWriteTraceId")
    if isinstance(own, str):
        return [own]
    context = item.get("context")
    listed = context.get("objectWriteTraceId") if isinstance(context, Mapping) else None
    return [str(trace) for trace in listed] if isinstance(listed, list) else []


def read_answer(answer: Any, sent: Mapping[str, str]) -> dict[str, BatchResult]:
    """Each input's result, by trace id: None when HubSpot upserted it, else its error.

    ``sent`` maps each trace id to the contact it names (for messages). An input the answer
    does not mention is retried: HubSpot said nothing of it.
    """
    results: dict[str, BatchResult] = {}
    body = answer if isinstance(answer, Mapping) else {}
    for item in body.get("results") or []:
        for trace in _traces(item) if isinstance(item, Mapping) else []:
            results[trace] = None
    for problem in body.get("errors") or []:
        for trace in _traces(problem) if isinstance(problem, Mapping) else []:
            if trace in sent:
                results[trace] = row_error(problem, sent[trace])
    for trace, contact in sent.items():
        if trace not in results:
            results[trace] = RetryableError(f"contact {contact!r} is missing from HubSpot's answer", code="BATCH_ROW_FAILED")
    return results
