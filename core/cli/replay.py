"""``destkit replay EVENTS --config CONFIG``: stream an event file through the destinations.

Every input line is accounted for (delivered, skipped, failed or invalid), in the summary
and, with ``--report``, in a JSON report. The summary goes to standard output, or to standard
error with ``--dry-run``, whose standard output is the requests that would have been sent.
Everything that can be checked is checked before the first event (config, state store,
output paths); a stop by SIGINT or SIGTERM still writes the summary and the report.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ..compiling import check_state_kept
from ..config import Config, load_config
from ..errors import ConfigError, DestkitError
from ..logs import current_settings
from ..loops import resolve_loop, run, tune_collector
from ..names import did_you_mean
from ..outcome import OK_STATUSES, Outcome
from ..replay_job import JobResult, ReplayJob, run_job
from ..report import print_summary, write_report
from ..runtime import Runtime
from ..sandboxing import sandboxed
from ..shards import Counts, run_sharded
from ..sources import Format, open_source
from ..state import DEFAULT_STATE_PATH, STATE_ENV, StateError, default_location, describe_location, open_store
from ._common import echo_warnings, loop_option, usage_error
from ._logging import log_options
from .progress import Progress


@click.command()
@click.argument("events")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The config file.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write a JSON report here.")
@click.option("--dry-run", is_flag=True, help="Map and validate; print the requests that would be sent; send nothing.")
@click.option(
    "--only", multiple=True, metavar="DEST[/SUB]", help="Replay to this destination (or subscription) only; repeatable."
)
@click.option(
    "--concurrency", type=click.IntRange(min=1), help="Deliveries in flight at once, per process (the config's by default)."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Processes sharing the work by person (default: the machine's cores; 1 for a dry run or standard input).",
)
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
@click.option("--from-line", type=click.IntRange(min=1), default=1, help="Start at this line (to resume a stopped replay).")
@click.option(
    "--grace", default=10.0, show_default=True, help="On Ctrl-C or SIGTERM, seconds in-flight deliveries get to finish."
)
@loop_option
@log_options(default_level="warning")
@click.option("--quiet", "-q", is_flag=True, help="Only the final summary, no progress.")
@click.option("--verbose", "-v", is_flag=True, help="Also print every event that was not delivered or skipped.")
def replay(
    events: str,
    config_path: str,
    report_path: str | None,
    dry_run: bool,
    only: tuple[str, ...],
    concurrency: int | None,
    workers: int | None,
    sandbox: bool,
    state_path: str | None,
    no_state: bool,
    force: bool,
    fmt: Format | None,
    from_line: int,
    grace: float,
    loop: str,
    quiet: bool,
    verbose: bool,
) -> None:
    """Deliver every event of EVENTS (.jsonl, .ndjson or .json, optionally .gz; - for stdin).

    With the state store (by default; not for --dry-run, nor for --sandbox unless --state is
    given), delivered events go in the ledger and are not sent again, retryable failures are
    parked for `destkit parked run`, and the rest become dead letters (`destkit dlq`).

    Exit code 0 when every event was delivered or skipped, 1 when any was not (failed,
    invalid, parked or dead-lettered), 2 for a usage or config error (nothing is sent then),
    130 or 143 when stopped by Ctrl-C or SIGTERM (the summary and report are still written,
    and say from which line to resume).
    """
    summary_stream = sys.stderr if dry_run else sys.stdout
    with ExitStack() as stack:
        try:
            config = _select(load_config(config_path), only)
            stream, chosen = open_source(events, fmt)
            if events != "-":
                stream.close()  # opened only to check it; each process opens its own
            report = _writable(report_path)
            if sandbox:
                config = stack.enter_context(sandboxed(config))
            compiled = Runtime(config, concurrency=concurrency)  # every mapping, trigger and setting compiles
            resolve_loop(loop)
            # A rehearsal (dry run, sandbox) must not mark real deliveries as done: it keeps state
            # only in a store named on the command line (never $DESTKIT_STATE's), marked as a rehearsal's.
            use_state = not no_state and not dry_run and (state_path is not None or not sandbox)
            location = (state_path or default_location()) if use_state else None
            if location is not None:
                _check_store(location, rehearsal=sandbox)
            elif not dry_run:  # a dry run keeps nothing anywhere, so it needs no store
                check_state_kept(compiled.subscriptions, "--no-state" if no_state else "--sandbox without --state")
        except DestkitError as exc:
            usage_error(exc)
        echo_warnings(compiled.subscriptions)  # here once, not in each delivering process
        count = workers or (1 if dry_run or events == "-" else os.cpu_count() or 1)
        if events == "-" and count > 1:
            usage_error(ConfigError("--workers: standard input can be read by one process only"))
        job = ReplayJob(
            events,
            chosen,
            config,
            concurrency,
            dry_run,
            location,
            sandbox,
            force,
            loop,
            from_line,
            grace,
            verbose=verbose,
            logs=current_settings(),
        )
        spools = Path(tempfile.mkdtemp(prefix="destkit-replay-"))
        stack.callback(shutil.rmtree, spools, ignore_errors=True)
        paths: list[Path | None] = [spools / f"{k}.jsonl" if report else None for k in range(count)]
        total = os.path.getsize(events) if events != "-" else None
        tune_collector()
        started = time.perf_counter()
        with Progress(enabled=not quiet and sys.stderr.isatty(), total=total, deferred=count > 1) as progress:
            result = _run(job, count, paths, progress)
        result.summary.elapsed = time.perf_counter() - started  # the whole run, processes started included
        if report is not None:
            extra = _notes(job, count, result)
            write_report(report, result.summary, [p for p in paths if p is not None], extra)
    note = "(dry run: nothing was sent)" if dry_run else "(sandbox)" if sandbox else ""
    print_summary(result.summary, summary_stream, rich_output=summary_stream.isatty() and not quiet, note=note)
    if result.stopped_by is not None:
        name = signal.Signals(result.stopped_by).name
        click.echo(
            f"stopped by {name}: every line before {result.resume_from} is settled; resume with --from-line {result.resume_from}",
            err=True,
        )
        sys.exit(128 + result.stopped_by)
    sys.exit(0 if result.summary.ok else 1)


def _run(job: ReplayJob, count: int, spools: list[Path | None], progress: Progress) -> JobResult:
    if count > 1:
        return run_sharded(job, count, spools, progress.show, relay=progress.relayed())
    seen = Counts(0, 0, 0)

    def on_result(line: int, outcomes: list[Outcome]) -> None:
        nonlocal seen
        failed = any(outcome.status not in OK_STATUSES for outcome in outcomes)
        seen = Counts(seen.events + 1, seen.failed + failed, seen.position)
        progress.show(seen)

    def on_position(position: int) -> None:
        nonlocal seen
        seen = Counts(seen.events, seen.failed, position)

    return run_job(replace(job, spool=spools[0]), on_result, on_position)


def _notes(job: ReplayJob, count: int, result: JobResult) -> dict[str, Any]:
    notes: dict[str, Any] = {
        "dry_run": job.dry_run,
        "sandbox": job.rehearsal,
        "state": describe_location(job.state) if job.state else None,
        "workers": count,
        "complete": result.stopped_by is None,
    }
    if result.stopped_by is not None:
        notes["stopped_by"] = signal.Signals(result.stopped_by).name
        notes["resume_from_line"] = result.resume_from
    return notes


def _writable(report_path: str | None) -> Path | None:
    """The report's path, checked before anything is sent: its folder must exist and take files."""
    if report_path is None:
        return None
    path = Path(report_path)
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"--report {report_path}: the folder {folder} does not exist")
    if path.is_dir():
        raise ConfigError(f"--report {report_path}: that is a folder; name a file")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"--report {report_path}: cannot write there (permission denied)")
    try:  # what the folder's permissions do not tell (a read-only or special file system, root's rights)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        raise ConfigError(f"--report {report_path}: cannot write there ({exc.strerror})") from None
    return path


def _check_store(location: str, rehearsal: bool) -> None:
    """Open the store once before anything is sent: unreachable, refused or of the other kind is exit 2."""

    async def check() -> None:
        async with open_store(location) as store:
            await store.claim_purpose(rehearsal=rehearsal)

    try:
        run(check(), "asyncio")
    except StateError as exc:
        raise ConfigError(str(exc)) from None


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
        hints = "".join(did_you_mean(name, names) for name in unknown)
        raise ConfigError(
            f"--only names destination(s) {', '.join(unknown)} that {config.source} does not have{hints} "
            f"({', '.join(sorted(names))})"
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
                hints = "".join(did_you_mean(name, present) for name in missing)
                raise ConfigError(f"--only: destination {entry.name!r} has no subscription(s) {', '.join(missing)}{hints}")
            entry = entry.model_copy(update={"subscriptions": [s for s in entry.subscriptions or [] if s.name in subs]})
        kept.append(entry)
    selected = config.model_copy(update={"destinations": kept})
    selected.source = config.source
    return selected
