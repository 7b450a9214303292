"""An OpenAI-compatible API: the official `openai` SDK works against /v1 unchanged.

Authenticated by a JWT or a personal API key; requests are stored and counted like the UI's.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.chat import ChatRequest
from api.deps import ChatDep, EngineDep, UserDep
from api.request_id import request_id_of
from api.streaming import answer_response

router = APIRouter(prefix="/v1", tags=["openai"])


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class CompletionBody(ChatRequest):
    # OpenAI clients send fields this server does not use (n, user, logit_bias...): ignore them.
    model_config = ConfigDict(extra="ignore")
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None


@router.get("/models")
async def models(engine: EngineDep, _: UserDep) -> dict[str, Any]:
    created = int(time.time())
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": created, "owned_by": "vllm-chat"}
        for name in engine.profile.model_names]}


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: CompletionBody, request: Request, chat: ChatDep, user: UserDep
) -> StreamingResponse | JSONResponse:
    # A default system prompt of the user's applies when the messages hold no system message.
    options = body.options(body.max_completion_tokens or body.max_tokens)
    turn = await chat.start_turn(
        user, [m.model_dump() for m in body.messages], options,
        request_id=request_id_of(request), source="api")
    headers = {"X-Request-Id": turn.request_id, "X-Context-Trimmed": str(turn.trimmed)}
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    return await answer_response(chat, turn, body.stream, headers, include_usage)
