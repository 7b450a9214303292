"""POST /api/chat: the plan's chat API, streamed as OpenAI chunks over SSE."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from api.deps import ChatDep, UserDep
from api.request_id import request_id_of
from api.streaming import answer_response
from chat.turn import ChatOptions

router = APIRouter(prefix="/api", tags=["chat"])


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str | list[dict[str, Any]]


class ChatRequest(BaseModel):
    """What /api/chat and /v1/chat/completions both take. The sampling fields' bounds are
    checked by the chat service (400 with a code of its own), as for every entry point."""

    messages: list[ChatMessage] = Field(min_length=1, max_length=500)
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None

    def options(self, max_tokens: int | None) -> ChatOptions:
        return ChatOptions(model=self.model, temperature=self.temperature, max_tokens=max_tokens,
                           top_p=self.top_p, stop=self.stop, seed=self.seed,
                           presence_penalty=self.presence_penalty,
                           frequency_penalty=self.frequency_penalty)


class ChatBody(ChatRequest):
    conversation_id: int | None = Field(default=None, ge=1)
    stream: bool = True


@router.post("/chat", response_model=None)
async def chat(
    body: ChatBody, request: Request, chat_service: ChatDep, user: UserDep
) -> StreamingResponse | JSONResponse:
    messages = [m.model_dump() for m in body.messages]
    turn = await chat_service.start_turn(user, messages, body.options(body.max_tokens),
                                         body.conversation_id,
                                         request_id=request_id_of(request))
    headers = {"X-Conversation-Id": str(turn.conversation_id), "X-Request-Id": turn.request_id,
               "X-Context-Trimmed": str(turn.trimmed)}
    return await answer_response(chat_service, turn, body.stream, headers)
