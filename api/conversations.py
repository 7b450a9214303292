"""Conversations: create, list the caller's own, read one with its messages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ServicesDep, UserDep

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


class NewConversation(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    system_prompt: str | None = Field(default=None, max_length=32_000)


@router.post("", status_code=201)
async def create_conversation(
    body: NewConversation, services: ServicesDep, user: UserDep
) -> dict[str, Any]:
    conv = await services.chat.create_conversation(user, body.title, body.system_prompt)
    return {"id": conv.id, "title": conv.title, "system_prompt": conv.system_prompt,
            "model": conv.model, "created_at": conv.created_at.isoformat()}


@router.get("")
async def list_conversations(
    services: ServicesDep, user: UserDep, limit: int = Query(default=50, ge=1, le=500)
) -> dict[str, list[dict[str, Any]]]:
    return {"conversations": await services.chat.list_conversations(user, limit)}


@router.get("/{conv_id}")
async def get_conversation(conv_id: int, services: ServicesDep, user: UserDep) -> dict[str, Any]:
    conv = await services.chat.get_conversation(user, conv_id)
    messages = await services.chat.conversation_messages(user, conv_id)
    return {"id": conv.id, "title": conv.title, "title_source": conv.title_source,
            "system_prompt": conv.system_prompt, "model": conv.model,
            "created_at": conv.created_at.isoformat(),
            "updated_at": conv.updated_at.isoformat(), "messages": messages}
