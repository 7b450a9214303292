"""Conversations: create, list the caller's own, read one with its messages."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from api.deps import ChatDep, ConversationsDep, UserDep
from api.request_id import request_id_of
from api.streaming import answer_response
from chat.conversations import MAX_LISTED, MAX_QUERY_CHARS
from chat.turn import ChatOptions

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


class NewConversation(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    system_prompt: str | None = Field(default=None, max_length=32_000)


@router.post("", status_code=201)
async def create_conversation(
    body: NewConversation, conversations: ConversationsDep, user: UserDep
) -> dict[str, Any]:
    conv = await conversations.create(user, body.title, body.system_prompt)
    return {"id": conv.id, "title": conv.title, "system_prompt": conv.system_prompt,
            "model": conv.model, "created_at": conv.created_at.isoformat()}


@router.get("")
async def list_conversations(
    conversations: ConversationsDep, user: UserDep,
    limit: int = Query(default=50, ge=1, le=MAX_LISTED),
    q: str | None = Query(default=None, max_length=MAX_QUERY_CHARS,
                         description="search titles and messages"),
    source: Literal["chat", "api"] = "chat",
) -> dict[str, list[dict[str, Any]]]:
    return {"conversations": await conversations.listing(user, q, limit, source)}


class Rename(BaseModel):
    title: str = Field(max_length=200)


@router.patch("/{conv_id}")
async def rename_conversation(
    conv_id: int, body: Rename, conversations: ConversationsDep, user: UserDep
) -> dict[str, Any]:
    await conversations.rename(user, conv_id, body.title)
    conv = await conversations.get(user, conv_id)
    return {"id": conv.id, "title": conv.title, "title_source": conv.title_source}


@router.delete("/{conv_id}", status_code=204)
async def delete_conversation(conv_id: int, conversations: ConversationsDep,
                              user: UserDep) -> Response:
    await conversations.delete(user, conv_id)
    return Response(status_code=204)


class Resend(BaseModel):
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    stream: bool = True


class Edit(Resend):
    content: str
    message_id: int | None = Field(
        default=None, description="which of your messages to change (default: the last); "
        "the messages after it are replaced by the new answer")


async def _resend(conv_id: int, body: Resend, request: Request, chat: ChatDep, user: UserDep,
                  edited: str | None = None,
                  message_id: int | None = None) -> StreamingResponse | JSONResponse:
    options = ChatOptions(model=body.model, temperature=body.temperature,
                          max_tokens=body.max_tokens)
    turn = await chat.start_resend(user, conv_id, options, edited,
                                   request_id=request_id_of(request), message_id=message_id)
    headers = {"X-Conversation-Id": str(conv_id), "X-Request-Id": turn.request_id,
               "X-Context-Trimmed": str(turn.trimmed)}
    return await answer_response(chat, turn, body.stream, headers)


@router.post("/{conv_id}/regenerate", response_model=None)
async def regenerate(conv_id: int, body: Resend, request: Request, chat: ChatDep,
                     user: UserDep) -> StreamingResponse | JSONResponse:
    """Answer the last message again; the previous answer is replaced."""
    return await _resend(conv_id, body, request, chat, user)


@router.post("/{conv_id}/edit", response_model=None)
async def edit_message(conv_id: int, body: Edit, request: Request, chat: ChatDep,
                       user: UserDep) -> StreamingResponse | JSONResponse:
    """Change one of your messages (the last, unless `message_id` names another) and answer it
    again; the turns after it are replaced."""
    return await _resend(conv_id, body, request, chat, user, body.content, body.message_id)


@router.get("/{conv_id}")
async def get_conversation(conv_id: int, conversations: ConversationsDep,
                           user: UserDep) -> dict[str, Any]:
    return await conversations.transcript(user, conv_id)
