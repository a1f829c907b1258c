"""Gathering payloads for an action's ``perform_batch``: a batch leaves when full or when it has
waited ``max_wait`` seconds, and each caller gets back the result for its own payload."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Batcher", "BatchItem"]


@dataclass(slots=True)
class BatchItem:
    payload: Any
    event: dict[str, Any]
    future: asyncio.Future[Any]


#: Sends one batch; returns one result per item, in order.
Flush = Callable[[list[BatchItem]], Awaitable[Sequence[Any]]]


class Batcher:
    def __init__(self, size: int, max_wait: float, flush: Flush) -> None:
        self.size = size
        self.max_wait = max_wait
        self._flush = flush
        self._pending: list[BatchItem] = []
        self._timer: asyncio.TimerHandle | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    async def submit(self, payload: Any, event: dict[str, Any]) -> Any:
        """Queue one payload and wait for its own result."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append(BatchItem(payload, event, future))
        if len(self._pending) >= self.size:
            self._send()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_wait, self._send)
        return await future

    def _send(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        items, self._pending = self._pending, []
        if items:
            task = asyncio.get_running_loop().create_task(self._run(items))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _run(self, items: list[BatchItem]) -> None:
        try:
            results = await self._flush(items)
        except BaseException as exc:  # every waiter must hear of it, whatever it was
            for item in items:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        for item, result in zip(items, results, strict=True):
            if not item.future.done():
                item.future.set_result(result)

    async def drain(self) -> None:
        """Send what is pending and wait for every batch in flight (used on close)."""
        self._send()
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
