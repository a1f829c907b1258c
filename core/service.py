"""``destkit serve``: Segment's HTTP tracking API in front of the runtime, storing before answering.

::

    service = Service("destkit.yaml", state=".destkit/state.db")   # or a postgresql:// URL
    app = service.app                      # an ASGI app: run it, or mount it in another router

``POST /v1/identify|track|page|screen|group|alias`` and ``/v1/batch`` (and ``/v1/import``),
authenticated by a write key from the config's ``serve.write_keys`` (the Basic-auth user, as
Segment's libraries send it, or ``writeKey`` in the body). An event is answered 200 only once
it is in the state store's inbox; a :class:`~destkit.worker.Worker` delivers the inbox with the
same runtime, ledger, parking and dead letters as ``replay`` (``deliver=False`` leaves that to
``destkit worker`` processes). On shutdown the worker stops taking events and lets those in
flight finish (within ``grace`` seconds); anything unsettled stays in the inbox for the next
start or another process. On SQLite one service per state file; on PostgreSQL any number.

``POST /ee/v2/interact?dataStreamId=ID`` answers profile lookups for the config's
profile-request destinations, in the shape of AEP's edge (:mod:`destkit.edge`).

``GET /healthz`` and ``GET /metrics`` (Prometheus) tell how it is doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .config import Config, load_config, parse_config
from .door import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, Door, Refused
from .edge import EdgeLookup
from .errors import ConfigError
from .events import EVENT_TYPES, ordering_key
from .keys import KeyRing
from .logs import fields
from .metrics import CONTENT_TYPE_LATEST, ServiceMetrics
from .registry import Registry
from .runtime import Runtime
from .state import StateStore, open_store
from .worker import Worker, WorkerOptions

__all__ = ["Service", "MAX_BATCH_BYTES", "MAX_BATCH_EVENTS"]

logger = logging.getLogger("destkit.service")

QUEUE_FULL_RETRY = 5  # seconds a sender is asked to wait when the inbox is full
COUNT_EVERY = 2.0  # seconds between two counts of the inbox and the parked deliveries


class Service:
    """Segment's tracking API, the profile lookups and (unless ``deliver=False``) a delivery worker.

    ``state`` is a :class:`~destkit.state.StateStore` or a location (a path or a
    ``postgresql://`` URL; ``DESTKIT_STATE`` or ``.destkit/state.db`` when None), opened while
    the service runs. ``rehearsal`` marks a sandboxed service: its store must hold rehearsals only.
    """

    def __init__(
        self,
        config: Config | Mapping[str, Any] | str | os.PathLike[str],
        *,
        state: StateStore | str | os.PathLike[str] | None = None,
        registry: Registry | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        grace: float = 20.0,
        deliver: bool = True,
        rehearsal: bool = False,
    ) -> None:
        if isinstance(config, Config):
            loaded = config
        elif isinstance(config, Mapping):
            loaded = parse_config(dict(config))
        else:
            loaded = load_config(config)
        options = loaded.serve_options()
        self.options = options
        self.write_keys = KeyRing(key.get_secret_value() for key in options.write_keys)
        if not self.write_keys:
            raise ConfigError(f"{loaded.source}: serve needs at least one write key (serve: {{write_keys: [...]}})")
        self.runtime = Runtime(loaded, registry=registry, transport=transport)
        self.runtime.redact.add(self.write_keys.values())
        self.max_queue = options.max_queue
        self.state = state
        self.deliver = deliver
        self.rehearsal = rehearsal
        self.worker_options = WorkerOptions(lease=loaded.state.lease_seconds, ledger_days=loaded.state.ledger_days, grace=grace)
        subscriptions = self.runtime.subscriptions
        self.metrics = ServiceMetrics({sub.destination.name for sub in subscriptions}, {sub.name for sub in subscriptions})
        self.store: StateStore | None = None
        self.worker: Worker | None = None
        self.door = Door(self.write_keys, body_timeout=options.body_timeout, dropped=self.metrics.dropped)
        tokens = KeyRing(token.get_secret_value() for token in options.edge_tokens)
        self.runtime.redact.add(tokens.values())
        self.edge = EdgeLookup(subscriptions, tokens, lambda: self.store, self.metrics.looked_up, options=options)
        # Counted every COUNT_EVERY seconds (and kept up to date with what this process takes in):
        # counting a large inbox per request would be slow, and other processes change it too.
        self._depth = 0
        self._changes = 0  # takings in and settlements since the start, for _count
        self._parked = 0
        self.app = Starlette(
            routes=[
                *(Route(f"/v1/{kind}", self._single, methods=["POST"]) for kind in EVENT_TYPES),
                Route("/v1/batch", self._batch, methods=["POST"]),
                Route("/v1/import", self._batch, methods=["POST"]),
                Route("/ee/v2/interact", self.edge.interact, methods=["POST"]),
                Route("/healthz", self._health, methods=["GET"]),
                Route("/metrics", self._metrics, methods=["GET"]),
            ],
            lifespan=lambda app: self.running(),
        )

    # --- running --------------------------------------------------------------------------------

    async def open(self) -> StateStore:
        """Open the state store (if not open yet) and hold it for this service. Called by
        :meth:`running`; ``destkit serve`` calls it first, to fail before announcing itself."""
        if self.store is not None:
            return self.store
        store = self.state if isinstance(self.state, StateStore) else open_store(self.state)
        await store.open()
        try:
            store.lock_service()
            await store.claim_purpose(self.rehearsal)
        except BaseException:
            await store.close()
            raise
        self.store = store
        return store

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the store, start the worker; on exit, let in-flight deliveries finish. A parent
        router that mounts ``app`` uses this as (part of) its own lifespan."""
        store = await self.open()
        self.runtime.state = store  # profile-request destinations keep their profiles there
        stop = asyncio.Event()
        try:
            await self._count(store)
            async with self.runtime:
                tasks = [asyncio.create_task(self._keep_counting(store, stop), name="destkit-counts")]
                if self.deliver:
                    self.worker = Worker(
                        self.runtime, store, self.worker_options, on_settled=self.metrics.settled, on_acknowledged=self._left
                    )
                    tasks.append(asyncio.create_task(self.worker.run(stop), name="destkit-worker"))
                try:
                    yield
                finally:
                    stop.set()
                    await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self.worker = None
            self.runtime.state = None
            self.store = None
            await store.close()

    def _left(self) -> None:
        self._depth = max(0, self._depth - 1)
        self._changes += 1

    async def _count(self, store: StateStore) -> None:
        # A count read while this process took in or settled events may be stale by then: read
        # again (a few times at most; under steady traffic the last read stands until the next).
        for _ in range(3):
            changes = self._changes
            depth = await store.inbox_depth()
            if self._changes == changes:
                break
        self._depth = depth
        self._parked = await store.parked_count()

    async def _keep_counting(self, store: StateStore, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=COUNT_EVERY)
            with contextlib.suppress(Exception):  # the next count will tell; health still answers
                await self._count(store)

    # --- the tracking API -----------------------------------------------------------------------

    async def _single(self, request: Request) -> Response:
        kind = request.url.path.rsplit("/", 1)[-1]
        return await self._accept(request, kind)

    async def _batch(self, request: Request) -> Response:
        return await self._accept(request, None)

    async def _accept(self, request: Request, kind: str | None) -> Response:
        try:
            events = await self.door.events(request, kind)
        except Refused as refused:
            self.metrics.rejected(refused.reason)
            # What was wrong, in destkit's words (a limit, a position in the JSON); never the body.
            extra = fields(path=request.url.path, reason=refused.reason, http_status=refused.status, problem=refused.message)
            logger.warning("request refused", extra={**extra, "repeat_key": ("refused", refused.reason)})
            headers = {"WWW-Authenticate": 'Basic realm="destkit"'} if refused.status == 401 else None
            return JSONResponse({"success": False, "message": refused.message}, refused.status, headers=headers)
        store = self.store
        if store is None:
            return JSONResponse({"success": False, "message": "the service is not running"}, 503)
        if len(events) > self.max_queue:  # would never fit: retrying cannot help
            self.metrics.rejected("size")
            message = f"the request holds {len(events):,} events, more than serve.max_queue ({self.max_queue:,})"
            return JSONResponse({"success": False, "message": message}, 400)
        if self._depth + len(events) > self.max_queue:
            # Segment's libraries retry a 503 later; what is stored is never turned away.
            self.metrics.rejected("queue_full")
            message = f"{self._depth:,} events wait for delivery (serve.max_queue is {self.max_queue:,}); try again shortly"
            return JSONResponse({"success": False, "message": message}, 503, headers={"Retry-After": str(QUEUE_FULL_RETRY)})
        if events:
            await store.accept([(ordering_key(event), json.dumps(event, ensure_ascii=False)) for event in events], time.time())
        self._depth += len(events)
        self._changes += 1
        for event in events:
            self.metrics.received(event.get("type"))
        if self.worker is not None:
            self.worker.wake()
        return JSONResponse({"success": True})

    async def _health(self, request: Request) -> Response:
        if self.store is None:
            return JSONResponse({"status": "starting"}, 503)
        return JSONResponse({"status": "ok", "queue": self._depth, "parked": self._parked})

    async def _metrics(self, request: Request) -> Response:
        if self.store is not None:
            self.metrics.queue_depth.set(self._depth)
            self.metrics.parked.set(self._parked)
        breakers = self.runtime.breakers
        for destination in breakers.limits:  # the config's destinations: a closed set of labels
            self.metrics.suspended.labels(destination).set(1 if breakers.suspension(destination) else 0)
        return Response(self.metrics.render(), media_type=CONTENT_TYPE_LATEST)
