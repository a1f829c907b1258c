"""``destkit dlq list|show|replay|purge``: the events given up on, and what to do about them."""

from __future__ import annotations

import signal
import sys
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import click

from ..outcome import Status
from ..runtime import Runtime
from ..state import DEFAULT_LEASE, DeadLetter, MarkDelivered, ResolveDeadLetter, StateStore, TouchDeadLetter, describe_location
from ._common import USAGE_ERROR, Commands
from ._delivering import delivering, sandbox_option
from ._json import echo_json, iso_utc
from ._state import chosen_state, print_rows, state_option, with_store
from ._stopping import StopSignals


@click.group(cls=Commands)
def dlq() -> None:
    """Dead letters: deliveries given up on, kept with their raw events."""


def _as_dict(letter: DeadLetter, with_event: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": letter.id,
        "message_id": letter.message_id,
        "destination": letter.destination,
        "subscription": letter.subscription,
        "error": {"code": letter.error_code, "message": letter.error_message},
        "attempts": letter.attempts,
        "mapping_hash": letter.mapping_hash,
        "first_seen": iso_utc(letter.first_seen),
        "last_seen": iso_utc(letter.last_seen),
    }
    if with_event:
        data["event"] = letter.event
    return data


def _letters(state: str, code: str | None = None, ids: list[int] | None = None) -> list[DeadLetter]:
    async def read(store: StateStore) -> list[DeadLetter]:
        return await store.dead_letters(code=code, ids=ids)

    return with_store(state, read)


@dlq.command("list")
@state_option
@click.option("--code", help="Only this error code (e.g. PROFILE_NOT_FOUND).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_dead(state: str, code: str | None, as_json: bool) -> None:
    """List dead letters."""
    letters = _letters(state, code)
    if as_json:
        echo_json({"dead_letters": [_as_dict(d, with_event=False) for d in letters]})
        return
    rows = [
        {
            "id": d.id,
            "message_id": d.message_id,
            "where": f"{d.destination}/{d.subscription}",
            "code": d.error_code,
            "attempts": d.attempts,
            "last_seen": iso_utc(d.last_seen),
            "message": d.error_message[:120],
        }
        for d in letters
    ]
    print_rows(rows, ["id", "message_id", "where", "code", "attempts", "last_seen", "message"], False, "dead_letters")


@dlq.command("show")
@state_option
@click.argument("dead_letter_id", type=int)
def show_dead(state: str, dead_letter_id: int) -> None:
    """Show one dead letter in full, its raw event included (JSON)."""
    letters = _letters(state, ids=[dead_letter_id])
    if not letters:
        click.echo(f"error: no dead letter {dead_letter_id} in {describe_location(state)}", err=True)
        sys.exit(USAGE_ERROR)
    echo_json(_as_dict(letters[0]))


@dlq.command("replay")
@state_option
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The config file (its current mappings apply).",
)
@click.option("--code", help="Replay the dead letters with this error code.")
@click.argument("ids", nargs=-1, type=int)
@sandbox_option
def replay_dead(state: str, config_path: str, code: str | None, ids: tuple[int, ...], sandbox: bool) -> None:
    """Send dead letters again, mapped with the current config: by --code, or by ID.

    Delivered ones leave the queue; the others stay, with their new error. A store holding
    rehearsals is replayed with --sandbox only, and a store of real deliveries without it.
    On Ctrl-C or SIGTERM the one in flight finishes and it stops with 130 or 143.
    """
    if not code and not ids:
        raise click.UsageError("say which: --code CODE or dead letter IDs")
    signals = StopSignals()
    with ExitStack() as stack:  # the sandboxes serve until the run is over
        _, runtime = delivering(stack, config_path, sandbox)
        counts: Counter[str] = Counter()

        async def work(store: StateStore) -> int:
            await store.claim_purpose(rehearsal=sandbox)
            letters = await store.dead_letters(code=code, ids=ids or None)
            runtime.state = store
            done = 0
            async with signals, runtime:
                for letter in letters:
                    if signals.requested.is_set():
                        break
                    await _replay_one(runtime, store, letter, counts)
                    done += 1
            return done

        replayed = with_store(chosen_state(state, sandbox), work)
    stopped = f" (stopped by {signal.Signals(signals.by).name})" if signals.by is not None else ""
    click.echo(
        f"dlq replay: {replayed} dead letter(s): "
        + (" ".join(f"{s}={n}" for s, n in sorted(counts.items())) or "nothing to do")
        + stopped
    )
    sys.exit(signals.exit_code(otherwise=0 if set(counts) <= {"delivered"} else 1))


async def _replay_one(runtime: Runtime, store: StateStore, letter: DeadLetter, counts: Counter[str]) -> None:
    """Send one dead letter again; delivered, it leaves the queue, else it keeps its new error."""
    routed = runtime.route(letter.event, only=(letter.destination, letter.subscription))
    outcomes = await runtime.send(routed) if routed.jobs else routed.finished()
    for outcome in outcomes:
        counts[outcome.status.value] += 1
        now = time.time()
        if outcome.status == Status.DELIVERED:
            key = (letter.message_id, letter.destination, letter.subscription)
            await store.apply([MarkDelivered(key, now), ResolveDeadLetter(letter.id)])
        elif outcome.error is not None:
            error = outcome.error
            await store.apply([TouchDeadLetter(letter.id, outcome.attempts, error.code, error.message, now)])
            click.echo(f"{letter.id} {outcome.status.value} {error.code}: {error.message}", err=True)


@dlq.command("purge")
@state_option
@click.option("--before", type=click.DateTime(), help="Only dead letters last seen before this date (local time).")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking (needed where there is no terminal to ask on).")
def purge_dead(state: str, before: datetime | None, yes: bool) -> None:
    """Delete dead letters (all, or those last seen before a date), after asking.

    Without a terminal (a script, cron), --yes is required: nothing is deleted without it (exit 2).
    """
    which = f" last seen before {before.astimezone(UTC).isoformat()}" if before else ""
    if not yes:
        if not sys.stdin.isatty():
            click.echo("error: dlq purge deletes for good: say --yes (there is no terminal to ask on)", err=True)
            sys.exit(USAGE_ERROR)

        async def count(store: StateStore) -> int:
            return (await store.status(DEFAULT_LEASE)).dead_letters

        held = with_store(state, count)  # a store that does not exist is told before asking
        what = which or f" (all {held})"
        if held and not click.confirm(f"Delete the dead letters{what} in {describe_location(state)}?"):
            click.echo("dlq purge: nothing removed")
            sys.exit(1)

    async def purge(store: StateStore) -> int:
        return await store.purge_dead_letters(before.timestamp() if before else None)

    removed = with_store(state, purge)
    click.echo(f"dlq purge: removed {removed} dead letter(s){which}")
