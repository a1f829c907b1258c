"""The runtime for code without an event loop (scripts, notebooks, a synchronous web app)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping
from typing import Any

from .config import Config
from .outcome import Outcome
from .runtime import Runtime

__all__ = ["SyncRuntime"]


class SyncRuntime:
    """The runtime for scripts without an event loop::

    with SyncRuntime("destkit.yaml") as runtime:
        outcomes = runtime.deliver(event)
    """

    def __init__(self, config: Config | Mapping[str, Any] | str | os.PathLike[str], **options: Any) -> None:
        self._runner = asyncio.Runner()
        self.runtime = Runtime(config, **options)

    def __enter__(self) -> SyncRuntime:
        self._runner.run(self.runtime.start())
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._runner.run(self.runtime.aclose())
        finally:
            self._runner.close()

    def deliver(self, event: Any) -> list[Outcome]:
        return self._runner.run(self.runtime.deliver(event))

    def deliver_many(self, events: Iterable[Any]) -> list[list[Outcome]]:
        return self._runner.run(self.runtime.deliver_many(events))
