"""One replay: an event file, or one process's share of it, through one runtime, with the state
store, a summary, a spool of results, and a clean stop.

A share (``shard`` of ``shards``) is the events whose person falls in it (a stable hash of
``userId``, else ``anonymousId``), so that several processes replaying one file keep each
person's events in order; a line that is not a JSON object falls in the share of its line
number. Each process reads the whole file, and parses each line once: another share's line
goes no further.

Stopping: on the first SIGINT or SIGTERM the job reads no more lines and lets the deliveries in
flight finish within ``grace`` seconds; on a second one (or when the grace runs out) it abandons
them. Either way, what was settled is committed to the state store, and the result says from
which line to resume (every line before it is settled).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .config import Config
from .durable import Durable
from .events import ordering_key
from .logs import LogSettings
from .loops import run
from .outcome import Outcome
from .replay import CHUNK, Delivery, deliver_chunks
from .report import ResultSpool, Summary, print_problems
from .runtime import Runtime
from .sources import Format, Line, open_source, read_events
from .state import CommitGroup, open_store, partition_of

__all__ = ["ReplayJob", "JobResult", "run_job", "share_of"]

#: Seconds a commit group waits for more settled events: nothing in a replay waits for a group
#: (but its limit, which bounds what a crash can send again), and fewer, larger transactions
#: spend less of the two cores two replay processes share. The service keeps the short default.
_GROUP_DELAY = 0.02

#: Told of each event's outcomes as they come (its line, and them).
OnResult = Callable[[int, list[Outcome]], None]


@dataclass(frozen=True)
class ReplayJob:
    events: str
    fmt: Format
    config: Config
    concurrency: int | None = None
    dry_run: bool = False
    #: The state store's location, or None for no state.
    state: str | None = None
    rehearsal: bool = False
    force: bool = False
    loop: str = "auto"
    from_line: int = 1
    grace: float = 10.0
    shard: int = 0
    shards: int = 1
    spool: Path | None = None
    #: Print each event that was not delivered or skipped, on standard error.
    verbose: bool = False
    #: How the processes of a replay in several log (as the command was told).
    logs: LogSettings | None = None


@dataclass
class JobResult:
    summary: Summary
    #: The signal that stopped the job early, if one did.
    stopped_by: int | None = None
    #: When stopped early: the first line not known to be settled (all before it are).
    resume_from: int | None = None
    state: str | None = None


def share_of(number: int, value: Any, shards: int) -> int:
    """The share of the line ``number`` whose JSON value is ``value`` (None when it has none): an
    object's person (a stable hash), else the line's number. An object that is not a valid event
    still goes by its person, so the processes agree on it without checking it first."""
    if isinstance(value, dict):
        return partition_of(ordering_key(value)) % shards
    return number % shards


@dataclass
class _Settled:
    """Which lines are settled: everything before ``resume_from`` is."""

    read: deque[int] = field(default_factory=deque)
    done: set[int] = field(default_factory=set)
    last: int = 0

    def reading(self, line: int) -> None:
        self.read.append(line)
        self.last = line

    def settled(self, line: int) -> None:
        self.done.add(line)
        while self.read and self.read[0] in self.done:
            self.done.discard(self.read.popleft())

    @property
    def resume_from(self) -> int:
        return self.read[0] if self.read else self.last + 1


def run_job(job: ReplayJob, on_result: OnResult | None = None, on_position: Callable[[int], None] | None = None) -> JobResult:
    """Run the job to its end (or its stop) on the chosen event loop. ``on_position`` is told,
    a chunk at a time, how many bytes of the input (as stored: compressed for .gz) are read."""
    return run(_run(job, on_result, on_position), job.loop)


async def _run(job: ReplayJob, on_result: OnResult | None, on_position: Callable[[int], None] | None) -> JobResult:
    summary = Summary()
    spool = ResultSpool(job.spool)
    settled = _Settled(last=job.from_line - 1)
    stopping, result = asyncio.Event(), JobResult(summary, state=job.state)

    def outcome(line: int, outcomes: list[Outcome]) -> None:
        summary.add(outcomes)
        spool.add(line, outcomes)
        settled.settled(line)
        if job.verbose:
            print_problems(line, outcomes)
        if on_result is not None:
            on_result(line, outcomes)

    runtime = Runtime(job.config, concurrency=job.concurrency, dry_run=sys.stdout if job.dry_run else None)
    window = runtime.concurrency * 8
    stream, _ = open_source(job.events, job.fmt)
    started = time.perf_counter()
    try:
        async with AsyncExitStack() as stack:
            durable, commits = None, None
            if job.state is not None:
                store = await stack.enter_async_context(open_store(job.state))
                await store.claim_purpose(rehearsal=job.rehearsal)
                runtime.state = store
                durable = Durable(runtime, store, force=job.force)
                commits = await stack.enter_async_context(CommitGroup(store, delay=_GROUP_DELAY))
            await stack.enter_async_context(runtime)
            delivery = Delivery(runtime, outcome, window, durable, commits, stopping=stopping)
            position = _position_of(stream) if on_position is not None else None
            lines = _chunks(_mine(stream, job, settled), stopping, position, on_position)
            sending = asyncio.create_task(deliver_chunks(lines, delivery))
            _stop_on_signals(sending, stopping, result, job.grace)
            try:
                await sending
            except asyncio.CancelledError:
                if not stopping.is_set():
                    raise  # cancelled from outside, not by a signal
    finally:
        stream.close()
        spool.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            _remove_handler(signum)
    summary.elapsed = time.perf_counter() - started
    if result.stopped_by is not None:
        result.resume_from = settled.resume_from
    return result


def _mine(stream: IO[bytes], job: ReplayJob, settled: _Settled) -> Iterator[Line]:
    """The lines of this job's share, from ``from_line`` on, each noted as read. The reader skips
    the other shares' lines, and those before ``from_line``, as soon as it has parsed them."""

    def keep(number: int, value: Any) -> bool:
        if number < job.from_line:
            return False
        settled.last = number  # read this far: another share's line is settled as far as this process goes
        return job.shards == 1 or share_of(number, value, job.shards) == job.shard

    for line in read_events(stream, job.fmt, keep):
        settled.reading(line.line)
        yield line


