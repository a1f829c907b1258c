"""``destkit dlq list|show|replay|purge``: the events given up on, and what to do about them."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from datetime import UTC, datetime

import click

from ..config import load_config
from ..durable import Durable
from ..errors import DestkitError
from ..outcome import Status
from ..runtime import Runtime
from ..state import StateStore
from ._common import USAGE_ERROR
from ._state import print_rows, state_option


@click.group()
def dlq() -> None:
    """Dead letters: deliveries given up on, kept with their raw events."""


def _open(path: str) -> StateStore:
    try:
        return StateStore(path)
    except DestkitError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(USAGE_ERROR)


@dlq.command("list")
@state_option
@click.option("--code", help="Only this error code (e.g. PROFILE_NOT_FOUND).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_dead(state_path: str, code: str | None, as_json: bool) -> None:
    """List dead letters."""
    with _open(state_path) as store:
        letters = store.dead_letters(code=code)
    if as_json:
        click.echo(json.dumps({"dead_letters": [d.to_dict(with_event=False) for d in letters]}, indent=2, ensure_ascii=False))
        return
    rows = [
        {
            "id": d.id,
            "messageId": d.message_id,
            "where": f"{d.destination}/{d.subscription}",
            "code": d.error_code,
            "attempts": d.attempts,
            "last seen": d.to_dict()["lastSeen"],
            "message": d.error_message[:120],
        }
        for d in letters
    ]
    print_rows(rows, ["id", "messageId", "where", "code", "attempts", "last seen", "message"], False, "dead_letters")


@dlq.command("show")
@state_option
@click.argument("dead_letter_id", type=int)
def show_dead(state_path: str, dead_letter_id: int) -> None:
    """Show one dead letter in full, its raw event included (JSON)."""
    with _open(state_path) as store:
        letters = store.dead_letters(ids=[dead_letter_id])
    if not letters:
        click.echo(f"error: no dead letter {dead_letter_id} in {state_path}", err=True)
        sys.exit(USAGE_ERROR)
    click.echo(json.dumps(letters[0].to_dict(), indent=2, ensure_ascii=False))


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
def replay_dead(state_path: str, config_path: str, code: str | None, ids: tuple[int, ...]) -> None:
    """Send dead letters again, mapped with the current config: by --code, or by ID.

    Delivered ones leave the queue; the others stay, with their new error.
    """
    if not code and not ids:
        raise click.UsageError("say which: --code CODE or dead letter IDs")
    try:
        config = load_config(config_path)
    except DestkitError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(USAGE_ERROR)
    counts: Counter[str] = Counter()
    with _open(state_path) as store:
        try:
            runtime = Runtime(config, state=store)
        except DestkitError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(USAGE_ERROR)
        letters = store.dead_letters(code=code, ids=ids or None)
        durable = Durable(runtime, store, force=True)

        async def main() -> None:
            async with runtime:
                for letter in letters:
                    routed = runtime.route(letter.event, only=(letter.destination, letter.subscription))
                    outcomes = await runtime.send(routed) if routed.jobs else routed.finished()
                    for outcome in outcomes:
                        counts[outcome.status.value] += 1
                        if outcome.status == Status.DELIVERED:
                            durable.settle(letter.event, [outcome])  # into the ledger
                            store.resolve_dead_letter(letter.id)
                        elif outcome.error is not None:
                            store.touch_dead_letter(letter.id, outcome.attempts, outcome.error.code, outcome.error.message)
                            click.echo(
                                f"{letter.id} {outcome.status.value} {outcome.error.code}: {outcome.error.message}", err=True
                            )

        asyncio.run(main())
    click.echo(
        f"dlq replay: {len(letters)} dead letter(s): "
        + (" ".join(f"{s}={n}" for s, n in sorted(counts.items())) or "nothing to do")
    )
    sys.exit(0 if set(counts) <= {"delivered"} else 1)


@dlq.command("purge")
@state_option
@click.option("--before", type=click.DateTime(), help="Only dead letters last seen before this date (local time).")
def purge_dead(state_path: str, before: datetime | None) -> None:
    """Delete dead letters (all, or those last seen before a date)."""
    with _open(state_path) as store:
        removed = store.purge_dead_letters(before.timestamp() if before else None)
    click.echo(
        f"dlq purge: removed {removed} dead letter(s)"
        + (f" last seen before {before.astimezone(UTC).isoformat()}" if before else "")
    )
