"""What the chat tab's events do: answer, resend, stop, open a conversation, fill the page.
Wiring Gradio components to the chat services; no logic lives here."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import gradio as gr

from chat.conversations import ConversationService
from chat.live import LiveAnswers
from chat.messages import flatten_content
from chat.service import ChatService
from chat.turn import ChatOptions, ChatTurn
from engine.manager import EngineManager, EngineState
from errors import AppError, InvalidInput
from services import ServicesHolder
from settings import Settings
from storage.users import User
from ui.base import Handlers, api_errors, ui_errors
from ui.chat_view import History, assistant_messages, edited_question, stored_history
from ui.errors import Refusal, refusal_text, show_refusal
from ui.i18n import request_language, request_timezone, role_text, state_text
from ui.i18n import text as tr
from ui.page_answers import PageAnswers, page_of
from ui.presets import page_sampling
from ui.sidebar import conversation_entries, listed_conversation


def nothing_to_resend() -> InvalidInput:
    """An edit of something that is not one of the user's messages (or no longer stored)."""
    return InvalidInput("There is no such message to answer again", code="nothing_to_resend")


class ChatHandlers(Handlers):
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
        last_flush = time.monotonic()
        async with aclosing(self.chat.stream(turn)) as deltas:
            async for _ in deltas:
                if time.monotonic() - last_flush >= interval:
                    last_flush = time.monotonic()
                    yield turn.conversation_id, turn.answer, turn.thinking
        yield turn.conversation_id, turn.answer, turn.thinking

    async def page_closed(self, request: gr.Request) -> None:
        """Gradio's unload: nothing waits for the page's queued answers any more."""
        self.pages.closed(page_of(request))

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
        page = page_of(request)
        number = self.pages.starting(page)
        if number is None:  # Stop pressed while it waited in the queue: nothing changed
            yield gr.skip(), gr.skip(), gr.skip()
            return
        try:
            async for update in self.while_shown(request, self._resend(
                    conversation_id, edited, system_prompt, temperature, max_tokens, model,
                    request, number, asked)):
                yield update
        finally:
            self.pages.ended(page, number)

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

    def _served(self, model: str | None) -> str | None:
        """The page's model choice if the active profile serves it, else the active model: a
        page opened before an admin switched profile still names the old one."""
        return model if model in self.engine.profile.model_names else None

    @ui_errors
    async def model_choice(self, model: str | None) -> Any:
        """The model picker, brought up to date after a switch (else left alone)."""
        names = self.engine.profile.model_names
        return gr.skip() if model in names else gr.Dropdown(choices=names, value=names[0])

    def _waiting_note(self, lang: str) -> str:
        """Shown in place of the answer while a model switch holds new chats."""
        engine = self.engine
        if engine.state in (EngineState.DRAINING, EngineState.SWITCHING):
            return tr("waiting_switch", lang)
        return ""

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
        page = page_of(request)
        number = self.pages.starting(page)
        if number is None:  # Stop pressed while it waited in the queue: the text comes back
            yield gr.skip(), gr.skip(), gr.skip(), message
            return
        try:
            async for update in self.while_shown(request, self._respond(
                    message, history, conversation_id, system_prompt, temperature, max_tokens,
                    model, request, number)):
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
    ) -> AsyncIterator[str]:
        """Send a message and stream the growing answer. Starts a new conversation unless
        `conversation_id` names one of yours; `model` is the served name or an alias."""
        assert request is not None
        async for _, text, _thinking in self.answer(
            message, conversation_id, system_prompt, temperature, max_tokens, model, request
        ):
            yield text

    async def conversation_choices(self, request: gr.Request, selected: int | None) -> Any:
        user = await self.user(request)
        rows = await self.conversations.recent(user)
        choices = conversation_entries(rows, self.live.running_for(user),
                                       request_language(request), request_timezone(request))
        return gr.Radio(choices=choices, value=selected)

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

    async def _running(self, request: gr.Request, number: int, conversation_id: int) -> None:
        """The page's answer `number` has its conversation: a Stop from now on finds it, and
        one pressed while it started (before the page knew the conversation) stops it now."""
        if not self.pages.running(page_of(request), number, conversation_id):
            await self.live.stop(await self.user(request), conversation_id)

    async def _display(self, conversation_id: int, request: gr.Request) -> tuple[History, Any]:
        user = await self.user(request)
        conv = await self.conversations.get(user, int(conversation_id))
        rows = await self.conversations.messages(user, conv.id)
        return stored_history(rows, request_language(request)), conv

    @ui_errors
    async def open_conversation(
        self, conversation_id: int | None, request: gr.Request
    ) -> AsyncIterator[tuple[Any, ...]]:
        """Its messages; an answer still being written streams on from where it is, and the
        list loses its ⏳ when it ends. Whatever streamed into the chat before stops."""
        shown = await self.pages.move(page_of(request))
        if not shown():  # another click came while this one waited
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        opened = listed_conversation(conversation_id)
        if opened is None:
            yield [], None, gr.skip(), gr.skip()
            return
        async for update in self.while_shown(request, self._open(opened, request)):
            yield update

    async def new_chat(self, request: gr.Request) -> tuple[Any, Any, Any] | None:
        """An empty chat (None if another move came meanwhile: what it shows stays). An
        answer that was streaming into the chat goes on, on the server (the list marks it ⏳);
        its updates stop before the chat is emptied. Part of ChatTab.start_new_chat."""
        shown = await self.pages.move(page_of(request))
        return ([], None, gr.Radio(value=None)) if shown() else None

    async def open_landing(self, request: gr.Request) -> AsyncGenerator[tuple[Any, ...], None]:
        """What a page opens on: the conversation its address names, else the latest one;
        nothing for a new user, or for an address naming none of theirs (a toast says why).
        Part of ChatTab.open_page, which shows any other refusal."""
        user = await self.user(request)
        asked = _asked_conversation(request)
        if asked is not None:
            try:
                landing = (await self.conversations.get(user, asked)).id
            except AppError as exc:  # someone else's, deleted or mistyped
                show_refusal(exc, request)
                return
        else:
            latest = await self.conversations.recent(user, limit=1)
            if not latest:
                return  # a new user: the welcome of an empty chat
            landing = int(latest[0]["id"])
        updates = self._open(landing, request)
        shown, opened, prompt, _ = await anext(updates)
        # The list comes with the conversation, selected, in one update. Sent as two quick
        # updates of the list, it was seen to end up empty on the page (about one reload in
        # thirty, under load; where Gradio's frontend loses it was not found).
        listed = await self.conversation_choices(request, landing)
        yield shown, opened, prompt, listed
        # And again with the next update (a running answer's first streamed one): after a
        # reload onto a running answer the page now and then showed an empty list until the
        # answer ended (2 of about 8 full test runs; header and chat came in the same update;
        # where Gradio's frontend drops it was not found). A copy a moment later puts it right.
        again: Any = listed
        async for shown, opened, prompt, later in updates:
            yield shown, opened, prompt, again if later == gr.skip() else later
            again = gr.skip()

    async def _open(self, conversation_id: int, request: gr.Request,
                    ) -> AsyncGenerator[tuple[Any, ...], None]:
        history, conv = await self._display(conversation_id, request)
        yield history, conv.id, conv.system_prompt or "", gr.skip()
        live = self.live.running(await self.user(request), conv.id)
        if live is None:
            return
        interval = self.settings.stream_flush_interval_s
        lang = request_language(request)
        try:
            async for turn in live.follow(interval):
                yield ([*history, *assistant_messages(turn.answer, turn.thinking,
                                                      done=False, lang=lang)],
                       conv.id, gr.skip(), gr.skip())
        except AppError:
            pass  # the answer failed: its stored text says so, shown below
        history, conv = await self._display(conv.id, request)
        yield (history, conv.id, gr.skip(),
               await self.conversation_choices(request, conv.id))

    @ui_errors
    async def suggestion(self, chosen: gr.SelectData, request: gr.Request) -> tuple[str, str]:
        """A suggestion of the empty chat, or an option under the last answer ("Continue"),
        sent as if typed (the box stays empty)."""
        value = chosen.value
        return await self.send(str(value["text"] if isinstance(value, dict) else value), request)

    @ui_errors
    async def send(self, text: str, request: gr.Request) -> tuple[str, str]:
        """The text moves from the box to be answered (the box is free for the next one); the
        page's Stop now covers its answer, even while that waits in the queue."""
        self.pages.asked(page_of(request))
        return "", text

    @ui_errors
    async def on_load(self, saved: Any, request: gr.Request) -> tuple[str, Any, float, int]:
        """The page's header, the model picker and the sampling a page starts from: what the
        browser's last page showed (`saved`), where still valid."""
        user = await self.user(request)
        engine = self.engine
        lang = request_language(request)
        state = state_text(engine.state.value, lang)
        header = (
            f"{tr('model', lang)} **{engine.profile.served_model_name}** ({state}) · "
            f"{tr('signed_in_as', lang)} **{user.username}** ({role_text(user.role, lang)})"
        )
        model, temperature, max_tokens = page_sampling(self.services, saved)
        return (header, gr.Dropdown(choices=engine.profile.model_names, value=model),
                temperature, max_tokens)


def _asked_conversation(request: gr.Request) -> int | None:
    """The conversation the page's address names (?c=<id>), if it names one."""
    asked = str(request.query_params.get("c") or "")
    return int(asked) if asked.isdigit() else None
