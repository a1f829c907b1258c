"""The event loop destkit's commands run on: uvloop where it is installed (``pip install
'destkit[fast]'``), asyncio's own otherwise.

uvloop runs the same code with a cheaper loop (``benchmarks/delivery.py`` and
``benchmarks/replay.py`` measure both). ``--loop asyncio`` (or ``DESTKIT_LOOP=asyncio``) turns it
off, ``--loop uvloop`` insists on it.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

from .errors import ConfigError

__all__ = ["LoopChoice", "LOOP_CHOICES", "resolve_loop", "run", "tune_collector"]

T = TypeVar("T")
LoopChoice = Literal["auto", "uvloop", "asyncio"]
LOOP_CHOICES: tuple[str, ...] = ("auto", "uvloop", "asyncio")


def resolve_loop(choice: str = "auto") -> Literal["uvloop", "asyncio"]:
    """The loop a choice means here: ``auto`` is uvloop when installed."""
    if choice not in LOOP_CHOICES:
        raise ConfigError(f"--loop {choice!r}: one of {', '.join(LOOP_CHOICES)}")
    installed = importlib.util.find_spec("uvloop") is not None
    if choice == "uvloop" and not installed:
        raise ConfigError("--loop uvloop: uvloop is not installed (pip install 'destkit[fast]')")
    if choice == "asyncio" or not installed:
        return "asyncio"
    return "uvloop"


def _factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if resolve_loop(choice) == "asyncio":
        return None
    import uvloop

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T], loop: str = "auto") -> T:
    """Run ``main`` to completion on the chosen loop (as ``asyncio.run`` does)."""
    try:
        factory = _factory(loop)
    except ConfigError:
        main.close()
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def tune_collector() -> None:
    """Collect the youngest objects every 50,000 allocations instead of every 700.

    Delivering allocates many short-lived objects and makes few reference cycles; at the default
    threshold the collector ran so often that it cost 7-10% of a dry run, and on uvloop (whose
    loop keeps many more objects tracked, each collection walking them) about a third of live
    delivery. Older generations are still collected, so memory stays flat. The commands that
    deliver (replay, serve, worker, parked run) call it; an embedding application decides for
    itself.
    """
    gc.set_threshold(50_000, 20, 20)
