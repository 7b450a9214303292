"""Retry and edit: one of the user's messages answered again (changed, for an edit); the turns
after it are replaced. Covered by the page's Stop from the moment they are asked for."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import gradio as gr

from chat.messages import flatten_content
from chat.questions import nothing_to_resend
from chat.turn import ChatOptions
from storage.users import User
from ui.base import ui_errors
from ui.chat_base import ChatBase
from ui.chat_view import History, assistant_messages, edited_question
from ui.errors import Refusal
from ui.i18n import request_language
from ui.page_answers import page_of


class ResendHandlers(ChatBase):
    @ui_errors
    async def ask_again(self, request: gr.Request) -> None:
        """Retry pressed: like a send, its answer is covered by the page's Stop from now on,
        even while it waits in the queue."""
        self.pages.asked(page_of(request))

    @ui_errors
    async def ask_edit(self, history: History, edit: gr.EditData,
                       request: gr.Request) -> tuple[int | None, str]:
        """An edit sent: which of the user's messages it changes, and its text, for the queued
        step that answers it (Gradio hands the edit only to this first one). Covered by Stop
        from now on, like a send."""
        self.pages.asked(page_of(request))
        return edited_question(history, edit.index), flatten_content(edit.value)

    @ui_errors
    async def regenerate(
        self, conversation_id: int | None, system_prompt: str, temperature: float,
        max_tokens: float, model: str | None, request: gr.Request,
    ) -> AsyncIterator[tuple[Any, ...]]:
        async for update in self._resend_unless_stopped(
                conversation_id, None, system_prompt, temperature, max_tokens, model, request):
            yield update

    @ui_errors
    async def edit(
        self, pending: tuple[int | None, str] | None, conversation_id: int | None,
        system_prompt: str, temperature: float, max_tokens: float, model: str | None,
        request: gr.Request,
    ) -> AsyncIterator[tuple[Any, ...]]:
        """Any of the user's messages, changed and answered again; the turns after it go (the
        page's script asks first when there are any)."""
        asked, text = pending or (None, "")
        async for update in self._resend_unless_stopped(
                conversation_id, text, system_prompt, temperature, max_tokens, model, request,
                asked):
            yield update

    async def _resend_unless_stopped(
        self, conversation_id: int | None, edited: str | None, system_prompt: str,
        temperature: float, max_tokens: float, model: str | None, request: gr.Request,
        asked: int | None = None,
    ) -> AsyncGenerator[tuple[Any, ...], None]:
        # Stopped while it waited in the queue: nothing changed.
        async for update in self.page_answer(
                request, (gr.skip(), gr.skip(), gr.skip()),
                lambda number: self._resend(conversation_id, edited, system_prompt, temperature,
                                            max_tokens, model, request, number, asked)):
            yield update

    async def _resend(
        self, conversation_id: int | None, edited: str | None, system_prompt: str,
        temperature: float, max_tokens: float, model: str | None, request: gr.Request,
        number: int, asked: int | None,
    ) -> AsyncGenerator[tuple[Any, ...], None]:
        """Answer again the user's last message (a retry), or their `asked`-th (0: the first)
        `edited` (None: the edit was not of one of their messages), as the page's answer
        `number`."""
        lang = request_language(request)
        if not conversation_id:
            raise Refusal("nothing_to_regenerate")
        if edited is not None and asked is None:
            raise nothing_to_resend()
        user = await self.user(request)
        options = ChatOptions(model=self._served(model), system_prompt=system_prompt or None,
                              temperature=temperature, max_tokens=int(max_tokens))
        question = await self._question_id(user, int(conversation_id), asked)
        turn = await self.chat.start_resend(user, int(conversation_id), options, edited,
                                            message_id=question)
        shown, _ = await self._display(turn.conversation_id, request)
        started = False
        async for _, text, thinking in self._follow(turn, detached=True, lang=lang):
            if not started:  # the answer runs: a Stop pressed while it started ends it now
                await self._running(request, number, turn.conversation_id)
                started = True
            yield ([*shown, *assistant_messages(text, thinking, done=False, lang=lang)],
                   turn.conversation_id, gr.skip())
        history, _ = await self._display(turn.conversation_id, request)  # as stored, as respond
        yield (history, turn.conversation_id,
               await self.conversation_choices(request, turn.conversation_id))

    async def _question_id(self, user: User, conversation_id: int,
                           asked: int | None) -> int | None:
        """The stored id of the user's `asked`-th message (None: the last, as the chat asks)."""
        if asked is None:
            return None
        rows = await self.conversations.messages(user, int(conversation_id))
        questions = [int(m["id"]) for m in rows if m["role"] == "user"]
        if not 0 <= asked < len(questions):
            raise nothing_to_resend()
        return questions[asked]
