"""The response counter sees every status, the 500 that Starlette writes for a crash too."""

from __future__ import annotations

import pytest
from starlette.types import Message, Receive, Scope, Send

from observability.responses import ResponseCounter


async def run(app: object, counted: list[int]) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = ResponseCounter(app, counted.append)  # type: ignore[arg-type]
    await middleware({"type": "http", "method": "GET", "path": "/"}, receive, send)


async def test_a_response_is_counted_once_with_its_status() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"no"})

    counted: list[int] = []
    await run(app, counted)
    assert counted == [404]


async def test_a_crash_before_the_response_counts_as_500() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    counted: list[int] = []
    with pytest.raises(RuntimeError):
        await run(app, counted)
    assert counted == [500]
