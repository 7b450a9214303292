"""Conversations as their owners manage them: list, search, open, create, rename, delete.

Who may do what lives here: a user reads and changes their own; an admin may read anyone's
but change only their own (admins support users, they do not write as them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from chat.admission import ContentCheck
from errors import InvalidInput, NotFound
from storage import conversations
from storage.db import Database
from storage.users import User

MAX_LISTED = 500
MAX_QUERY_CHARS = 200


class ConversationService:
    def __init__(self, db: Database, wait_for_answer: Callable[[int], Awaitable[None]],
                 check_content: ContentCheck, active_model: Callable[[], str]) -> None:
        self._db = db
        # Until the conversation's last answer is stored (Recorder.wait, chat/recording.py).
        self._wait_for_answer = wait_for_answer
        self._check_content = check_content
        self._active_model = active_model

    async def get(self, user: User, conv_id: int) -> conversations.Conversation:
        """A conversation the user may read: their own, or any for an admin."""
        conv = await self._db.run(lambda c: conversations.get(c, conv_id))
        if conv is None or (conv.user_id != user.id and not user.is_admin):
            raise _not_found(conv_id)
        return conv

    async def owned(self, user: User, conv_id: int) -> conversations.Conversation:
        """A conversation the user may change: only their own, admins included."""
        conv = await self.get(user, conv_id)
        if conv.user_id != user.id:
            raise _not_found(conv_id)
        return conv

    async def messages(self, user: User, conv_id: int) -> list[dict[str, Any]]:
        await self.get(user, conv_id)
        return await self._db.run(lambda c: conversations.list_messages(c, conv_id))

    async def recent(self, user: User, limit: int = 50,
                   source: str = "chat") -> list[dict[str, Any]]:
        return await self._db.run(lambda c: conversations.list_for_user(c, user.id, limit, source))

    async def search(self, user: User, query: str, limit: int = 50) -> list[dict[str, Any]]:
        if not query.strip():
            return await self.recent(user, limit)
        return await self._db.run(
            lambda c: conversations.search_for_user(c, user.id, query.strip(), limit))

    async def listing(self, user: User, query: str | None = None, limit: int = 50,
                      source: str = "chat") -> list[dict[str, Any]]:
        """The user's conversations as callers get them (REST and the Gradio API): newest
        first, or those matching `query`; each with id, title, model, created_at, updated_at
        (ISO 8601, UTC), message_count and running."""
        if not 1 <= limit <= MAX_LISTED:
            raise InvalidInput(f"limit must be between 1 and {MAX_LISTED}", code="invalid_limit")
        if query is not None and len(query) > MAX_QUERY_CHARS:
            raise InvalidInput(f"A search has at most {MAX_QUERY_CHARS} characters",
                               code="invalid_search")
        rows = await (self.search(user, query, limit) if query and query.strip()
                      else self.recent(user, limit, source))
        return [_plain(row) for row in rows]

    async def transcript(self, user: User, conv_id: int) -> dict[str, Any]:
        """One conversation the user may read, with its messages (role, content, reasoning,
        status, note, tokens, times), as callers get it."""
        conv = await self.get(user, conv_id)
        messages = await self._db.run(lambda c: conversations.list_messages(c, conv_id))
        return _plain({
            "id": conv.id, "title": conv.title, "title_source": conv.title_source,
            "system_prompt": conv.system_prompt, "model": conv.model,
            "created_at": conv.created_at, "updated_at": conv.updated_at,
            "messages": [_plain(m) for m in messages]})

    async def create(self, user: User, title: str | None,
                     system_prompt: str | None) -> conversations.Conversation:
        self._check_content(user, [title or "", system_prompt or ""])
        model = self._active_model()
        return await self._db.run(
            lambda c: conversations.create(c, user.id, title, system_prompt, model))

    async def rename(self, user: User, conv_id: int, title: str) -> None:
        await self.owned(user, conv_id)
        title = " ".join(title.split())
        if not title or len(title) > 200:
            raise InvalidInput("A title has 1 to 200 characters", code="invalid_title")
        await self._db.run(lambda c: conversations.set_title(c, conv_id, title, "user"))

    async def delete(self, user: User, conv_id: int) -> None:
        await self.owned(user, conv_id)
        await self._wait_for_answer(conv_id)
        await self._db.run(lambda c: conversations.delete(c, conv_id))


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """JSON's types: times as ISO 8601 (stored in UTC), as FastAPI wrote them before."""
    return {key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in row.items()}


def _not_found(conv_id: int) -> NotFound:
    return NotFound(f"Conversation {conv_id} not found", code="conversation_not_found")
