"""``ctx.http``: every method, the errors it raises and what they keep, and a changing credential."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from destkit import BadRequest, DeliveryError, ErrorResponse, RateLimited
from destkit.errors import KEPT_BODY
from destkit.http import RequestDefaults, Requester
from destkit.redaction import Redactor

SECRET = "s3cr3t-token-value"
DEFAULTS = RequestDefaults(base_url="https://api.example.com/v1", headers={"Authorization": f"Bearer {SECRET}"})

Handler = Callable[[httpx.Request], httpx.Response]


def requester(handler: Handler, **options: object) -> Requester:
    return Requester(httpx.MockTransport(handler), DEFAULTS, redact=Redactor([SECRET]), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "head", "options"])
async def test_every_method_sends_its_verb_with_httpxs_usual_arguments(method: str) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    send = getattr(requester(answer), method)
    response = await send("/things", params={"page": 2}, headers={"X-Trace": "t1"}, timeout=3.0)
    (request,) = seen
    assert (request.method, request.url.path, request.url.query) == (method.upper(), "/v1/things", b"page=2")
    assert request.headers["x-trace"] == "t1" and request.extensions["timeout"]["read"] == 3.0
    assert response.status_code == 204


@pytest.mark.parametrize(
    ("options", "body", "kind"),
    [
        ({"json": {"a": 1}}, b'{"a":1}', "application/json"),
        ({"data": {"a": "1 2"}}, b"a=1+2", "application/x-www-form-urlencoded"),
        ({"content": "é"}, "é".encode(), None),
    ],
)
async def test_bodies_are_encoded_as_httpx_encodes_them(options: dict[str, object], body: bytes, kind: str | None) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    await requester(answer).post("/x", **options)  # type: ignore[arg-type]
    assert seen[0].content == body
    assert seen[0].headers.get("content-type") == kind


async def test_an_error_keeps_the_answer_with_secrets_masked() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        echoed = f"bad token {SECRET}"
        return httpx.Response(400, json={"message": echoed}, headers={"X-Echo": SECRET, "Set-Cookie": "session=abc"})

    with pytest.raises(BadRequest) as caught:
        await requester(answer).post("/x", json={})
    error = caught.value
    assert error.response is not None
    assert (error.response.status_code, error.response.json()) == (400, {"message": "bad token ***"})
    assert error.response.headers["x-echo"] == "***" and error.response.headers["set-cookie"] == "***"
    assert SECRET not in error.message and SECRET not in str(error) and "***" in error.message


async def test_an_errors_body_is_bounded() -> None:
    answer = httpx.Response(500, content=b"x" * (KEPT_BODY * 4))
    with pytest.raises(DeliveryError) as caught:
        await requester(lambda request: answer).get("/x")
    kept = caught.value.response
    assert kept is not None and kept.truncated and len(kept.text) == KEPT_BODY


async def test_a_secret_across_the_cut_is_masked_whole() -> None:
    body = "x" * (KEPT_BODY - 3) + SECRET
    with pytest.raises(DeliveryError) as caught:
        await requester(lambda request: httpx.Response(500, text=body)).get("/x")
    assert caught.value.response is not None and caught.value.response.text.endswith("x***")


async def test_the_destinations_classify_response_is_used_and_its_error_keeps_the_answer() -> None:
    def classify(response: httpx.Response) -> DeliveryError:
        return RateLimited("busy", status=response.status_code, retry_after=7)

    with pytest.raises(RateLimited) as caught:
        await requester(lambda request: httpx.Response(503, text="slow down"), classify=classify).get("/x")
    assert caught.value.retry_after == 7
    assert caught.value.response == ErrorResponse(503, caught.value.response.headers, "slow down")  # type: ignore[union-attr]


async def test_without_raise_for_status_the_answer_comes_back() -> None:
    response = await requester(lambda request: httpx.Response(404, text="none")).get("/x", raise_for_status=False)
    assert (response.status_code, response.text) == (404, "none")


async def test_a_request_that_got_no_answer_names_no_secret() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    hook = RequestDefaults(base_url=f"https://hooks.example.com/{SECRET}")
    with pytest.raises(DeliveryError) as caught:
        await Requester(httpx.MockTransport(fail), hook, redact=Redactor([SECRET])).post("")
    assert (caught.value.code, caught.value.retryable) == ("CONNECTION_ERROR", True)
    assert SECRET not in str(caught.value)


class TwoTokens:
    """A credential that is rejected once, then refreshed to a token that works."""

    header = "Authorization"

    def __init__(self) -> None:
        self.current = "Bearer old"
        self.rejections: list[str] = []

    async def value(self) -> str:
        return self.current

    async def rejected(self, used: str) -> bool:
        self.rejections.append(used)
        self.current = "Bearer new"
        return True


@pytest.mark.parametrize(("accepted", "status", "sent"), [("Bearer new", 200, 2), ("nothing", 401, 2)])
async def test_a_401_gets_one_more_try_with_the_renewed_credential(accepted: str, status: int, sent: int) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200 if request.headers["authorization"] == accepted else 401)

    auth = TwoTokens()
    response = await requester(answer, auth=auth).get("/x", raise_for_status=False)
    assert response.status_code == status
    assert seen == ["Bearer old", "Bearer new"][:sent] and auth.rejections == ["Bearer old"]
