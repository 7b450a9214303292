"""The conversation sidebar's actions: search, rename, delete. The chat service checks that the
caller owns the conversation; this only wires components to it."""

from __future__ import annotations

from typing import Any

import gradio as gr

from errors import AppError
from services import ServicesHolder
from ui.errors import as_gradio_error


class SidebarHandlers:
    def __init__(self, holder: ServicesHolder) -> None:
        self._holder = holder

    async def _user_and_chat(self, request: gr.Request) -> tuple[Any, Any]:
        services = self._holder.get()
        try:
            return await services.auth.user_by_name(request.username), services.chat
        except AppError as exc:
            raise as_gradio_error(exc) from exc

    async def search(self, query: str, selected: int | None, request: gr.Request) -> Any:
        user, chat = await self._user_and_chat(request)
        rows = await chat.search_conversations(user, query or "")
        choices = [(row["title"] or f"Conversation {row['id']}", row["id"]) for row in rows]
        return gr.Radio(choices=choices, value=selected if selected in dict(choices).values() else None)

    async def rename(self, conversation_id: int | None, title: str, query: str,
                     request: gr.Request) -> tuple[Any, str]:
        if not conversation_id:
            raise gr.Error("Open a conversation first.")
        user, chat = await self._user_and_chat(request)
        try:
            await chat.rename_conversation(user, int(conversation_id), title or "")
        except AppError as exc:
            raise as_gradio_error(exc) from exc
        return await self.search(query, conversation_id, request), ""

    async def delete(self, conversation_id: int | None, query: str,
                     request: gr.Request) -> tuple[Any, ...]:
        """Runs from the confirmation button that the Delete button shows."""
        hidden = gr.Button(visible=False)
        if not conversation_id:
            return gr.skip(), gr.skip(), gr.skip(), hidden
        user, chat = await self._user_and_chat(request)
        try:
            await chat.delete_conversation(user, int(conversation_id))
        except AppError as exc:
            raise as_gradio_error(exc) from exc
        return await self.search(query, None, request), [], None, hidden
