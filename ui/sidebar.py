"""The conversation sidebar's actions: search, rename, delete. The chat service checks that the
caller owns the conversation; this only wires components to it."""

from __future__ import annotations

from typing import Any

import gradio as gr

from errors import AppError
from ui.base import Handlers
from ui.errors import as_gradio_error


class SidebarHandlers(Handlers):
    async def search(self, query: str, selected: int | None, request: gr.Request) -> Any:
        user = await self.user(request)
        rows = await self.services.chat.search_conversations(user, query or "")
        choices = [(row["title"] or f"Conversation {row['id']}", row["id"]) for row in rows]
        return gr.Radio(choices=choices, value=selected if selected in dict(choices).values() else None)

    async def rename(self, conversation_id: int | None, title: str, query: str,
                     request: gr.Request) -> tuple[Any, str]:
        if not conversation_id:
            raise gr.Error("Open a conversation first.")
        try:
            await self.services.chat.rename_conversation(
                await self.user(request), int(conversation_id), title or "")
        except AppError as exc:
            raise as_gradio_error(exc, request) from exc
        return await self.search(query, conversation_id, request), ""

    async def delete(self, conversation_id: int | None, query: str,
                     request: gr.Request) -> tuple[Any, ...]:
        """Runs from the confirmation button that the Delete button shows."""
        hidden = gr.Button(visible=False)
        if not conversation_id:
            return gr.skip(), gr.skip(), gr.skip(), hidden
        try:
            await self.services.chat.delete_conversation(await self.user(request),
                                                         int(conversation_id))
        except AppError as exc:
            raise as_gradio_error(exc, request) from exc
        return await self.search(query, None, request), [], None, hidden
