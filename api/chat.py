"""POST /api/chat: the plan's chat API, streamed as OpenAI chunks over SSE."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from api.deps import ServicesDep, UserDep
from api.request_id import request_id_of
from chat.turn import ChatOptions, ChatTurn, Delta
from errors import AppError

router = APIRouter(prefix="/api", tags=["chat"])


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str | list[dict[str, Any]]


class ChatBody(BaseModel):
    messages: list[ChatMessage] = Field(min_length=1, max_length=500)
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    conversation_id: int | None = Field(default=None, ge=1)
    stream: bool = True


def _chunk(turn: ChatTurn, delta: dict[str, Any], finish_reason: str | None = None) -> str:
    body = {
        "id": f"chatcmpl-{turn.request_id}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": turn.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def _delta_body(delta: Delta) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if delta.content:
        body["content"] = delta.content
    if delta.reasoning:
        body["reasoning_content"] = delta.reasoning
    return body


async def _sse(
    turn: ChatTurn, first: Delta | None, rest: AsyncGenerator[Delta, None]
) -> AsyncIterator[str]:
    async with aclosing(rest):
        yield _chunk(turn, {"role": "assistant", "content": ""})
        try:
            if first is not None:
                yield _chunk(turn, _delta_body(first))
                async for delta in rest:
                    yield _chunk(turn, _delta_body(delta))
        except AppError as exc:
            # Headers are gone: report the failure in the stream, as vLLM does.
            error = {"message": exc.message, "type": exc.error_type, "code": exc.code}
            yield f"data: {json.dumps({'error': error}, ensure_ascii=False)}\n\n"
            yield "data: [DONE]\n\n"
            return
    yield _chunk(turn, {}, turn.finish_reason or "stop")
    yield "data: [DONE]\n\n"


@router.post("/chat", response_model=None)
async def chat(
    body: ChatBody, request: Request, services: ServicesDep, user: UserDep
) -> StreamingResponse | JSONResponse:
    options = ChatOptions(model=body.model, temperature=body.temperature, max_tokens=body.max_tokens)
    messages = [m.model_dump() for m in body.messages]
    turn = await services.chat.start_turn(user, messages, options, body.conversation_id,
                                          request_id=request_id_of(request))
    headers = {"X-Conversation-Id": str(turn.conversation_id), "X-Request-Id": turn.request_id,
               "X-Context-Trimmed": str(turn.trimmed)}
    deltas = services.chat.stream(turn)
    try:
        # Wait for the first token before sending headers, so an engine that is down is a 503.
        first = await anext(deltas, None)
    except BaseException:
        await deltas.aclose()
        raise
    if not body.stream:
        async with aclosing(deltas):
            rest = [d.content async for d in deltas]
        return JSONResponse(_completion(turn, (first.content if first else "") + "".join(rest)),
                            headers=headers)
    headers |= {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(_sse(turn, first, deltas), media_type="text/event-stream", headers=headers)


def _completion(turn: ChatTurn, text: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{turn.request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": turn.model,
        "conversation_id": turn.conversation_id,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": turn.finish_reason or "stop"}],
    }
