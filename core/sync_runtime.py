"""The runtime for code without an event loop (scripts, notebooks, a synchronous web app)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, TypeVar

from .config import Config
from .outcome import Outcome
from .runtime import Runtime

__all__ = ["SyncRuntime"]

T = TypeVar("T")


class SyncRuntime:
    """The runtime for scripts without an event loop::

    with SyncRuntime("destkit.yaml") as runtime:
        outcomes = runtime.deliver(event)
    """

    def __init__(self, config: Config | Mapping[str, Any] | str | os.PathLike[str], **options: Any) -> None:
        self._runner = asyncio.Runner()
        self._closed = False
        self.runtime = Runtime(config, **options)

    def __enter__(self) -> SyncRuntime:
        self._run(self.runtime.start)
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._run(self.runtime.aclose)
        finally:
            self._runner.close()
            self._closed = True

    def deliver(self, event: Any) -> list[Outcome]:
        return self._run(lambda: self.runtime.deliver(event))

    def deliver_many(self, events: Iterable[Any]) -> list[list[Outcome]]:
        return self._run(lambda: self.runtime.deliver_many(events))

    def _run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run the coroutine ``make`` makes, once it is known that it can run here."""
        if self._closed:
            raise RuntimeError("this SyncRuntime is closed: deliver inside its `with` block")
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._runner.run(make())
        raise RuntimeError("SyncRuntime cannot run inside an event loop: use `async with Runtime(...)` there")
