"""The conversation sidebar's actions: search, rename, delete. The chat service checks that the
caller owns the conversation; this only wires components to it."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Any

import gradio as gr

from chat.conversations import ConversationService
from chat.live import LiveAnswers
from ui.base import Handlers, ui_errors
from ui.errors import Refusal
from ui.i18n import request_language, request_timezone, text

# The value of a date heading in the list, never a conversation's id: the page's CSS shows it
# as a heading and its script makes it unselectable (ui/app.py, ui/chat_page.js).
HEADING = "group:"


def conversation_entries(rows: list[dict[str, Any]], running: set[int], lang: str = "en",
                         zone: tzinfo = UTC, now: datetime | None = None,
                         ) -> list[tuple[str, int | str]]:
    """The conversation list's (label, id) pairs, newest first, for the full list and a search
    alike, under date headings (Today, Yesterday, Previous 7 days, Older, in the caller's time
    zone) as in the chat apps people know: ⏳ marks a conversation whose answer is still being
    written."""
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    entries: list[tuple[str, int | str]] = []
    heading = None
    for row in rows:
        if row.get("updated_at") is not None:
            group = _date_group(row["updated_at"], zone, today)
            if group != heading:
                entries.append((text(f"group_{group}", lang), HEADING + group))
                heading = group
        entries.append((("⏳ " if row["id"] in running else "")
                        + (row["title"] or f"Conversation {row['id']}"), row["id"]))
    return entries


def _date_group(updated: datetime, zone: tzinfo, today: date) -> str:
    if updated.tzinfo is None:  # stored in UTC
        updated = updated.replace(tzinfo=UTC)
    days = (today - updated.astimezone(zone).date()).days
    return ("today" if days <= 0 else "yesterday" if days == 1
            else "previous_7_days" if days <= 7 else "older")


def listed_conversation(value: Any) -> int | None:
    """The conversation a list value names; None for none or a date heading."""
    return int(value) if isinstance(value, int) or str(value or "").isdigit() else None


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
        choices, label = await self._listing(query, request)
        return gr.Radio(choices=choices, label=label,
                        value=selected if selected in dict(choices).values() else None)

    @ui_errors
    async def refresh_list(self, query: str, request: gr.Request) -> Any:
        """The entries again (their ⏳ marks), the selection left as the page has it: one set
        from the conversation the page had when it asked could land after New chat."""
        choices, label = await self._listing(query, request)
        return gr.update(choices=choices, label=label)

    async def _listing(self, query: str, request: gr.Request) -> tuple[list[Any], str]:
        user = await self.user(request)
        query = (query or "").strip()
        rows = await self.conversations.search(user, query)
        lang = request_language(request)
        choices = conversation_entries(rows, self.live.running_for(user), lang,
                                       request_timezone(request))
        label = (text("recent", lang) if not query
                 else text("search_found", lang, n=len(rows)) if rows
                 else text("search_none", lang, query=query))
        return choices, label

    @ui_errors
    async def current_title(self, listed: int | str | None, request: gr.Request) -> str:
        """The open conversation's title, ready to be edited in the rename box."""
        conversation_id = listed_conversation(listed)
        if conversation_id is None:
            return ""
        conv = await self.conversations.get(await self.user(request), conversation_id)
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
