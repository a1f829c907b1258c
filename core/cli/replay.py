"""``destkit replay EVENTS --config CONFIG``: stream an event file through the destinations.

Every input line is accounted for (delivered, skipped, failed or invalid), in the summary
and, with ``--report``, in a JSON report. The summary goes to standard output, or to standard
error with ``--dry-run``, whose standard output is the requests that would have been sent.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from ..config import Config, load_config
from ..durable import Durable
from ..errors import ConfigError, DestkitError
from ..outcome import Outcome
from ..replay import replay_lines
from ..report import ReportWriter, Summary, print_summary
from ..runtime import Runtime
from ..sandboxing import sandboxed
from ..sources import Format, open_source, read_events
from ..state import (
    DEFAULT_STATE_PATH,
    STATE_ENV,
    CommitGroup,
    StateError,
    StateStore,
    default_location,
    describe_location,
    open_store,
)
from ._common import USAGE_ERROR


@click.command()
@click.argument("events")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The config file.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, writable=True), help="Write a JSON report here.")
@click.option("--dry-run", is_flag=True, help="Map and validate; print the requests that would be sent; send nothing.")
@click.option(
    "--only", multiple=True, metavar="DEST[/SUB]", help="Replay to this destination (or subscription) only; repeatable."
)
@click.option("--concurrency", type=click.IntRange(min=1), help="Deliveries in flight at once (the config's by default).")
@click.option("--sandbox", is_flag=True, help="Run each destination against its local sandbox instead of its real API.")
@click.option(
    "--state",
    "state_path",
    metavar="PATH|URL",
    help=f"The state store: a file path or a postgresql:// URL (default: ${STATE_ENV}, else {DEFAULT_STATE_PATH}).",
)
@click.option("--no-state", is_flag=True, help="Keep no ledger, park nothing: every failure is final.")
@click.option("--force", is_flag=True, help="Send events the ledger says were delivered already.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "json"]), help="Input format (by default from the file name).")
@click.option("--quiet", "-q", is_flag=True, help="Only the final summary, no progress.")
@click.option("--verbose", "-v", is_flag=True, help="Also print every event that was not delivered or skipped.")
def replay(
    events: str,
    config_path: str,
    report_path: str | None,
    dry_run: bool,
    only: tuple[str, ...],
    concurrency: int | None,
    sandbox: bool,
    state_path: str | None,
    no_state: bool,
    force: bool,
    fmt: Format | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Deliver every event of EVENTS (.jsonl, .ndjson or .json, optionally .gz; - for stdin).

    With the state store (by default; not for --dry-run, nor for --sandbox unless --state is
    given), delivered events go in the ledger and are not sent again, retryable failures are
    parked for `destkit parked run`, and the rest become dead letters (`destkit dlq`).

    Exit code 0 when every event was delivered or skipped, 1 when any was not (failed,
    invalid, parked or dead-lettered), 2 for a usage or config error (nothing is sent then).
    """
    summary_stream = sys.stderr if dry_run else sys.stdout
    try:
        config = _select(load_config(config_path), only)
        stream, chosen = open_source(events, fmt)
    except DestkitError as exc:
        _usage_error(exc)
    with ExitStack() as stack:
        stack.callback(stream.close)
        try:
            if sandbox:
                config = stack.enter_context(sandboxed(config))
            runtime = Runtime(config, concurrency=concurrency, dry_run=sys.stdout if dry_run else None)
        except DestkitError as exc:
            _usage_error(exc)
        # A rehearsal (dry run, sandbox) must not mark real deliveries as done: it keeps state
        # only in a store named on the command line (never $DESTKIT_STATE's), marked as a rehearsal's.
        use_state = not no_state and not dry_run and (state_path is not None or not sandbox)
        location = (state_path or default_location()) if use_state else None
        summary = Summary()
        writer = ReportWriter(Path(report_path) if report_path else None)
        progress = _Progress(enabled=not quiet and sys.stderr.isatty())
        started = time.perf_counter()

        def on_result(line: int, outcomes: list[Outcome]) -> None:
            summary.add(outcomes)
            writer.add(line, outcomes)
            progress.update(summary)
            if verbose:
                _print_problems(line, outcomes)

        async def run() -> None:
            lines = read_events(stream, chosen)
            window = runtime.concurrency * 8
            if location is None:
                async with runtime:
                    await replay_lines(lines, runtime, on_result, window=window)
                return
            store: StateStore
            async with open_store(location) as store:
                await store.claim_purpose(rehearsal=sandbox)
                runtime.state = store
                durable = Durable(runtime, store, force=force)
                async with runtime, CommitGroup(store) as commits:
                    await replay_lines(lines, runtime, on_result, window=window, durable=durable, commits=commits)

        # Replay allocates many short-lived objects and few cycles: collecting the youngest
        # generation every 700 allocations (the default) cost 7-10% of a dry run's time.
        gc.set_threshold(50_000, 20, 20)
        try:
            with progress:
                asyncio.run(run())
        except StateError as exc:  # the store could not be opened: nothing was sent
            _usage_error(exc)
        summary.elapsed = time.perf_counter() - started
        notes = {"dry_run": dry_run, "sandbox": sandbox, "state": describe_location(location) if location else None}
        writer.finish(summary, notes)
    note = "(dry run: nothing was sent)" if dry_run else "(sandbox)" if sandbox else ""
    print_summary(summary, summary_stream, rich_output=summary_stream.isatty() and not quiet, note=note)
    sys.exit(0 if summary.ok else 1)


