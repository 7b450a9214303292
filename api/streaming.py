"""Answering with a chat turn: SSE in the OpenAI chunk format, or one chat.completion."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any, TypeVar

import anyio
from fastapi.responses import JSONResponse, StreamingResponse

from chat.service import ChatService
from chat.turn import ChatTurn, Delta
from errors import AppError

T = TypeVar("T")


async def answer_response(
    chat: ChatService, turn: ChatTurn, stream: bool, headers: dict[str, str],
    include_usage: bool = False,
) -> StreamingResponse | JSONResponse:
    """`include_usage` (OpenAI's stream_options): a last chunk carries the token counts."""
    deltas = chat.stream(turn)
    try:
        # Wait for the first token before sending headers, so an engine that is down is a 503.
        first = await anext(deltas, None)
    except BaseException:
        await deltas.aclose()
        raise
    if not stream:
        async with aclosing(deltas):
            rest = [d async for d in deltas]
        parts = [first, *rest] if first else rest  # the stream ends once the answer is stored
        return JSONResponse(_completion(turn, parts), headers=headers)
    headers = {**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(_sse(turn, first, deltas, include_usage),
                             media_type="text/event-stream", headers=headers)


def _chunk(turn: ChatTurn, delta: dict[str, Any], finish_reason: str | None = None,
           usage: dict[str, int] | None = None) -> str:
    """One SSE chunk; with `usage`, the last one that carries the counts and no choices."""
    body: dict[str, Any] = {
        "id": f"chatcmpl-{turn.request_id}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": turn.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["choices"], body["usage"] = [], usage
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def _delta_body(delta: Delta) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if delta.content:
        body["content"] = delta.content
    if delta.reasoning:
        body["reasoning_content"] = delta.reasoning
    return body


async def arrived_together(items: AsyncGenerator[T, None]) -> AsyncIterator[list[T]]:
    """`items` read on a task of their own, handed on in the groups that arrived while the
    last group was being sent: a fast engine's chunks, written one socket write (and one
    pass through every middleware) each, cost more than the rest of the answer. Ending this
    early (the client left) cancels the reading task, which closes `items`."""
    arrived: list[T] = []
    more = asyncio.Event()

    async def read() -> None:
        async with aclosing(items):
            async for item in items:
                arrived.append(item)
                more.set()

    reader = asyncio.create_task(read())
    reader.add_done_callback(lambda _: more.set())  # wakes the wait below when it ends
    try:
        while True:
            if not arrived and not reader.done():
                await more.wait()
            more.clear()
            if arrived:
                group = arrived[:]
                arrived.clear()
                yield group
            elif reader.done():
                reader.result()  # raises what the reading raised
                return
    finally:
        if not reader.done():
            reader.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.gather(reader, return_exceptions=True)


async def _sse(
    turn: ChatTurn, first: Delta | None, rest: AsyncGenerator[Delta, None],
    include_usage: bool,
) -> AsyncIterator[str]:
    async with aclosing(rest):
        yield _chunk(turn, {"role": "assistant", "content": ""})
        try:
            if first is not None:
                yield _chunk(turn, _delta_body(first))
                async for group in arrived_together(rest):
                    yield "".join(_chunk(turn, _delta_body(delta)) for delta in group)
        except AppError as exc:
            # Headers are gone: report the failure in the stream, as vLLM does.
            error = {"message": exc.message, "type": exc.error_type, "code": exc.code}
            yield f"data: {json.dumps({'error': error}, ensure_ascii=False)}\n\n"
            yield "data: [DONE]\n\n"
            return
    yield _chunk(turn, {}, turn.finish_reason or "stop")
    if include_usage:  # counted as it was stored, before `rest` ended
        yield _chunk(turn, {}, usage=turn.token_usage)
    yield "data: [DONE]\n\n"


def _completion(turn: ChatTurn, parts: list[Delta]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(p.content for p in parts)}
    if any(p.reasoning for p in parts):
        message["reasoning_content"] = "".join(p.reasoning for p in parts)
    return {
        "id": f"chatcmpl-{turn.request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": turn.model,
        "conversation_id": turn.conversation_id,
        "choices": [{"index": 0, "message": message,
                     "finish_reason": turn.finish_reason or "stop"}],
        "usage": turn.token_usage,
    }
