"""What the chat tab's handlers share: the services, what each page shows and has asked for
(ui/page_answers.py), a stored conversation as the chat shows it, the conversation list."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import gradio as gr

from chat.conversations import ConversationService
from chat.live import LiveAnswers
from chat.service import ChatService
from chat.turn import ChatTurn
from engine.manager import EngineManager, EngineState
from services import ServicesHolder
from settings import Settings
from ui.base import Handlers
from ui.chat_view import History, stored_history
from ui.i18n import request_language, request_timezone
from ui.i18n import text as tr
from ui.page_answers import PageAnswers, page_of
from ui.sidebar import conversation_entries


class ChatBase(Handlers):

    def __init__(self, holder: ServicesHolder) -> None:
        super().__init__(holder)
        self.pages = PageAnswers()

    @property
    def chat(self) -> ChatService:
        return self.services.chat

    @property
    def conversations(self) -> ConversationService:
        return self.services.conversations

    @property
    def live(self) -> LiveAnswers:
        return self.services.live

    @property
    def engine(self) -> EngineManager:
        return self.services.engine

    @property
    def settings(self) -> Settings:
        return self.services.settings

    async def page_answer(
        self, request: gr.Request, stopped: tuple[Any, ...],
        answer: Callable[[int], AsyncGenerator[tuple[Any, ...], None]],
    ) -> AsyncIterator[tuple[Any, ...]]:
        """The page's next answer asked for (a send, Retry, an edit): `stopped` alone when Stop
        came while it waited in the queue, else the updates of `answer(its number)` while the
        chat shows them."""
        page = page_of(request)
        number = self.pages.starting(page)
        if number is None:
            yield stopped
            return
        try:
            async for update in self.while_shown(request, answer(number)):
                yield update
        finally:
            self.pages.ended(page, number)

    async def while_shown(self, request: gr.Request, updates: AsyncGenerator[tuple[Any, ...], None],
                          ) -> AsyncIterator[tuple[Any, ...]]:
        """`updates` into the page's chat until it shows something else (New chat, another
        conversation): then they end, and an answer they followed goes on, on the server.
        They end on an update of skips: Gradio's last message of an event repeats its last
        update, which would put the old chat back if it landed after the new one."""
        with self.pages.showing(page_of(request)) as shown:
            async with aclosing(updates):
                async for update in updates:
                    if not shown():
                        yield tuple(gr.skip() for _ in update)
                        return
                    yield update

    async def _display(self, conversation_id: int, request: gr.Request) -> tuple[History, Any]:
        user = await self.user(request)
        conv = await self.conversations.get(user, int(conversation_id))
        rows = await self.conversations.messages(user, conv.id)
        return stored_history(rows, request_language(request)), conv

    async def conversation_choices(self, request: gr.Request, selected: int | None) -> Any:
        user = await self.user(request)
        rows = await self.conversations.recent(user)
        choices = conversation_entries(rows, self.live.running_for(user),
                                       request_language(request), request_timezone(request))
        return gr.Radio(choices=choices, value=selected)

    def _served(self, model: str | None) -> str | None:
        """The page's model choice if the active profile serves it, else the active model: a
        page opened before an admin switched profile still names the old one."""
        return model if model in self.engine.profile.model_names else None

    def _waiting_note(self, lang: str) -> str:
        """Shown in place of the answer while a model switch holds new chats."""
        engine = self.engine
        if engine.state in (EngineState.DRAINING, EngineState.SWITCHING):
            return tr("waiting_switch", lang)
        return ""

    async def _follow(
        self, turn: ChatTurn, detached: bool, lang: str = "en"
    ) -> AsyncIterator[tuple[int, str, str]]:
        """Stream the turn. Detached, the answer runs on the server whatever this page does;
        attached (API callers), closing this stream stops the answer."""
        if turn.trimmed:
            gr.Info(tr("trimmed", lang, n=turn.trimmed))
        interval = self.settings.stream_flush_interval_s
        if detached:
            # Started before the first update: a page that goes away at once still gets its
            # answer written and stored.
            live = self.live.start(turn)
            yield turn.conversation_id, self._waiting_note(lang), ""
            async for current in live.follow(interval):
                yield current.conversation_id, current.answer, current.thinking
            return
        yield turn.conversation_id, self._waiting_note(lang), ""
        last_flush = -interval  # the first words go out at once, later ones in flushes
        async with aclosing(self.chat.stream(turn)) as deltas:
            async for _ in deltas:
                if time.monotonic() - last_flush >= interval:
                    last_flush = time.monotonic()
                    yield turn.conversation_id, turn.answer, turn.thinking
        yield turn.conversation_id, turn.answer, turn.thinking

    async def _running(self, request: gr.Request, number: int, conversation_id: int) -> None:
        """The page's answer `number` has its conversation: a Stop from now on finds it, and
        one pressed while it started (before the page knew the conversation) stops it now."""
        if not self.pages.running(page_of(request), number, conversation_id):
            await self.live.stop(await self.user(request), conversation_id)
