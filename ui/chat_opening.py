"""What a chat page opens and shows: its landing conversation, another one picked from the list
(an answer still running streams on), a new chat, the header and the model picker."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import gradio as gr

from errors import AppError
from ui.base import ui_errors
from ui.chat_base import ChatBase
from ui.chat_view import assistant_messages
from ui.errors import show_refusal
from ui.i18n import request_language, role_text, state_text
from ui.i18n import text as tr
from ui.page_answers import page_of
from ui.presets import page_sampling
from ui.sidebar import listed_conversation


class OpeningHandlers(ChatBase):
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

    @ui_errors
    async def model_choice(self, model: str | None) -> Any:
        """The model picker, brought up to date after a switch (else left alone)."""
        names = self.engine.profile.model_names
        return gr.skip() if model in names else gr.Dropdown(choices=names, value=names[0])

    async def page_closed(self, request: gr.Request) -> None:
        """Gradio's unload: nothing waits for the page's queued answers any more."""
        self.pages.closed(page_of(request))


def _asked_conversation(request: gr.Request) -> int | None:
    """The conversation the page's address names (?c=<id>), if it names one."""
    asked = str(request.query_params.get("c") or "")
    return int(asked) if asked.isdigit() else None

