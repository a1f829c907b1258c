"""Update profiles in batches: Target's bulk profile update API (v2).

One call uploads a CSV (``thirdPartyId`` first, one column per attribute); Target answers
with a status URL, which is polled (``showDetails=true``) until the batch is complete. v2
creates profiles it does not find. Results come back per row when Target lists them, and
are mapped to each event; when it gives only counts, any failure fails the whole batch,
which is safe to send again (setting attributes is idempotent).

The bulk API allows 50 calls a minute per client (uploads and status checks alike); this
action keeps under that itself, and a 503 (Target's answer past the limit) is retried.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections import deque
from collections.abc import Sequence
from typing import Any
from xml.etree.ElementTree import Element

from destkit import Action, BatchResult, Context, DeliveryError, PayloadValidationError, RetryableError

from .profile import ProfilePayload, check_id, profile_attributes
from .settings import Settings
from .xml_answers import count_of, parse_answer, text_of

CALLS_PER_MINUTE = 50


class CallBudget:
    """At most ``calls`` per ``period`` seconds. Reserving is synchronous, so no lock is needed."""

    def __init__(self, calls: int = CALLS_PER_MINUTE, period: float = 60.0) -> None:
        self.calls = calls
        self.period = period
        self._times: deque[float] = deque()

    def reserve(self, now: float | None = None) -> float:
        """Book the next call; return how long to wait before making it."""
        now = time.monotonic() if now is None else now
        while self._times and self._times[0] <= now - self.period:
            self._times.popleft()
        start = now if len(self._times) < self.calls else self._times[-self.calls] + self.period
        self._times.append(start)
        return max(0.0, start - now)


_budgets: dict[str, CallBudget] = {}


def budget_for(client_code: str, base_url: str) -> CallBudget:
    """The limit is Target's, per client account: every runtime in this process shares it."""
    return _budgets.setdefault(f"{base_url}|{client_code}", CallBudget())


async def _call(ctx: Context[Settings], what: str, method: str, url: str, **kwargs: Any) -> Element:
    await asyncio.sleep(budget_for(ctx.settings.client_code, ctx.settings.url).reserve())
    response = await ctx.http.request(method, url, **kwargs)
    return parse_answer(response.content, what)


def build_csv(rows: dict[str, dict[str, str]]) -> str:
    columns: dict[str, None] = {}
    for attributes in rows.values():
        columns.update(dict.fromkeys(attributes))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["thirdPartyId", *columns])
    for third_party_id, attributes in rows.items():
        writer.writerow([third_party_id, *(attributes.get(column, "") for column in columns)])
    return out.getvalue()


def _row_results(status: Element) -> dict[str, str | None] | None:
    """Per-row results when the status lists them: id -> None (updated or created) or a reason."""
    rows = list(status.iter("row"))
    if not rows:
        return None
    results: dict[str, str | None] = {}
    for row in rows:
        third_party_id = text_of(row, "thirdPartyId") or ""
        ok = (text_of(row, "status") or "").lower() in ("success", "updated", "created")
        results[third_party_id] = None if ok else (text_of(row, "message") or "failed")
    return results


async def perform_batch(ctx: Context[Settings], payloads: list[ProfilePayload]) -> Sequence[BatchResult]:
    results: list[BatchResult] = [None] * len(payloads)
    rows: dict[str, dict[str, str]] = {}
    positions: dict[str, list[int]] = {}
    for index, payload in enumerate(payloads):
        try:
            third_party_id = check_id(payload.mbox3rdPartyId)
            attributes = dict(profile_attributes(payload.traits))
        except DeliveryError as error:
            results[index] = error
            continue
        if "," in third_party_id or "\n" in third_party_id:
            results[index] = PayloadValidationError("mbox3rdPartyId: the bulk API cannot take an id with a comma or a line break")
            continue
        rows.setdefault(third_party_id, {}).update(attributes)  # a later event of the same visitor wins
        positions.setdefault(third_party_id, []).append(index)
    if not rows:
        return results

    client = {"client_code": ctx.settings.client_code}
    upload = "/m2/{client_code}/v2/profile/batchUpdate"
    answer = await _call(ctx, "batch upload", "POST", upload, path_params=client, data={"batch": build_csv(rows)})
    status_url = text_of(answer, "batchStatus")
    if text_of(answer, "success") != "true" or not status_url:
        message = text_of(answer, "message") or "no batchStatus in its answer"
        raise RetryableError(f"Adobe Target did not accept the batch: {message[:200]}")
    status_url += ("&" if "?" in status_url else "?") + "showDetails=true"

    deadline = time.monotonic() + ctx.settings.batch_poll_timeout
    while True:
        status = await _call(ctx, "batch status", "GET", status_url)
        state = (text_of(status, "status") or "").lower()
        if state == "complete":
            break
        if state == "stuck" or time.monotonic() > deadline:
            raise RetryableError(f"Adobe Target batch is {state or 'unanswered'} after polling; it will be sent again")
        await asyncio.sleep(ctx.settings.batch_poll_interval)

    per_row = _row_results(status)
    failed = count_of(status, "failedUpdates")
    for third_party_id, indexes in positions.items():
        if per_row is not None:
            reason = per_row.get(third_party_id, "missing from Target's batch report")
        else:
            reason = f"the batch reported {failed} failed update(s) without naming them" if failed else None
        for index in indexes:
            results[index] = None if reason is None else RetryableError(f"{third_party_id!r}: {reason}", code="BATCH_ROW_FAILED")
    return results


action = Action(
    slug="update_profiles_batch",
    title="Update profiles (batch)",
    description="Set attributes on many profiles per call with the bulk API v2, which also creates missing profiles.",
    payload=ProfilePayload,
    perform_batch=perform_batch,
    default_trigger='type = "identify"',
    batch_size=1000,
)
