"""The conversation sidebar's actions: search, rename, delete. The chat service checks that the
caller owns the conversation; this only wires components to it."""

from __future__ import annotations

from typing import Any

import gradio as gr

from chat.conversations import ConversationService
from chat.live import LiveAnswers
from ui.base import Handlers, ui_errors
from ui.errors import Refusal
from ui.i18n import request_language, text


def conversation_entries(rows: list[dict[str, Any]], running: set[int]) -> list[tuple[str, int]]:
    """The conversation list's (label, id) pairs, for the full list and a search alike: ⏳ marks
    a conversation whose answer is still being written."""
    return [(("⏳ " if row["id"] in running else "")
             + (row["title"] or f"Conversation {row['id']}"), row["id"]) for row in rows]


class SidebarHandlers(Handlers):
    @property
    def conversations(self) -> ConversationService:
        return self.services.conversations

    @property
    def live(self) -> LiveAnswers:
        return self.services.live

    @ui_errors
    async def search(self, query: str, selected: int | None, request: gr.Request) -> Any:
        """The conversations the search finds (all, for an empty one), under a label that
        says how many, or that none matches."""
        user = await self.user(request)
        query = (query or "").strip()
        rows = await self.conversations.search(user, query)
        choices = conversation_entries(rows, self.live.running_for(user))
        lang = request_language(request)
        label = (text("recent", lang) if not query
                 else text("search_found", lang, n=len(choices)) if choices
                 else text("search_none", lang, query=query))
        return gr.Radio(choices=choices, label=label,
                        value=selected if selected in dict(choices).values() else None)

    @ui_errors
    async def current_title(self, conversation_id: int | None, request: gr.Request) -> str:
        """The open conversation's title, ready to be edited in the rename box."""
        if not conversation_id:
            return ""
        conv = await self.conversations.get(await self.user(request), int(conversation_id))
        return conv.title or ""

    @ui_errors
    async def rename(self, conversation_id: int | None, title: str, query: str,
                     request: gr.Request) -> tuple[Any, Any]:
        if not conversation_id:
            raise Refusal("open_conversation_first")
        await self.conversations.rename(
            await self.user(request), int(conversation_id), title or "")
        return await self.search(query, conversation_id, request), gr.skip()  # the new title

    @ui_errors
    async def delete(self, conversation_id: int | None, query: str,
                     request: gr.Request) -> tuple[Any, ...]:
        """Runs from the confirmation button that the Delete button shows."""
        hidden = gr.Button(visible=False)
        if not conversation_id:
            return gr.skip(), gr.skip(), gr.skip(), hidden
        await self.conversations.delete(await self.user(request), int(conversation_id))
        return await self.search(query, None, request), [], None, hidden
