"""The runtime: one event in, one outcome per subscription out.

::

    async with Runtime("destkit.yaml") as runtime:
        outcomes = await runtime.deliver(event)

Per event: validate it, then for each subscription, test the trigger, apply the mapping,
validate the payload against the action's model and perform (with retries). Everything else
(config, triggers, mappings, settings, request defaults) was compiled when the runtime was
built. Events of one person (``userId``, else ``anonymousId``) are delivered in the order
``deliver`` was called; others run side by side, up to ``concurrency`` at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TextIO

import httpx
from pydantic import BaseModel, ValidationError

from .auth import MemoryTokenStore, OAuth2, OAuth2Session, TokenStore
from .batching import Batcher, BatchItem
from .breaker import REFUSED, SUSPENDED, AuthBreakers
from .compiling import compile_config
from .config import (
    CompiledDestination,
    CompiledSubscription,
    Config,
    describe_validation_error,
    load_config,
    parse_config,
)
from .dryrun import DryRunTransport
from .errors import DeliveryError, InvalidEvent, MappingFailed, PayloadValidationError
from .events import ordering_key, validate_event
from .http import RequestDefaults, Requester, make_transport
from .logs import mask_with
from .ordering import PersonLocks
from .outcome import ErrorInfo, Outcome, Status
from .plugin import Context
from .profiles import PrintedProfiles, Profiles, StoredProfiles
from .redaction import Redactor
from .registry import Registry
from .retry import Attempted, call_with_retries
from .routed import HeldBack, Routed, began, beginning
from .slots import Slots
from .state import StateStore, open_store

__all__ = ["Runtime", "Routed", "HeldBack"]

logger = logging.getLogger("destkit")

_INVALID = (InvalidEvent, PayloadValidationError, MappingFailed)
NO_MATCH = "no subscription's trigger matched"


class _RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """What plugins log through: the message is rendered, then secrets are masked."""

    def __init__(self, logger: logging.Logger, redact: Redactor) -> None:
        super().__init__(logger, {})
        self.redact = redact

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self.logger.log(level, self.redact(text), **kwargs)


class Runtime:
    """Delivers events to the subscriptions of a config.

    ``config`` is a path, a dict or a :class:`Config`. ``transport`` replaces the HTTP transport
    (``httpx.MockTransport`` in tests); ``registry`` replaces the installed plugins; ``sleep``
    replaces the wait between retries (tests pass a recorder that does not wait). With
    ``dry_run`` (a text stream), nothing is sent: every request is written there, secrets masked.
    ``state`` (a :class:`~destkit.state.StateStore`, or a location: a path or a
    ``postgresql://`` URL, opened on start and closed on exit) keeps the profiles of
    profile-request destinations. ``tokens`` keeps OAuth2 tokens refreshed while running, so
    the next run starts from them: the state store when there is one, else memory.
    """

    def __init__(
        self,
        config: Config | Mapping[str, Any] | str | os.PathLike[str],
        *,
        registry: Registry | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int | None = None,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        dry_run: TextIO | None = None,
        state: StateStore | str | os.PathLike[str] | None = None,
        tokens: TokenStore | None = None,
    ) -> None:
        if isinstance(config, Config):
            self.config = config
        elif isinstance(config, Mapping):
            self.config = parse_config(dict(config))
        else:
            self.config = load_config(config)
        self.subscriptions: list[CompiledSubscription] = compile_config(self.config, registry, environ)
        self.concurrency = concurrency or self.config.runtime.concurrency
        self.redact = Redactor(secret for sub in self.subscriptions for secret in sub.destination.secrets)
        self._given_transport = transport
        mask_with(self.redact)  # log lines are masked with every secret it knows, or learns
        self.dry_run = dry_run
        self._sleep = sleep
        self.state = state if isinstance(state, StateStore) else None
        self._state_path = None if state is None or isinstance(state, StateStore) else state
        self._profiles: dict[str, Profiles | None] = {}
        self._given_tokens = tokens
        self.tokens: TokenStore = tokens if tokens is not None else MemoryTokenStore()
        self._transport: httpx.AsyncBaseTransport | None = None
        self._requesters: dict[str, Requester] = {}
        self._batchers: dict[int, Batcher] = {}
        self._loggers: dict[str, _RedactingLogger] = {}
        self._people = PersonLocks()
        self._slots: Slots | None = None
        self.breakers = AuthBreakers({sub.destination.name: sub.destination.auth_failure_limit for sub in self.subscriptions})

    # --- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        if self._transport is not None:
            return
        if self._given_transport is not None:
            self._transport = self._given_transport
        elif self.dry_run is not None:
            self._transport = httpx.MockTransport(lambda request: httpx.Response(599))  # never used
        else:
            self._transport = make_transport(max_connections=max(self.concurrency, 10))
        self._slots = Slots(self.concurrency)
        if self._state_path is not None and self.state is None:
            store = open_store(self._state_path)
            await store.open()
            self.state = store
        if self._given_tokens is None and self.state is not None and self.dry_run is None:
            self.tokens = self.state  # refreshed tokens outlive the process: a restart starts from them
        for sub in self.subscriptions:
            dest = sub.destination
            if dest.name not in self._requesters:
                transport = self._transport
                if self.dry_run is not None:  # nothing is sent: each request is printed and answered here
                    transport = DryRunTransport(self.dry_run, self.redact, dest.plugin.dry_run_answer)
                self._loggers[dest.name] = _RedactingLogger(
                    logging.getLogger(f"destkit.destinations.{dest.plugin.slug}"), self.redact
                )
                self._profiles[dest.name] = self._profiles_of(dest.name)
                self._requesters[dest.name] = self._requester(dest, transport)
            if sub.batch is not None:
                size = sub.batch.size or sub.action.batch_size
                self._batchers[id(sub)] = Batcher(size, sub.batch.max_wait, self._batch_sender(sub))

    def _requester(self, dest: CompiledDestination, transport: httpx.AsyncBaseTransport) -> Requester:
        """The destination's ``ctx.http``, with its OAuth2 session when it has one."""

        def plain(defaults: RequestDefaults, auth: OAuth2Session | None = None) -> Requester:
            classify, timeout = dest.plugin.classify_response, self.config.runtime.timeout
            return Requester(transport, defaults, classify, timeout, redact=self.redact, auth=auth)

        scheme = dest.plugin.authentication
        if not isinstance(scheme, OAuth2):
            return plain(dest.request_defaults)
        # The token endpoint gets no credential of the destination's: only what the plugin sends.
        renewing = self._context_for(dest, plain(RequestDefaults(base_url=dest.request_defaults.base_url)))
        session = scheme.session(renewing, key=f"oauth2/{dest.name}", store=self.tokens, learnt=self.redact.add)
        return plain(dest.request_defaults, session)

    def context(self, destination: str) -> Context[Any]:
        """A context for calls outside an event, such as the plugin's ``test_authentication``."""
        for sub in self.subscriptions:
            if sub.destination.name == destination:
                return self._context_for(sub.destination, self._requesters[destination])
        raise KeyError(destination)

    def _context_for(self, dest: CompiledDestination, http: Requester, subscription: str = "") -> Context[Any]:
        return Context(
            settings=dest.settings,
            http=http,
            destination=dest.name,
            subscription=subscription,
            logger=self._loggers[dest.name],  # type: ignore[arg-type]
            profiles=self._profiles[dest.name],
        )

    def _profiles_of(self, destination: str) -> Profiles | None:
        if self.dry_run is not None:
            return PrintedProfiles(self.dry_run, destination, self.redact)
        return StoredProfiles(self.state, destination) if self.state is not None else None

    async def aclose(self) -> None:
        for batcher in self._batchers.values():
            await batcher.drain()
        if self._transport is not None:
            if self._given_transport is None:  # a transport handed in belongs to the caller
                await self._transport.aclose()
            self._transport = None
        if self._state_path is not None and self.state is not None:  # opened here from a location: closed here
            await self.state.close()
            self.state = None

    # --- delivering -----------------------------------------------------------------------------

    async def deliver(self, event: Any) -> list[Outcome]:
        """Deliver one raw event to every subscription whose trigger matches it.

        Never raises for a bad event or a failed delivery: those are outcomes (``invalid``,
        ``failed``). With no matching subscription, the one outcome is ``skipped``.
        """
        return await self.send(self.route(event))

    async def deliver_many(self, events: Iterable[Any]) -> list[list[Outcome]]:
        """Deliver many events concurrently (person order kept); outcomes in input order."""
        return list(await asyncio.gather(*(self.deliver(event) for event in events)))

    def route(self, event: Any, only: tuple[str, str] | None = None) -> Routed:
        """The synchronous half of ``deliver``: validate, test triggers, map, check payloads.

        What needs no network is decided here (invalid, skipped); the rest is left for
        :meth:`send`. A caller with many events (replay, the service) calls ``route`` in
        arrival order and only awaits ``send`` for events with something to send. ``only``
        (destination, subscription) limits it to one subscription.
        """
        try:
            event = validate_event(event)
        except InvalidEvent as exc:
            message_id = event.get("messageId") if isinstance(event, dict) else None
            return Routed(event, message_id, [Outcome(Status.INVALID, message_id, error=ErrorInfo.from_error(exc, self.redact))])
        message_id = event["messageId"]
        routed = Routed(event, message_id, [])
        for sub in self.subscriptions:
            if only is not None and (sub.destination.name, sub.name) != only:
                continue
            if not sub.trigger(event):
                continue
            dest = sub.destination
            if _disabled_by_integrations(event, dest):
                reason = "disabled by the event's integrations object"
                routed.outcomes.append(Outcome(Status.SKIPPED, message_id, dest.name, sub.name, sub.action.slug, reason=reason))
                continue
            try:
                payload = self._payload(sub, event)
            except DeliveryError as exc:
                error = ErrorInfo.from_error(exc, self.redact)
                routed.outcomes.append(Outcome(Status.INVALID, message_id, dest.name, sub.name, sub.action.slug, error=error))
                continue
            routed.jobs.append((len(routed.outcomes), sub, payload))
            routed.outcomes.append(None)
        if not routed.outcomes:
            routed.outcomes.append(Outcome(Status.SKIPPED, message_id, reason=NO_MATCH))
        return routed

    async def send(self, routed: Routed, stopping: asyncio.Event | None = None) -> list[Outcome]:
        """The network half of ``deliver``: perform what :meth:`route` left, in person order.

        With ``stopping``: once it is set, an event whose turn for a place comes before any of
        its deliveries has begun raises :class:`HeldBack` instead (one that has begun finishes).
        """
        if not routed.jobs:
            return routed.finished()
        if self._transport is None:
            raise RuntimeError("use 'async with Runtime(...)' (or await runtime.start()) before delivering")
        event, message_id = routed.event, routed.message_id or ""

        begun = began if stopping is None else beginning(routed, stopping)
        async with self._people.hold(ordering_key(event)):
            if len(routed.jobs) == 1:
                index, sub, payload = routed.jobs[0]
                routed.outcomes[index] = await self._perform(sub, payload, event, message_id, begun)
            else:
                # All of them end before the event does (held back, they all are: they share ``begun``).
                results = await asyncio.gather(
                    *(self._perform(sub, payload, event, message_id, begun) for _, sub, payload in routed.jobs),
                    return_exceptions=True,
                )
                for (index, _, _), result in zip(routed.jobs, results, strict=True):
                    if isinstance(result, BaseException):
                        raise result
                    routed.outcomes[index] = result
        return routed.finished()

    async def _perform(
        self, sub: CompiledSubscription, payload: BaseModel, event: dict[str, Any], message_id: str, begin: Callable[[], None]
    ) -> Outcome:
        dest = sub.destination

        def outcome(status: Status, attempts: int = 0, error: ErrorInfo | None = None) -> Outcome:
            return Outcome(status, message_id, dest.name, sub.name, sub.action.slug, attempts, error)

        batcher = self._batchers.get(id(sub))
        if batcher is not None:
            begin()  # held back here, before it joins a batch
            result: tuple[DeliveryError | None, int] = await batcher.submit(payload, event)
            error, attempts = result
            if error is None:
                self.breakers.answered(dest.name, None)
                return outcome(Status.DELIVERED, attempts)
            return self._failure(outcome, error, attempts, dest.name)
        perform = sub.action.perform
        assert perform is not None  # an action without perform is always batched
        context = self._context(sub, [event])
        try:
            async with self._slot():
                begin()
                _, attempts = await call_with_retries(
                    self.breakers.guard(dest.name, lambda: perform(context, payload)), dest.retry, sleep=self._sleep
                )
        except Attempted as failure:
            return self._failure(outcome, failure.error, failure.attempts, dest.name)
        self.breakers.answered(dest.name, None)
        return outcome(Status.DELIVERED, attempts)

    def _slot(self) -> Slots:
        """One of ``concurrency`` places for work on the network (an event waiting in a batch holds none)."""
        assert self._slots is not None
        return self._slots

    def _payload(self, sub: CompiledSubscription, event: dict[str, Any]) -> BaseModel:
        mapped = sub.mapping(event)
        try:
            payload: BaseModel = sub.action.payload.model_validate(mapped)
            return payload
        except ValidationError as exc:
            raise PayloadValidationError(describe_validation_error(exc)) from None

    def _failure(self, outcome: Callable[..., Outcome], error: BaseException, attempts: int, destination: str) -> Outcome:
        if isinstance(error, DeliveryError):
            suspension = self.breakers.answered(destination, error)
            if suspension is not None and error.code in (REFUSED, SUSPENDED):  # parked, not buried
                return outcome(Status.FAILED, attempts - (error.code == SUSPENDED), suspension)
            status = Status.INVALID if isinstance(error, _INVALID) else Status.FAILED
            return outcome(status, attempts, ErrorInfo.from_error(error, self.redact))
        # A bug in a plugin is reported, with its type, as this event's failure; the run goes on.
        logger.exception("action raised an unexpected %s", type(error).__name__, exc_info=error)
        message = self.redact(f"the action raised {type(error).__name__}: {error}")
        return outcome(Status.FAILED, attempts, ErrorInfo("PLUGIN_ERROR", message))

    def _context(self, sub: CompiledSubscription, events: list[dict[str, Any]]) -> Context[Any]:
        context = self._context_for(sub.destination, self._requesters[sub.destination.name], sub.name)
        context.events = events
        return context

    def _batch_sender(self, sub: CompiledSubscription) -> Callable[[list[BatchItem]], Awaitable[list[tuple[Any, int]]]]:
        perform_batch = sub.action.perform_batch
        assert perform_batch is not None

        async def send(items: list[BatchItem]) -> list[tuple[Any, int]]:
            context = self._context(sub, [item.event for item in items])
            payloads = [item.payload for item in items]
            try:
                async with self._slot():
                    results, attempts = await call_with_retries(
                        self.breakers.guard(sub.destination.name, lambda: perform_batch(context, payloads)),
                        sub.destination.retry,
                        sleep=self._sleep,
                    )
            except Attempted as failure:
                return [(failure.error, failure.attempts)] * len(items)
            if len(results) != len(items):
                error = DeliveryError(
                    f"perform_batch of {sub.action.slug!r} returned {len(results)} results for {len(items)} payloads",
                    code="PLUGIN_ERROR",
                )
                return [(error, attempts)] * len(items)
            return [(result, attempts) for result in results]

        return send


def _disabled_by_integrations(event: dict[str, Any], dest: CompiledDestination) -> bool:
    """Segment's ``integrations`` object: ``{"Adobe Target": false}`` or ``{"All": false}``."""
    integrations = event.get("integrations")
    if not integrations or not isinstance(integrations, dict):
        return False
    for name in (dest.name, dest.plugin.name, dest.plugin.slug):
        if name in integrations:
            return integrations[name] is False
    return integrations.get("All") is False
