"""The standard suite: what every destination must do, checked by one line in its tests.

::

    from destkit.testing import standard_tests
    from destkit_acme import destination

    TestStandard = standard_tests(destination, settings={"api_key": "k-123"})

(or subclass :class:`StandardSuite` and set its attributes). pytest then runs, for every
action: default mappings and triggers compile, every schema renders, ``perform`` is typed
with the destination's settings, 401 and 403 are not retried, 429 and 5xx are, no secret
shows in an error, a report line, a log record or a dry run (canaries are planted in every
secret setting), a dry run sends nothing, and ``perform_batch`` gives one result per
payload, in order. Each action runs on an event among ``events`` (and a built-in set of one
event of each kind) that its trigger takes and its mapping turns into a valid payload;
``mappings`` supplies fields that have no default mapping. ``respond`` answers the requests
of a run that should succeed (the destination's ``dry_run_answer``, else ``200 {}``, by
default). A checked rule that does not apply (an action that makes no request cannot be
retried) is skipped, saying why.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import httpx
from pydantic import ValidationError

from ..mappings import compile_mapping, compile_trigger
from ..outcome import Outcome
from ..plugin import Action, Context, Destination
from ..registry import Registry
from ..runtime import Runtime
from ..schema import describe_destination
from ..state import StateStore
from .actions import ActionRun, run_action, run_batch, single_subscription
from .canaries import Canaries, capture_logs, echo, plant_canaries
from .clock import VirtualClockLoop
from .events import make_event
from .transport import RecordingTransport, ResponseHandler

__all__ = ["StandardSuite", "standard_tests", "sample_events"]

REFUSED = (401, 403)
PASSING = (429, 500, 502, 503)
CARELESS = (400, 401, 500)


def sample_events() -> list[dict[str, Any]]:
    """One event of each kind, with the traits and properties most mappings read."""
    traits = {
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "name": "Ada Lovelace",
        "phone": "+44 20 7946 0000",
        "plan": "pro",
        "company": {"name": "Analytical Engines", "employees": 12},
    }
    context = {"traits": {"email": traits["email"]}}
    properties = {"email": traits["email"], "order_id": "o-1", "total": 42.5, "currency": "EUR", "url": "https://example.com/"}
    return [
        make_event("identify", userId="standard-user", traits=traits),
        make_event("track", userId="standard-user", event="Order Completed", properties=properties, context=context),
        make_event("page", userId="standard-user", name="Home", properties={"url": "https://example.com/"}, context=context),
        make_event("screen", userId="standard-user", name="Home", context=context),
        make_event("group", userId="standard-user", groupId="g-1", traits={"name": "Analytical Engines"}),
        make_event("alias", userId="standard-user", previousId="anonymous-1"),
    ]


def _static(owner: type, name: str) -> Any:
    """A class attribute as given: a function stays a function, not a method."""
    value = inspect.getattr_static(owner, name)
    return value.__func__ if isinstance(value, staticmethod) else value


class StandardSuite:
    """The checks every destination must pass, as a pytest test class: subclass it in a class
    named ``Test...`` and set ``destination`` and ``settings`` (see the module's docstring)."""

    destination: ClassVar[Destination[Any]]
    settings: ClassVar[Mapping[str, Any]] = {}
    events: ClassVar[Sequence[dict[str, Any]]] = ()
    mappings: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    respond: ClassVar[ResponseHandler | None] = None
    state: ClassVar[Callable[[], StateStore | str] | None] = None

    def pytest_generate_tests(self, metafunc: Any) -> None:
        """pytest's hook: one test per action (and per answer status, for those that take one)."""
        if "action" in metafunc.fixturenames:
            metafunc.parametrize("action", [action.slug for action in self.destination.actions])
        for name, statuses in (("refused", REFUSED), ("passing", PASSING), ("careless", CARELESS)):
            if name in metafunc.fixturenames:
                metafunc.parametrize(name, statuses)

    # --- what every destination must do -------------------------------------------------------

    def test_default_mappings_and_triggers_compile(self, action: str) -> None:
        declared = self.destination.action(action)
        compile_mapping(declared.default_mapping)
        if declared.default_trigger is not None:
            compile_trigger(declared.default_trigger)
        for preset in self.destination.presets:
            if preset.action == action:
                compile_mapping({**declared.default_mapping, **preset.mapping})
                compile_trigger(preset.trigger or declared.default_trigger or "")

    def test_every_schema_renders(self) -> None:
        described = describe_destination(self.destination)
        json.dumps(described)
        for field in described["settings"] + [f for action in described["actions"] for f in action["fields"]]:
            assert field["description"], f"field {field['name']!r} has no description (the docs and `destinations show` need one)"

    def test_the_settings_compile(self) -> None:
        first = self.destination.actions[0].slug
        Runtime(single_subscription(self.destination, first, [make_event()], settings=self.settings), registry=self._registry())

    def test_perform_is_typed_with_the_destinations_settings(self, action: str) -> None:
        declared = self.destination.action(action)
        for function in (declared.perform, declared.perform_batch):
            if function is None:
                continue
            try:
                hints = typing.get_type_hints(function)
            except NameError as exc:
                raise AssertionError(f"{function.__qualname__}: its annotations do not resolve at run time ({exc})") from None
            first = next(iter(inspect.signature(function).parameters))
            settings = typing.get_args(hints.get(first))
            assert typing.get_origin(hints.get(first)) is Context and settings, (
                f"{function.__qualname__}: type its first parameter Context[Settings]"
            )
            assert isinstance(settings[0], type) and issubclass(self.destination.settings, settings[0]), (
                f"{function.__qualname__} takes Context[{getattr(settings[0], '__name__', settings[0])}], "
                f"but the destination's settings are {self.destination.settings.__name__}"
            )

    def test_a_refused_credential_is_not_retried(self, action: str, refused: int) -> None:
        self._needs_requests(action)
        run = self._run(action, respond=echo(refused))
        error = run.outcome.error
        assert error is not None, f"a {refused} answer was {run.outcome.status}"
        assert (error.code, error.retryable, run.outcome.attempts) == ("INVALID_AUTHENTICATION", False, 1), (
            f"a {refused} answer must be INVALID_AUTHENTICATION, not retried; it was {error.code} after "
            f"{run.outcome.attempts} attempt(s): {error.message}"
        )

    def test_rate_limits_and_server_errors_are_retried(self, action: str, passing: int) -> None:
        self._needs_requests(action)
        happy, answered = self._happy(), [0]

        async def once_then_happy(request: httpx.Request) -> httpx.Response:
            answered[0] += 1
            if answered[0] == 1:
                return echo(passing)(request)  # type: ignore[no-any-return]
            answer = happy(request) if happy is not None else httpx.Response(200, json={})
            return await answer if inspect.isawaitable(answer) else answer

        run = self._run(action, respond=once_then_happy)
        assert run.outcome.status == "delivered" and run.outcome.attempts >= 2, (
            f"a {passing} answer must be retried: the outcome was {run.outcome.status} after {run.outcome.attempts} "
            f"attempt(s){': ' + run.outcome.error.message if run.outcome.error else ''}"
        )

    def test_no_secret_shows_in_errors_reports_or_logs(self, action: str, careless: int) -> None:
        canaries = self._canaries()
        with capture_logs() as logs:
            run = self._run(action, respond=echo(careless), settings=canaries.settings)
        self._assert_hidden(canaries, {"the outcome's error": json.dumps(run.outcome.to_dict()), "the logs": "\n".join(logs)})

    def test_a_dry_run_sends_nothing_and_shows_no_secret(self, action: str) -> None:
        canaries = self._canaries()
        event, mapping = self._sample(action)
        transport = RecordingTransport()
        printed = io.StringIO()

        async def dry_run() -> list[Outcome]:
            config = single_subscription(self.destination, action, [event], settings=canaries.settings, mapping=mapping)
            async with Runtime(config, registry=self._registry(), transport=transport, dry_run=printed) as runtime:
                return await runtime.deliver(event)

        with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
            (outcome,) = runner.run(dry_run())
        assert not transport.requests, f"a dry run sent {len(transport.requests)} request(s)"
        assert outcome.status == "delivered", f"a dry run of {action} was {outcome.status}: {outcome.error}"
        if self._requests_made(action):
            assert printed.getvalue(), "a dry run printed none of the requests it would send"
        self._assert_hidden(canaries, {"the dry run's output": printed.getvalue()})

    def test_perform_batch_gives_one_result_per_payload_in_order(self, action: str) -> None:
        declared = self.destination.action(action)
        if declared.perform_batch is None:
            self._skip(f"{action} has no perform_batch")
        picked = self._batch_events(action)
        events = [{**event, "userId": f"standard-{n}", "messageId": f"standard-{n}"} for n, event in enumerate(picked)]
        options = {"settings": self.settings, "mapping": self.mappings.get(action), "respond": self._happy()}
        alone = {event["messageId"]: self._batch(action, [event], **options).outcomes[0] for event in events}
        # Twice, the second time turned by one, so that no symmetry of the outcomes hides a shuffle.
        for order in (events, events[1:] + events[:1]):
            together = self._batch(action, order, batch={"size": len(order)}, **options).outcomes
            assert len(together) == len(order)
            for event, batched in zip(order, together, strict=True):
                solo = alone[event["messageId"]]
                assert not (batched.error and batched.error.code == "PLUGIN_ERROR"), batched.error
                assert (batched.status, batched.error and batched.error.code) == (solo.status, solo.error and solo.error.code), (
                    f"event {event['messageId']} was {batched.status} in a batch of {len(order)} but {solo.status} alone: "
                    "perform_batch must return one result per payload, in the payloads' order"
                )

    # --- how ----------------------------------------------------------------------------------

    def _registry(self) -> Registry:
        return Registry.of(self.destination)

    def _happy(self) -> ResponseHandler | None:
        return _static(type(self), "respond") or self.destination.dry_run_answer

    def _store(self) -> StateStore | str | None:
        factory = _static(type(self), "state")
        return factory() if factory is not None else None

    def _run(self, action: str, *, respond: ResponseHandler | None, settings: Mapping[str, Any] | None = None) -> ActionRun:
        event, mapping = self._sample(action)
        return run_action(
            self.destination,
            action,
            event,
            settings=self.settings if settings is None else settings,
            mapping=mapping,
            respond=respond,
            state=self._store(),
        )

    def _batch(self, action: str, events: list[dict[str, Any]], **options: Any) -> Any:
        return run_batch(self.destination, action, events, state=self._store(), **options)

    def _candidates(self, action: Action[Any]) -> list[dict[str, Any]]:
        """The events an action takes: those its trigger matches first, then the others."""
        events = [*self.events, *sample_events()]
        if action.default_trigger is None:
            return events
        trigger = compile_trigger(action.default_trigger)
        return [event for event in events if trigger(event)] + [event for event in events if not trigger(event)]

    def _valid(self, action: Action[Any], event: dict[str, Any]) -> bool:
        mapping = compile_mapping({**action.default_mapping, **self.mappings.get(action.slug, {})})
        try:
            action.payload.model_validate(mapping(event))
        except ValidationError:
            return False
        return True

    def _sample(self, action: str) -> tuple[dict[str, Any], Mapping[str, Any] | None]:
        declared = self.destination.action(action)
        for event in self._candidates(declared):
            if self._valid(declared, event):
                return event, self.mappings.get(action)
        raise AssertionError(
            f"no event makes a valid payload for {action!r}: give one in events= "
            "(or, for fields without a default mapping, a mapping in mappings=)"
        )

    def _batch_events(self, action: str) -> list[dict[str, Any]]:
        declared = self.destination.action(action)
        valid = [event for event in self.events or sample_events() if self._valid(declared, event)]
        return valid if len(valid) >= 3 else [self._sample(action)[0]] * 3

    def _requests_made(self, action: str) -> int:
        return len(self._run(action, respond=self._happy()).requests)

    def _needs_requests(self, action: str) -> None:
        if not self._requests_made(action):
            self._skip(f"{action} makes no HTTP request")

    def _canaries(self) -> Canaries:
        canaries = plant_canaries(self.destination.settings, self.settings)
        if not canaries.planted:
            self._skip(f"{self.destination.settings.__name__} has no secret setting")
        return canaries

    @staticmethod
    def _assert_hidden(canaries: Canaries, where: Mapping[str, str]) -> None:
        for place, text in where.items():
            found = canaries.find_in(text)
            assert found is None, f"a secret setting ({', '.join(canaries.planted)}) shows in {place}: ...{found}..."

    @staticmethod
    def _skip(reason: str) -> typing.NoReturn:
        import pytest  # only when the suite runs, under pytest: destkit itself does not need it

        pytest.skip(reason)


def standard_tests(
    destination: Destination[Any],
    *,
    settings: Mapping[str, Any],
    events: Sequence[dict[str, Any]] = (),
    mappings: Mapping[str, Mapping[str, Any]] | None = None,
    respond: ResponseHandler | None = None,
    state: Callable[[], StateStore | str] | None = None,
) -> type[StandardSuite]:
    """The standard suite for ``destination``, as a class to assign to a ``Test...`` name.

    Args:
        destination: the plugin's :class:`Destination`.
        settings: valid settings (secrets too: canaries are appended to them).
        events: events to try first when looking for one each action takes.
        mappings: per action slug, fields to map (those without a default mapping).
        respond: answers requests as the API does when all goes well.
        state: makes a state store, or a location for one (opened for the run), for
            destinations that keep profiles.

    Returns:
        A :class:`StandardSuite` subclass; pytest collects it when assigned to ``TestSomething``.
    """
    attributes: dict[str, Any] = {
        "destination": destination,
        "settings": dict(settings),
        "events": tuple(events),
        "mappings": dict(mappings or {}),
        "respond": staticmethod(respond) if respond is not None else None,
        "state": staticmethod(state) if state is not None else None,
    }
    name = "".join(part.capitalize() for part in destination.slug.replace("_", "-").split("-"))
    return type(f"TestStandard{name}", (StandardSuite,), attributes)