def _usage_error(exc: DestkitError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(USAGE_ERROR)


def _select(config: Config, only: tuple[str, ...]) -> Config:
    """Keep the destinations (and subscriptions) that ``--only`` names; all when it is not given."""
    if not only:
        return config
    wanted: dict[str, set[str] | None] = {}
    for item in only:
        destination, _, subscription = item.partition("/")
        if subscription:
            existing = wanted.setdefault(destination, set())
            if existing is not None:
                existing.add(subscription)
        else:
            wanted[destination] = None
    names = {entry.name for entry in config.destinations}
    unknown = sorted(set(wanted) - names)
    if unknown:
        raise ConfigError(
            f"--only names destination(s) {', '.join(unknown)} that {config.source} does not have ({', '.join(sorted(names))})"
        )
    kept = []
    for entry in config.destinations:
        if entry.name not in wanted:
            continue
        subs = wanted[entry.name]
        if subs is not None:
            present = {s.name for s in entry.subscriptions or []}
            missing = sorted(subs - present)
            if missing:
                raise ConfigError(f"--only: destination {entry.name!r} has no subscription(s) {', '.join(missing)}")
            entry = entry.model_copy(update={"subscriptions": [s for s in entry.subscriptions or [] if s.name in subs]})
        kept.append(entry)
    selected = config.model_copy(update={"destinations": kept})
    selected.source = config.source
    return selected


def _print_problems(line: int, outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if outcome.ok or outcome.error is None:
            continue
        where = f"{outcome.destination}/{outcome.subscription}" if outcome.destination else "-"
        click.echo(f"line {line} {where} {outcome.status.value} {outcome.error.code}: {outcome.error.message}", err=True)


class _Progress:
    """A live line on the terminal (events, rate, failures); nothing when stderr is not one."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._live: Any = None
        self._task: Any = None
        self._started = time.perf_counter()
        self._shown = 0.0

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._live = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True)
            self._live.start()
            self._task = self._live.add_task("starting", total=None)
        return self

    def update(self, summary: Summary) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._shown < 0.1:
            return
        self._shown = now
        rate = summary.events / max(now - self._started, 1e-9)
        failed = summary.outcomes.get("failed", 0) + summary.outcomes.get("invalid", 0)
        self._live.update(self._task, description=f"{summary.events:,} events  {rate:,.0f}/s  {failed:,} failed or invalid")

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.stop()
