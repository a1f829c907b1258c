"""A local HubSpot: the calls destkit makes, answered as HubSpot's reference documents them.

A Starlette app (``HubSpotSandbox(...).app``), served on loopback by ``destkit sandbox hubspot``
and by ``--sandbox`` runs, or used in-process through ``httpx.ASGITransport``. Endpoints:

- ``POST /oauth/v3/token`` (form): renews an access token from a refresh token; see
  :mod:`.sandbox_access` for tokens, their expiry and the rate limits every call counts in;
- ``POST /crm/v3/objects/contacts/batch/upsert``: at most 100 inputs, each naming its
  ``idProperty`` (``email``, or a property given with ``--unique-property``). When every input
  carries an ``objectWriteTraceId``, inputs are answered one by one (200, or 207 with ``errors``
  naming their trace ids); otherwise one refused input fails the batch (400), as HubSpot does.
  Two inputs naming one contact are a 400 (``Duplicate IDs``). Properties are checked as
  :mod:`.sandbox_contacts` says;
- ``GET /crm/v3/objects/contacts?limit=N``: the first contacts;
- ``POST /events/v3/send``: an occurrence of ``pe<portal_id>_<name>`` for an email, a usertoken or
  a record id, with at most 50 properties named as HubSpot requires; 204. An occurrence whose
  ``uuid`` was seen before is not recorded twice (a sandbox choice: HubSpot documents none);
- faults: ``fault_rate`` of API calls answer 500, 502, 503 or a burst-limit 429; ``latency_ms``
  delays every answer; ``seed`` makes both repeatable;
- inspection: ``GET /_sandbox/contacts``, ``GET /_sandbox/contacts/{id or email}``,
  ``GET /_sandbox/events``, ``GET /_sandbox/stats``; ``POST /_sandbox/expire-tokens`` expires
  every access token issued, to exercise renewal.

Bodies over 1 MB are refused (413) before they are read whole, by the project's one bounded reader.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destkit.bodies import BodyTooLarge, read_body

from .sandbox_access import Access, Caller, Refusal
from .sandbox_contacts import ContactBook

__all__ = ["HubSpotSandbox", "MAX_BODY", "MAX_INPUTS"]

MAX_BODY = 1024 * 1024
MAX_INPUTS = 100
MAX_EVENT_PROPERTIES = 50
_PROPERTY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


def _answer(refusal: Refusal) -> JSONResponse:
    return JSONResponse(refusal.body, refusal.status, refusal.headers)


def _invalid(message: str, category: str = "VALIDATION_ERROR", **extra: Any) -> Refusal:
    return Refusal(400, {"status": "error", "message": message, "category": category, **extra})


Endpoint = Callable[[Request, Caller], Awaitable[Response]]


class HubSpotSandbox:
    """The sandbox's state and its Starlette app (see the module's docstring for what it answers)."""

    def __init__(
        self,
        *,
        private_tokens: Iterable[str] = (),
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_tokens: Iterable[str] = (),
        token_lifetime: float = 1800.0,
        portal_id: int = 1234567,
        unique_properties: Iterable[str] = (),
        properties: Iterable[str] = (),
        burst: int = 100,
        window: float = 10.0,
        daily: int = 250_000,
        fault_rate: float = 0.0,
        latency_ms: float = 0.0,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError("fault_rate is a fraction between 0 and 1")
        self.access = Access(
            private_tokens=private_tokens,
            client_id=client_id,
            client_secret=client_secret,
            refresh_tokens=refresh_tokens,
            token_lifetime=token_lifetime,
            burst=burst,
            window=window,
            daily=daily,
            clock=clock,
        )
        self.contacts = ContactBook.create(unique_properties, properties)
        self.portal_id = portal_id
        self.events: list[dict[str, Any]] = []
        self._uuids: set[str] = set()
        self.fault_rate, self.latency = fault_rate, latency_ms / 1000.0
        self.rng = random.Random(seed)
        self.stats: Counter[tuple[str, int]] = Counter()
        api = [
            ("/crm/v3/objects/contacts/batch/upsert", "batch_upsert", self._batch_upsert, "POST"),
            ("/crm/v3/objects/contacts", "contacts_list", self._contacts_list, "GET"),
            ("/events/v3/send", "event_send", self._event_send, "POST"),
        ]
        routes = [Route(path, self._api(name, endpoint), methods=[method]) for path, name, endpoint, method in api]
        routes += [
            Route("/oauth/v3/token", self._token, methods=["POST"]),
            Route("/_sandbox/contacts", self._inspect_contacts, methods=["GET"]),
            Route("/_sandbox/contacts/{key}", self._inspect_contact, methods=["GET"]),
            Route("/_sandbox/events", self._inspect_events, methods=["GET"]),
            Route("/_sandbox/stats", self._inspect_stats, methods=["GET"]),
            Route("/_sandbox/expire-tokens", self._expire_tokens, methods=["POST"]),
        ]
        self.app = Starlette(routes=routes)

    # --- every API call: latency, faults, who calls, limits ----------------------------------------

    def _api(self, name: str, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            response = await self._serve(request, endpoint)
            self.stats[(name, response.status_code)] += 1
            return response

        return handle

    async def _serve(self, request: Request, endpoint: Endpoint) -> Response:
        if self.latency:
            await asyncio.sleep(self.latency * (0.5 + self.rng.random()))
        if self.fault_rate and self.rng.random() < self.fault_rate:
            return self._fault()
        caller = self.access.admit(request.headers.get("authorization"))
        if isinstance(caller, Refusal):
            return _answer(caller)
        try:
            response = await endpoint(request, caller)
        except BodyTooLarge as exc:
            response = JSONResponse({"status": "error", "message": str(exc)}, 413)
        except ValueError:
            response = _answer(_invalid("Invalid input JSON: the body is not a JSON object"))
        response.headers.update(caller.headers)
        return response

    def _fault(self) -> Response:
        status = self.rng.choice((500, 502, 503, 429))
        if status == 429:
            headers = {**self.access.headers(False), "X-HubSpot-RateLimit-Remaining": "0"}
            body = {
                "status": "error",
                "message": "injected burst limit",
                "errorType": "RATE_LIMIT",
                "policyName": "TEN_SECONDLY_ROLLING",
            }
            return JSONResponse(body, 429, headers)
        return JSONResponse({"status": "error", "message": "injected fault", "category": "INTERNAL_ERROR"}, status)

    # --- the API ------------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        if request.url.query:
            refusal = _invalid("the token endpoint takes its parameters in the body, not the query", "BAD_REQUEST")
        else:
            try:
                form = dict(
                    parse_qsl((await read_body(request.scope, request.receive, MAX_BODY)).decode("utf-8", errors="replace"))
                )
            except BodyTooLarge as exc:
                return JSONResponse({"status": "error", "message": str(exc)}, 413)
            refusal = self.access.renew(form)
        self.stats[("token", refusal.status)] += 1
        return _answer(refusal)

    async def _json(self, request: Request) -> dict[str, Any]:
        body = json.loads(await read_body(request.scope, request.receive, MAX_BODY))
        if not isinstance(body, dict):
            raise ValueError("not an object")
        return body

    async def _batch_upsert(self, request: Request, caller: Caller) -> Response:
        inputs = (await self._json(request)).get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
            return _answer(_invalid("Invalid input JSON: inputs must be a list of objects"))
        if len(inputs) > MAX_INPUTS:
            return _answer(_invalid(f"Batch input limit is {MAX_INPUTS}, got {len(inputs)}"))
        keys = [(str(item.get("idProperty") or ""), str(item.get("id") or "")) for item in inputs]
        normal = [(prop, value.lower() if prop == "email" else value) for prop, value in keys]
        twice = sorted({value for key, (_, value) in zip(normal, keys, strict=True) if normal.count(key) > 1})
        if twice:
            return _answer(_invalid(f"Duplicate IDs found in batch input: {twice}. IDs must be unique"))
        multi_status = all(isinstance(item.get("objectWriteTraceId"), str) for item in inputs)
        problems = [self._problems(item, prop, value) for item, (prop, value) in zip(inputs, keys, strict=True)]
        if not multi_status and any(problems):
            details = [detail for found in problems for detail in found]
            return _answer(_invalid("Property values were not valid", errors=details))
        results, errors = [], []
        for item, (prop, value), found in zip(inputs, keys, problems, strict=True):
            trace = item.get("objectWriteTraceId")
            if found:
                errors.append({"status": "error", "category": "VALIDATION_ERROR", "message": "Property values were not valid",
                               "errors": found, "context": {"objectWriteTraceId": [trace]}})  # fmt: skip
                continue
            contact, created = self.contacts.upsert(prop, value, dict(item.get("properties") or {}))
            results.append({**contact.as_result(created), **({"objectWriteTraceId": trace} if trace else {})})
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            body.update(errors=errors, numErrors=len(errors))
        return JSONResponse(body, 207 if errors else 200)

    def _problems(self, item: dict[str, Any], prop: str, value: str) -> list[dict[str, Any]]:
        if prop not in self.contacts.unique:
            return [{"message": f"{prop!r} is not a property with unique values", "code": "INVALID_ID_PROPERTY"}]
        if not value:
            return [{"message": "id is required", "code": "REQUIRED_FIELD"}]
        properties = item.get("properties") or {}
        if not isinstance(properties, dict):
            return [{"message": "properties must be an object", "code": "INVALID_PROPERTIES"}]
        return self.contacts.problems(prop, value, properties)

    async def _contacts_list(self, request: Request, caller: Caller) -> Response:
        limit = max(1, min(100, int(request.query_params.get("limit", "10") or 10)))
        records = [contact.as_result(False) for contact in list(self.contacts.contacts.values())[:limit]]
        return JSONResponse({"results": records})

    async def _event_send(self, request: Request, caller: Caller) -> Response:
        body = await self._json(request)
        name = str(body.get("eventName") or "")
        if not re.fullmatch(rf"pe{self.portal_id}_[a-z0-9_]+", name):
            return _answer(_invalid(f"Event definition {name!r} was not found in portal {self.portal_id}", "OBJECT_NOT_FOUND"))
        if not any(body.get(key) for key in ("email", "utk", "objectId")):
            return _answer(_invalid("An email, utk or objectId is required to associate the event occurrence"))
        properties = body.get("properties") or {}
        bad = [key for key in properties if not _PROPERTY.match(str(key))] if isinstance(properties, dict) else ["properties"]
        if bad or len(properties) > MAX_EVENT_PROPERTIES:
            return _answer(_invalid(f"Invalid event properties: {bad or f'{len(properties)} of them, at most 50'}"))
        occurrence = str(body.get("uuid") or "")
        if not occurrence or occurrence not in self._uuids:
            self._uuids.add(occurrence)
            self.events.append(body)
        return Response(status_code=204)

    # --- inspection -----------------------------------------------------------------------------------

    async def _inspect_contacts(self, request: Request) -> Response:
        return JSONResponse([self._contact_view(contact.id) for contact in self.contacts.contacts.values()])

    async def _inspect_contact(self, request: Request) -> Response:
        key = request.path_params["key"]
        contact = self.contacts.contacts.get(key) or self.contacts.find("email", key)
        return JSONResponse(self._contact_view(contact.id)) if contact else JSONResponse({"message": "no such contact"}, 404)

    def _contact_view(self, record: str) -> dict[str, Any]:
        contact = self.contacts.contacts[record]
        return {"id": contact.id, "properties": contact.properties, "updates": contact.updates}

    async def _inspect_events(self, request: Request) -> Response:
        return JSONResponse(self.events)

    async def _inspect_stats(self, request: Request) -> Response:
        return JSONResponse(self.stats_summary())

    async def _expire_tokens(self, request: Request) -> Response:
        return JSONResponse({"expired": self.access.expire_all()})

    def stats_summary(self) -> dict[str, Any]:
        requests: dict[str, dict[str, int]] = {}
        for (endpoint, status), count in sorted(self.stats.items()):
            requests.setdefault(endpoint, {})[str(status)] = count
        return {
            "requests": requests,
            "contacts": len(self.contacts.contacts),
            "events": len(self.events),
            "tokens_issued": self.access.issued,
        }
