"""What a replay reports: a running summary, the JSON report file, and the terminal summary.

The report file (``--report``) has the shape promised in the README::

    {"summary": {"events", "invalid", "invalid_lines", "invalid_payloads", "outcomes": {status: n},
                 "errors": {code: n}, "retries", ...},
     "results": [{"line", "messageId", "destination", "subscription", "action", "status",
                  "attempts", "error": {"code", "message", "status", "retryable"}}, ...]}

Results are written as they complete (so in completion order; sort by ``line`` for file
order) to a spool file per process, and the report is assembled at the end: memory stays flat.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

from .breaker import SUSPENDED
from .outcome import OK_STATUSES, ErrorInfo, Outcome, Status

__all__ = ["Summary", "ResultSpool", "write_report", "print_summary", "print_problems", "invalid_line"]

_STATUS_NAMES = {status: status.value for status in Status}
_SUSPENDED_HINT = "its credentials were refused; fix them, then destkit parked run"


@dataclass
class Summary:
    """Counts over a whole run; ``examples`` keeps one message per error code."""

    events: int = 0
    #: Lines (or stored events) that are not valid events, before any subscription.
    invalid: int = 0
    #: Payloads an action refused: an event's outcome at one subscription, counted in ``outcomes`` too.
    invalid_payloads: int = 0
    retries: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    by_subscription: dict[str, Counter[str]] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)
    #: Deliveries not sent because their destination was suspended (its credentials refused), by destination.
    suspended: Counter[str] = field(default_factory=Counter)
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
            if outcome.status is Status.INVALID and outcome.destination is not None:
                self.invalid_payloads += 1
            if outcome.error is not None:
                if outcome.error.code == SUSPENDED and outcome.destination is not None:
                    self.suspended[outcome.destination] += 1
                self.errors[outcome.error.code] += 1
                self.examples.setdefault(outcome.error.code, outcome.error.message)

    def merge(self, other: Summary) -> None:
        """Add another process's counts (a replay in several processes)."""
        self.events += other.events
        self.invalid += other.invalid
        self.invalid_payloads += other.invalid_payloads
        self.retries += other.retries
        self.outcomes.update(other.outcomes)
        self.errors.update(other.errors)
        self.suspended.update(other.suspended)
        for where, counts in other.by_subscription.items():
            self.by_subscription.setdefault(where, Counter()).update(counts)
        for code, example in other.examples.items():
            self.examples.setdefault(code, example)

    @property
    def ok(self) -> bool:
        return all(status in OK_STATUSES for status in self.outcomes)

    @property
    def rate(self) -> float:
        return self.events / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "invalid": self.invalid,  # the same as invalid_lines, kept for readers of earlier reports
            "invalid_lines": self.invalid,
            "invalid_payloads": self.invalid_payloads,
            "outcomes": dict(sorted(self.outcomes.items())),
            "errors": dict(sorted(self.errors.items())),
            "retries": self.retries,
            "suspended": dict(sorted(self.suspended.items())),
            "by_subscription": {key: dict(sorted(counts.items())) for key, counts in sorted(self.by_subscription.items())},
            "elapsed_seconds": round(self.elapsed, 3),
            "events_per_second": round(self.rate, 1),
        }


def invalid_line(line: int, problem: str) -> Outcome:
    """The outcome of an input line that is not an event at all."""
    return Outcome(Status.INVALID, None, error=ErrorInfo("INVALID_EVENT", problem))


class ResultSpool:
    """Results as they complete, one JSON object a line, in a file of their own (``None``: none
    kept). A replay in several processes has one spool per process; :func:`write_report`
    assembles them, reading each a line at a time, so memory stays flat."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file: IO[str] | None = open(path, "w", encoding="utf-8") if path else None  # noqa: SIM115 - closed by close()

    def add(self, line: int, outcomes: list[Outcome]) -> None:
        if self._file is None:
            return
        for outcome in outcomes:
            self._file.write(json.dumps({"line": line, **outcome.to_dict()}, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def write_report(path: Path, summary: Summary, spools: list[Path], extra: dict[str, Any] | None = None) -> None:
    """The report file: the summary, then every result of every spool."""
    head = {**summary.to_dict(), **(extra or {})}
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"summary": ' + json.dumps(head, ensure_ascii=False) + ',\n"results": [\n')
        first = True
        for spool in spools:
            with open(spool, encoding="utf-8") as results:
                for record in results:
                    out.write(("" if first else ",\n") + record.rstrip("\n"))
                    first = False
        out.write("\n]}\n")


def print_problems(line: int, outcomes: list[Outcome], stream: TextIO | None = None) -> None:
    """One line on standard error (or ``stream``) for each outcome that was not delivered or skipped."""
    out = stream or sys.stderr
    for outcome in outcomes:
        if outcome.ok or outcome.error is None:
            continue
        where = f"{outcome.destination}/{outcome.subscription}" if outcome.destination else "-"
        out.write(f"line {line} {where} {outcome.status.value} {outcome.error.code}: {outcome.error.message}\n")


def print_summary(summary: Summary, stream: TextIO, rich_output: bool, note: str = "") -> None:
    """The end-of-run summary: a table on a terminal, plain ``key value`` lines otherwise."""
    if rich_output:
        _print_rich(summary, stream, note)
        return
    lines = [
        f"replay events={summary.events} invalid_lines={summary.invalid} invalid_payloads={summary.invalid_payloads} "
        f"retries={summary.retries} "
        f"elapsed={summary.elapsed:.2f}s rate={summary.rate:.0f}/s{' ' + note if note else ''}"
    ]
    for where, counts in sorted(summary.by_subscription.items()):
        lines.append(f"outcome {where} " + " ".join(f"{status}={n}" for status, n in sorted(counts.items())))
    for code, count in sorted(summary.errors.items()):
        lines.append(f"error {code} count={count} example={json.dumps(summary.examples[code], ensure_ascii=False)}")
    lines += [f"suspended {destination} not_sent={n} ({_SUSPENDED_HINT})" for destination, n in sorted(summary.suspended.items())]
    stream.write("\n".join(lines) + "\n")


def _print_rich(summary: Summary, stream: TextIO, note: str) -> None:
    from rich.console import Console
    from rich.markup import escape
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
    for destination, count in sorted(summary.suspended.items()):
        console.print(f"[bold red]{escape(destination)} suspended[/]: {count:,} deliveries not sent ({_SUSPENDED_HINT})")
    console.print(
        f"{summary.events} events ({summary.invalid} invalid lines, {summary.invalid_payloads} invalid payloads), "
        f"{summary.retries} retries, "
        f"{summary.elapsed:.2f}s, {summary.rate:,.0f} events/s {note}".rstrip(),
        highlight=False,
    )
