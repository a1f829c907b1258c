"""A replay in several processes: one per share of the people, so every core works and each
person's events stay in order.

Each process reads the whole file and delivers the events of its share (a stable hash of the
person, :mod:`destkit.replay_job`), with its own runtime, commit group and spool of results, all
on the one state store. The parent starts them, shows their combined progress, forwards each
SIGINT or SIGTERM to them once (they run in a process group of their own, so a Ctrl-C on the
terminal reaches only the parent), and merges their summaries into one. A process whose parent
is gone (killed with SIGKILL, it forwarded nothing) stops as on SIGTERM (:mod:`destkit.parent_watch`).

With ``relay`` (file descriptors: standard error, and standard output, when the parent draws a
live line on that terminal) and forked processes, what they write there is copied into the
parent's own streams (:mod:`destkit.relay`), so that it goes above the line as the parent's does.

On Linux, when the parent runs no other thread, the processes are forked: they start at once
with what the parent has loaded, where a spawned process would import destkit and its
dependencies again (half a second, which a replay of a few seconds would feel). Elsewhere, or
with another thread running (forking then could copy a lock some thread holds), they are
spawned.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

from .logs import configure, flush
from .loops import tune_collector
from .outcome import OK_STATUSES, Outcome
from .parent_watch import stop_when_orphaned
from .relay import Relay
from .replay_job import JobResult, ReplayJob, run_job
from .report import Summary

__all__ = ["run_sharded", "Counts", "start_method"]


@dataclass(frozen=True)
class Counts:
    """What the processes have done so far: events, and those not delivered or skipped."""

    events: int
    failed: int
    #: Bytes of the input read by the slowest process (each reads all of it).
    position: int


#: The signals the parent forwards; held back while it starts the processes.
_STOPS = (signal.SIGINT, signal.SIGTERM)


def _share(
    job: ReplayJob, parent: int, events: Any, failed: Any, position: Any, results: Any, relayed: Relay | None = None
) -> None:
    """One process's share. ``events``, ``failed`` and ``position`` are shared counters that only
    this process writes (so they need no lock) and the parent reads for its progress line."""
    os.setpgrp()  # out of the terminal's group: signals come from the parent, once each
    if relayed is not None:
        relayed.take(job.shard)
    for signum in _STOPS:  # a forked process has the parent's handlers; the job installs its own
        signal.signal(signum, signal.SIG_DFL)
    stop_when_orphaned(parent)
    tune_collector()
    if job.logs is not None:
        configure(job.logs)

    def counted(line: int, outcomes: list[Outcome]) -> None:
        events.value += 1
        for outcome in outcomes:
            if outcome.status not in OK_STATUSES:
                failed.value += 1
                break

    def read(bytes_read: int) -> None:
        position.value = bytes_read

    try:
        results.put((job.shard, run_job(job, counted, read), None))
    except BaseException as exc:  # the parent reports it; the other shares still finish
        results.put((job.shard, None, f"{type(exc).__name__}: {exc}"))
    finally:
        flush()


def run_sharded(
    job: ReplayJob,
    workers: int,
    spools: list[Path | None],
    progress: Callable[[Counts], None] | None = None,
    *,
    relay: tuple[int, ...] = (),
) -> JobResult:
    """Run ``job`` as ``workers`` processes (``spools[k]`` holds share k's results) and merge them;
    what they write to the descriptors in ``relay`` goes through this process's streams."""
    forking = start_method() == "fork"
    context = multiprocessing.get_context("fork") if forking else multiprocessing.get_context("spawn")
    events = [context.Value("q", 0, lock=False) for _ in range(workers)]
    failed = [context.Value("q", 0, lock=False) for _ in range(workers)]
    positions = [context.Value("q", 0, lock=False) for _ in range(workers)]
    results = context.Queue()
    relayed = Relay(workers, relay) if relay and forking else None
    processes = [
        context.Process(
            target=_share,
            args=(
                replace(job, shard=k, shards=workers, spool=spools[k]),
                os.getpid(),
                events[k],
                failed[k],
                positions[k],
                results,
                relayed,
            ),
            name=f"destkit-replay-{k}",
        )
        for k in range(workers)
    ]
    received: dict[int, JobResult] = {}
    problems: list[str] = []
    try:
        with _forwarding(processes) as forwarder:
            try:
                _start(processes, forking)
            finally:
                if relayed is not None:
                    relayed.start()
            forwarder.started()
            while len(received) + len(problems) < workers:
                if progress is not None:
                    read = min(v.value for v in positions)
                    progress(Counts(sum(v.value for v in events), sum(v.value for v in failed), read))
                with contextlib.suppress(queue.Empty):
                    shard, result, problem = results.get(timeout=0.1)
                    if result is not None:
                        received[shard] = result
                    else:
                        problems.append(f"share {shard}: {problem}")
                if not any(p.is_alive() for p in processes) and results.empty():
                    break  # a share died without a word (killed)
            for process in processes:
                process.join()
    finally:
        if relayed is not None:
            relayed.stop()
    lost = [k for k in range(workers) if k not in received]
    if problems or lost:
        detail = "; ".join(problems) or f"share(s) {', '.join(map(str, lost))} exited with no result"
        raise RuntimeError(f"the replay's processes failed: {detail}")
    return _merged([received[k] for k in range(workers)], forwarder.stopped_by)


def start_method() -> str:
    """How the processes start: forked on Linux when this process runs no other thread, else spawned."""
    return "fork" if sys.platform == "linux" and threading.active_count() == 1 else "spawn"


def _start(processes: list[Any], forking: bool) -> None:
    """Start the processes with the stop signals held back in this thread (the parent forwards one
    that comes meanwhile once all have started); each process takes its own once its job can
    stop gracefully (:func:`~destkit.replay_job.run_job` lets them through)."""
    if forking:
        # What a forked process would otherwise inherit and write a second time.
        flush()
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()  # the objects loaded so far stay out of the collector's way: not copied on write
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
    try:
        for process in processes:
            process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
        if forking:
            gc.unfreeze()  # this process's own objects are the collector's again


def _merged(parts: list[JobResult], stopped_by: list[int]) -> JobResult:
    summary = Summary()
    for part in parts:
        summary.merge(part.summary)
    summary.elapsed = max(part.summary.elapsed for part in parts)
    resumes = [part.resume_from for part in parts if part.resume_from is not None]
    signalled = [part.stopped_by for part in parts if part.stopped_by is not None] or stopped_by
    return JobResult(summary, signalled[0] if signalled else None, min(resumes) if resumes else None, parts[0].state)


class _Forwarder:
    """The parent's handler of SIGINT and SIGTERM: each one goes to every process, once. One that
    comes while the processes start (another thread can take it then) is held until all have
    started, so that none misses it."""

    def __init__(self, processes: list[Any]) -> None:
        self.processes = processes
        self.stopped_by: list[int] = []
        self._held: list[int] | None = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.stopped_by.append(signum)
        if self._held is not None:
            self._held.append(signum)
        else:
            self._send(signum)

    def started(self) -> None:
        """Every process has started: send what was held, and from now on at once."""
        # A signal handled before the swap lands in ``held``, one after it is sent by the handler.
        held, self._held = self._held, None
        for signum in held or ():
            self._send(signum)

    def _send(self, signum: int) -> None:
        for process in self.processes:
            if process.pid is not None and process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signum)


@contextlib.contextmanager
def _forwarding(processes: list[Any]) -> Iterator[_Forwarder]:
    """While the shares run, each SIGINT or SIGTERM the parent gets goes to every one of them."""
    forwarder = _Forwarder(processes)
    previous = {signum: signal.signal(signum, forwarder) for signum in _STOPS}
    try:
        yield forwarder
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
