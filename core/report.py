"""What a replay reports: a running summary, the JSON report file, and the terminal summary.

The report file (``--report``) has the shape promised in the README::

    {"summary": {"events", "invalid", "outcomes": {status: n}, "errors": {code: n}, "retries", ...},
     "results": [{"line", "messageId", "destination", "subscription", "action", "status",
                  "attempts", "error": {"code", "message", "status", "retryable"}}, ...]}

Results are written as they complete (so in completion order; sort by ``line`` for file
order) to a spool file, and the report is assembled at the end: memory stays flat.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

from .outcome import ErrorInfo, Outcome, Status

__all__ = ["Summary", "ReportWriter", "print_summary"]

_STATUS_NAMES = {status: status.value for status in Status}


@dataclass
class Summary:
    """Counts over a whole run; ``examples`` keeps one message per error code."""

    events: int = 0
    invalid: int = 0
    retries: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    by_subscription: dict[str, Counter[str]] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0
    #: by_subscription's counters by (destination, subscription), so each outcome finds its own at once.
    _counts: dict[tuple[str | None, str | None], Counter[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def add(self, outcomes: list[Outcome]) -> None:
        self.events += 1
        if outcomes and outcomes[0].destination is None and outcomes[0].status is Status.INVALID:
            self.invalid += 1  # the event itself is bad, before any subscription
        for outcome in outcomes:
            status = _STATUS_NAMES[outcome.status]
            self.outcomes[status] += 1
            if outcome.attempts > 1:
                self.retries += outcome.attempts - 1
            key = (outcome.destination, outcome.subscription)
            counts = self._counts.get(key)
            if counts is None:
                where = f"{outcome.destination}/{outcome.subscription}" if outcome.destination else "(no subscription)"
                counts = self._counts[key] = self.by_subscription.setdefault(where, Counter())
            counts[status] += 1
            if outcome.error is not None:
                self.errors[outcome.error.code] += 1
                self.examples.setdefault(outcome.error.code, outcome.error.message)

    @property
    def ok(self) -> bool:
        return all(status in (Status.DELIVERED, Status.SKIPPED) for status in self.outcomes)

    @property
    def rate(self) -> float:
        return self.events / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "invalid": self.invalid,
            "outcomes": dict(sorted(self.outcomes.items())),
            "errors": dict(sorted(self.errors.items())),
            "retries": self.retries,
            "by_subscription": {key: dict(sorted(counts.items())) for key, counts in sorted(self.by_subscription.items())},
            "elapsed_seconds": round(self.elapsed, 3),
            "events_per_second": round(self.rate, 1),
        }


def invalid_line(line: int, problem: str) -> Outcome:
    """The outcome of an input line that is not an event at all."""
    return Outcome(Status.INVALID, None, error=ErrorInfo("INVALID_EVENT", problem))


class ReportWriter:
    """Spools results as they come; ``finish`` writes the report file around them."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        # Closed by finish(); a context manager cannot span the run.
        self._spool: IO[str] | None = tempfile.TemporaryFile("w+", encoding="utf-8") if path else None  # noqa: SIM115
        self._first = True

    def add(self, line: int, outcomes: list[Outcome]) -> None:
        if self._spool is None:
            return
        for outcome in outcomes:
            record = outcome.to_dict()
            record = {"line": line, **record}
            self._spool.write(("" if self._first else ",\n") + json.dumps(record, ensure_ascii=False))
            self._first = False

    def finish(self, summary: Summary, extra: dict[str, Any] | None = None) -> None:
        if self._spool is None or self.path is None:
            return
        self._spool.seek(0)
        head = {**summary.to_dict(), **(extra or {})}
        with open(self.path, "w", encoding="utf-8") as out:
            out.write('{"summary": ' + json.dumps(head, ensure_ascii=False) + ',\n"results": [\n')
            shutil.copyfileobj(self._spool, out)
            out.write("\n]}\n")
        self._spool.close()


def print_summary(summary: Summary, stream: TextIO, rich_output: bool, note: str = "") -> None:
    """The end-of-run summary: a table on a terminal, plain ``key value`` lines otherwise."""
    if rich_output:
        _print_rich(summary, stream, note)
        return
    lines = [
        f"replay events={summary.events} invalid={summary.invalid} retries={summary.retries} "
        f"elapsed={summary.elapsed:.2f}s rate={summary.rate:.0f}/s{' ' + note if note else ''}"
    ]
    for where, counts in sorted(summary.by_subscription.items()):
        lines.append(f"outcome {where} " + " ".join(f"{status}={n}" for status, n in sorted(counts.items())))
    for code, count in sorted(summary.errors.items()):
        lines.append(f"error {code} count={count} example={json.dumps(summary.examples[code], ensure_ascii=False)}")
    stream.write("\n".join(lines) + "\n")


def _print_rich(summary: Summary, stream: TextIO, note: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=stream)
    statuses = [s.value for s in Status if any(s.value in c for c in summary.by_subscription.values())]
    table = Table("destination/subscription", *statuses, title="outcomes", title_justify="left")
    for where, counts in sorted(summary.by_subscription.items()):
        table.add_row(where, *(str(counts.get(status, 0)) for status in statuses))
    console.print(table)
    if summary.errors:
        errors = Table("code", "count", "example", title="errors", title_justify="left")
        for code, count in sorted(summary.errors.items()):
            errors.add_row(code, str(count), summary.examples[code])
        console.print(errors)
    console.print(
        f"{summary.events} events ({summary.invalid} invalid), {summary.retries} retries, "
        f"{summary.elapsed:.2f}s, {summary.rate:,.0f} events/s {note}".rstrip(),
        highlight=False,
    )
