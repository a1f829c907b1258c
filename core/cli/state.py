"""``destkit state status|migrate|prune``: the state store itself."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime

import click

from ..state import DEFAULT_LEASE, StateStore, StoreStatus
from ._common import Commands
from ._json import echo_json, with_iso_times
from ._state import state_option, with_store


@click.group("state", cls=Commands)
def state_group() -> None:
    """The state store: its health, its schema, its retention."""


#: The Unix times of a store's status (and of each process's lease in it), shown in ISO 8601 UTC.
_TIMES = frozenset({"oldest_waiting", "next_parked_due", "started_at", "heartbeat_at"})


@state_group.command("status")
@state_option
@click.option("--lease", default=DEFAULT_LEASE, show_default=True, help="Seconds after which a silent process counts as gone.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(state: str, lease: float, as_json: bool) -> None:
    """Backend, schema, queue depth and age, parked, dead letters, and the leases each process holds."""

    async def read(store: StateStore) -> StoreStatus:
        return await store.status(lease)

    found = with_store(state, read)
    if as_json:
        echo_json(with_iso_times(asdict(found), _TIMES))
        return
    for line in _describe(found):
        click.echo(line)


def _describe(found: StoreStatus) -> list[str]:
    now = time.time()
    oldest = f"{now - found.oldest_waiting:,.0f} s ago" if found.oldest_waiting is not None else "-"
    due = _ago_or_in(found.next_parked_due, now)
    lines = [
        f"backend        {found.backend} ({found.location})",
        f"schema         version {found.schema_version}" + ("; holds rehearsals (sandboxed runs)" if found.rehearsal else ""),
        f"queue          {found.queue_depth:,} event(s) waiting; oldest accepted {oldest}",
        f"parked         {found.parked:,} (next due {due})",
        f"dead letters   {found.dead_letters:,}",
        f"ledger         {found.ledger:,} deliveries recorded",
        f"processes      {len(found.workers)} live",
    ]
    for worker in found.workers:
        lines.append(
            f"  {worker.worker}  {worker.role}  partitions={worker.partitions}/{found.partitions}"
            f"  parked claims={worker.parked_claims}  heartbeat {now - worker.heartbeat_at:,.0f} s ago"
        )
    return lines


def _ago_or_in(stamp: float | None, now: float) -> str:
    if stamp is None:
        return "-"
    return "now" if stamp <= now else f"in {stamp - now:,.0f} s"


@state_group.command("migrate")
@state_option
def migrate(state: str) -> None:
    """Create the store, or bring its schema up to this destkit's version (safe to run anywhere, any time)."""

    async def version(store: StateStore) -> int:
        return await store.schema_version()

    click.echo(f"state migrate: schema version {with_store(state, version, create=True)}")


@state_group.command("prune")
@state_option
@click.option("--before", required=True, type=click.DateTime(), help="Forget deliveries recorded before this date (local time).")
def prune(state: str, before: datetime) -> None:
    """Forget ledger entries older than a date (serve and worker do it by the config's state.ledger_days)."""

    async def remove(store: StateStore) -> int:
        return await store.prune_ledger(before.timestamp())

    removed = with_store(state, remove)
    click.echo(f"state prune: forgot {removed:,} deliveries recorded before {before.astimezone(UTC).isoformat()}")
