"""What the chat tab's events do: send and answer, stop, and the Gradio API's `/chat`; with
what the page opens (ui/chat_opening.py) and answering again (ui/chat_resend.py). Wiring Gradio
components to the chat services; no logic lives here."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import gradio as gr

from chat.turn import ChatOptions
from errors import AppError
from ui.base import api_errors, returns, ui_errors
from ui.chat_opening import OpeningHandlers
from ui.chat_resend import ResendHandlers
from ui.chat_view import History, assistant_messages
from ui.errors import refusal_text, show_refusal
from ui.i18n import request_language
from ui.page_answers import page_of


class ChatHandlers(OpeningHandlers, ResendHandlers):
    async def answer(
        self,
        message: str,
        conversation_id: int | None,
        system_prompt: str | None,
        temperature: float | None,
        max_tokens: int | None,
        model: str | None,
        request: gr.Request,
        detached: bool = False,
    ) -> AsyncIterator[tuple[int, str, str]]:
        """(conversation id, answer so far, thinking so far), at most once per flush interval."""
        user = await self.user(request)
        options = ChatOptions(
            model=model or None,
            system_prompt=system_prompt,
            temperature=temperature,
            max_tokens=int(max_tokens) if max_tokens is not None else None,
        )
        turn = await self.chat.start_turn(
            user, [{"role": "user", "content": message}], options,
            int(conversation_id) if conversation_id else None,
        )
        async for update in self._follow(turn, detached, request_language(request)):
            yield update

    @ui_errors
    async def send(self, text: str, request: gr.Request) -> tuple[str, str]:
        """The text moves from the box to be answered (the box is free for the next one); the
        page's Stop now covers its answer, even while that waits in the queue."""
        self.pages.asked(page_of(request))
        return "", text

    @ui_errors
    async def suggestion(self, chosen: gr.SelectData, request: gr.Request) -> tuple[str, str]:
        """A suggestion of the empty chat, or an option under the last answer ("Continue"),
        sent as if typed (the box stays empty)."""
        value = chosen.value
        return await self.send(str(value["text"] if isinstance(value, dict) else value), request)

    @ui_errors
    async def respond(
        self,
        message: str,
        history: History,
        conversation_id: int | None,
        system_prompt: str,
        temperature: float,
        max_tokens: float,
        model: str | None,
        request: gr.Request,
    ) -> AsyncIterator[tuple[Any, ...]]:
        # Stopped while it waited in the queue: the text comes back to the box.
        async for update in self.page_answer(
                request, (gr.skip(), gr.skip(), gr.skip(), message),
                lambda number: self._respond(message, history, conversation_id, system_prompt,
                                             temperature, max_tokens, model, request, number)):
            yield update

    async def _respond(
        self, message: str, history: History, conversation_id: int | None, system_prompt: str,
        temperature: float, max_tokens: float, model: str | None, request: gr.Request,
        number: int,
    ) -> AsyncGenerator[tuple[Any, ...], None]:
        asked = [*(history or []), {"role": "user", "content": message}]
        conv_id, text, thinking, started = conversation_id, "", "", False
        lang = request_language(request)
        try:
            async for conv_id, text, thinking in self.answer(
                message, conversation_id, system_prompt, temperature, int(max_tokens),
                self._served(model), request, detached=True,
            ):
                if not started:
                    await self._running(request, number, conv_id)
                # The conversation is listed (and the address names it) once it exists.
                listed = gr.skip() if started else await self.conversation_choices(request, conv_id)
                started = True
                yield ([*asked, *assistant_messages(text, thinking, done=False, lang=lang)],
                       conv_id, listed, gr.skip())
        except AppError as exc:
            show_refusal(exc, request)
            if started:  # keep what arrived, marked, as it is stored
                failed = f"{text}\n\n⚠️ {refusal_text(exc, lang)}".strip()
                yield ([*asked, *assistant_messages(failed, thinking, lang=lang)], conv_id,
                       await self.conversation_choices(request, conv_id), gr.skip())
            else:  # refused before anything was stored: the text goes back to be fixed or resent
                yield gr.skip(), gr.skip(), gr.skip(), message
            return
        # As stored: a Stop from this page or another ends the answer here too, and both
        # then show the same (the stopped answer with its note), whichever update lands last.
        if conv_id is None:
            return
        history, _ = await self._display(conv_id, request)
        yield history, conv_id, await self.conversation_choices(request, conv_id), gr.skip()

    @returns(str, int)
    @api_errors
    async def chat_api(
        self,
        message: str,
        conversation_id: int | None = None,
        system_prompt: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        model: str | None = None,
        request: gr.Request | None = None,
    ) -> AsyncIterator[tuple[str, int]]:
        """Send a message and stream the answer as it grows, with its conversation's id.
        Cancelling the job stops the answer (stored as cancelled). Sign in first:
        Client(url, headers={"Authorization": "Bearer <token or API key>"}).

        Args:
            message: What you say to the model.
            conversation_id: One of yours to continue (its history goes with it); empty: a new one.
            system_prompt: For a new conversation; empty: your default prompt, if you set one.
            temperature: 0 to 2; empty: the profile's default.
            max_tokens: The longest answer, in tokens; empty: the profile's default.
            model: The active model's id or an alias (see /models); empty: the active model.

        Returns:
            answer: The answer so far.
            conversation_id: The conversation's id.
        """
        assert request is not None
        async for conv_id, text, _thinking in self.answer(
            message, conversation_id, system_prompt, temperature, max_tokens, model, request
        ):
            yield text, conv_id

    @ui_errors
    async def stop(self, conversation_id: int | None, request: gr.Request) -> tuple[Any, Any]:
        """Stop this conversation's answer, wherever it was started from, and any the page
        has asked for; the chat shows it at once as stored, marked as stopped (the answering
        event then ends by itself, with the same)."""
        user = await self.user(request)
        stopped = self.pages.stop(page_of(request))
        if conversation_id:
            stopped.add(int(conversation_id))
        for conv_id in stopped:
            await self.live.stop(user, conv_id)
        # The page may not know its new conversation yet (Stop right after the first send).
        shown = int(conversation_id) if conversation_id else next(iter(stopped), None)
        if shown is None:  # only a queued answer, which will not start
            return gr.skip(), gr.skip()
        history, _ = await self._display(shown, request)
        return history, await self.conversation_choices(request, shown)
