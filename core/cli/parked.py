"""``destkit parked run|list``: deliveries waiting for a later attempt."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import Counter
from contextlib import ExitStack

import click

from ..durable import Durable
from ..loops import tune_collector
from ..outcome import Outcome
from ..replay import deliver_parked
from ..state import CommitGroup, Leases, ParkedDelivery, StateStore
from ._common import Commands
from ._delivering import delivering, sandbox_option
from ._json import iso_utc
from ._logging import log_options
from ._state import chosen_state, print_rows, state_option, with_store
from ._stopping import StopSignals


@click.group(cls=Commands)
def parked() -> None:
    """Deliveries parked for a later attempt (a profile not visible yet, a destination down)."""


@parked.command("list")
@state_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_parked(state: str, as_json: bool) -> None:
    """List parked deliveries, the next due first."""

    async def read(store: StateStore) -> list[ParkedDelivery]:
        return await store.parked()

    rows = [
        {
            "id": p.id,
            "message_id": p.message_id,
            "destination": p.destination,
            "subscription": p.subscription,
            "attempts": p.attempts,
            "code": p.error_code,
            "next_attempt_at": iso_utc(p.next_attempt_at),
            "give_up_at": iso_utc(p.give_up_at),
        }
        for p in with_store(state, read)
    ]
    print_rows(rows, list(rows[0]) if rows else [], as_json, "parked")


@parked.command("run")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The config file.")
@state_option
@click.option("--wait", is_flag=True, help="Keep going until nothing is parked (each ends delivered or dead).")
@sandbox_option
@log_options(default_level="warning")
def run_parked(config_path: str, state: str, wait: bool, sandbox: bool) -> None:
    """Deliver the parked deliveries that are due, with the current config.

    Works beside running services: each delivery is claimed by one process at a time. A store
    holding rehearsals is delivered with --sandbox only, and a store of real deliveries without it.
    Exit code 0 when nothing is left parked or dead from this run, 1 otherwise; on Ctrl-C or
    SIGTERM the deliveries in flight finish and it stops with 130 or 143.
    """
    counts: Counter[str] = Counter()

    def on_result(delivery: ParkedDelivery, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            counts[outcome.status.value] += 1
            if outcome.error is not None and not outcome.ok:
                click.echo(
                    f"{delivery.destination}/{delivery.subscription} {delivery.message_id} {outcome.status.value} "
                    f"{outcome.error.code}: {outcome.error.message}",
                    err=True,
                )

    signals = StopSignals()
    with ExitStack() as stack:  # the sandboxes serve until the run is over
        config, runtime = delivering(stack, config_path, sandbox)
        lease = config.state.lease_seconds
        tune_collector()

        async def work(store: StateStore) -> int:
            await store.claim_purpose(rehearsal=sandbox)
            runtime.state = store
            durable = Durable(runtime, store)
            leases = Leases(store, role="parked", lease=lease)
            await leases.renew()
            stop = asyncio.Event()
            keeping = asyncio.create_task(leases.keep(stop))
            try:
                async with runtime, CommitGroup(store) as commits:
                    while not signals.requested.is_set():
                        claimed = await deliver_parked(runtime, durable, commits, on_result, owner=leases.owner, lease=lease)
                        await commits.flush()
                        if claimed:
                            continue  # more may be due
                        if not wait:
                            break
                        next_at = await store.next_due_at()
                        if next_at is None:
                            break
                        await signals.sleep(min(30.0, max(0.05, next_at - time.time())))
            finally:
                stop.set()
                await keeping
                await leases.retire()
            return await store.parked_count()

        async def until_stopped(store: StateStore) -> int:
            async with signals:
                return await work(store)

        left = with_store(chosen_state(state, sandbox), until_stopped)
    summary = " ".join(f"{status}={n}" for status, n in sorted(counts.items())) or "nothing was due"
    stopped = f" (stopped by {signal.Signals(signals.by).name})" if signals.by is not None else ""
    click.echo(f"parked run: {summary}; still parked: {left}{stopped}")
    if signals.by is not None:
        sys.exit(signals.exit_code(otherwise=1))
    sys.exit(0 if not counts.get("dead_lettered") and not counts.get("failed") and (not wait or left == 0) else 1)