def _chunks(
    lines: Iterator[Line],
    stopping: asyncio.Event,
    position: Callable[[], int] | None = None,
    on_position: Callable[[int], None] | None = None,
) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= CHUNK:
            if position is not None and on_position is not None:
                on_position(position())
            yield chunk
            chunk = []
            if stopping.is_set():  # no more lines once asked to stop
                return
    if chunk and not stopping.is_set():
        yield chunk


def _position_of(stream: IO[bytes]) -> Callable[[], int] | None:
    """How far into the input (as stored) the reading is, when that can be told."""
    raw = getattr(stream, "fileobj", None) or stream  # a .gz file: its compressed bytes
    try:
        raw.tell()
    except (OSError, ValueError, AttributeError):  # standard input, a pipe
        return None
    return raw.tell


def _stop_on_signals(sending: asyncio.Task[None], stopping: asyncio.Event, result: JobResult, grace: float) -> None:
    loop = asyncio.get_running_loop()

    def stop(signum: int) -> None:
        if not stopping.is_set():  # the first: finish what is in flight, within the grace period
            stopping.set()
            result.stopped_by = signum
            loop.call_later(grace, sending.cancel)
        else:  # the second: at once (settled deliveries are still committed)
            sending.cancel()

    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop, signum)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)  # a replay's process starts with them held back


def _remove_handler(signum: int) -> None:
    with contextlib.suppress(RuntimeError):  # no running loop any more
        asyncio.get_running_loop().remove_signal_handler(signum)
