"""The Chat tab: its layout and event wiring. What the events do lives in chat_handlers.py
(answers), sidebar.py (the conversation list) and presets.py (the settings' presets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from chat.validation import MAX_TEMPERATURE
from services import ServicesHolder
from settings import Settings
from ui.base import ui_errors
from ui.chat_handlers import ChatHandlers
from ui.chat_view import welcome
from ui.i18n import request_language, t
from ui.presets import PresetHandlers
from ui.sidebar import SidebarHandlers

# The address names the open conversation (?c=<id>): a reload or a shared link reopens it.
ADDRESS_JS = """(id) => {
  const url = new URL(window.location.href);
  if (/^[0-9]+$/.test(String(id ?? ""))) url.searchParams.set("c", id);
  else url.searchParams.delete("c");
  window.history.replaceState(window.history.state, "", url);
}"""


class ChatTab:
    """The tab's components, laid out where it is built, and the handlers the page around it
    uses to fill it when the page loads."""

    def __init__(self, tab: gr.Tab, holder: ServicesHolder, settings: Settings) -> None:
        self.tab = tab
        self.handlers = ChatHandlers(holder)
        self.presets = PresetHandlers(holder)
        self.conversation_id = gr.State(None)
        self.pending = gr.State("")  # a sent message, for the queued step that answers it
        self.pending_edit = gr.State(None)  # (which of the user's messages, its new text)
        # The model, temperature and max tokens the page shows, kept in this browser so that a
        # reload starts from them (a new key each time the app starts: no stale values).
        self.saved_sampling = gr.BrowserState(None)
        with gr.Row():
            with gr.Column(scale=1, min_width=220, elem_id="chat-sidebar"):
                self._sidebar()
            with gr.Column(scale=4, elem_id="chat-main"):
                self._conversation()
            # Beside the chat, not under it pushing the conversation off screen: ⚙ above the
            # chat shows and hides them (ui/chat_page.js); on a phone, a drawer.
            with gr.Column(scale=1, min_width=280, elem_id="chat-settings"):
                self._settings(settings)

    def _sidebar(self) -> None:
        self.new_chat = gr.Button(t("new_chat"), elem_id="new-chat", variant="secondary")
        self.search = gr.Textbox(placeholder=t("search"), show_label=False,
                                 elem_id="conversation-search")
        self.conversation_list = gr.Radio(label=t("recent"), choices=[],
                                          elem_id="conversation-list")
        self.refresh_list = gr.Button("", elem_id="refresh-list")  # out of sight: for the script
        # Out of sight too: the question the script asks before an edit replaces later turns,
        # here so that it comes in the page's language.
        gr.Button(t("edit_replaces_later"), elem_id="edit-replaces-later")
        # Opened by each entry's ⋯ too (ui/chat_page.js).
        with gr.Accordion(t("rename_or_delete"), open=False, elem_id="rename-panel"):
            self.new_title = gr.Textbox(label=t("new_title"), elem_id="new-title")
            with gr.Row():
                self.rename = gr.Button(t("rename"), size="sm", elem_id="rename-conversation")
                self.delete = gr.Button(t("delete"), size="sm", variant="stop",
                                        elem_id="delete-conversation")
            self.confirm_delete = gr.Button(t("confirm_delete"), size="sm", variant="stop",
                                            visible=False, elem_id="confirm-delete")

    def _conversation(self) -> None:
        with gr.Row(elem_id="chat-top"):
            # Hides and shows the conversation list (ui/chat_page.js remembers it).
            self.toggle_list = gr.Button("☰", size="sm", scale=0, min_width=44,
                                         elem_id="toggle-list")
            # New chat, there while the list (which has it) is hidden.
            self.new_chat_top = gr.Button(t("new_chat"), size="sm", scale=0, min_width=100,
                                          elem_id="new-chat-top")
            # The model to answer with, at the top of the chat as in the chat apps people know.
            self.model = gr.Dropdown(choices=[], label=t("model"), show_label=False,
                                     container=False, elem_id="model-choice", min_width=240)
            self.toggle_settings = gr.Button(t("settings_toggle"), size="sm", scale=0,
                                             min_width=44, elem_id="toggle-settings")
        self.chatbot = gr.Chatbot(elem_id="chatbot", height=520, buttons=["copy"],
                                  show_label=False, editable="user",
                                  # ui/chat_page.js follows answers instead: Gradio's
                                  # autoscroll pulled a reader who scrolled up back down.
                                  autoscroll=False,
                                  sanitize_html=True, allow_tags=False,
                                  latex_delimiters=[
                                      {"left": "$$", "right": "$$", "display": True},
                                      {"left": "$", "right": "$", "display": False}])
        with gr.Row():
            self.message = gr.Textbox(placeholder=t("message_placeholder"), show_label=False,
                                      scale=8, elem_id="message", autofocus=True)
            self.send = gr.Button(t("send"), variant="primary", scale=1, elem_id="send")
            self.stop = gr.Button(t("stop"), variant="stop", scale=1, elem_id="stop")

    def _settings(self, settings: Settings) -> None:
        """A narrow column: the preset to start from at the top, what it sets, then managing
        presets at the bottom."""
        self.preset = gr.Dropdown(label=t("preset"), choices=[], elem_id="preset-choice")
        self.system_prompt = gr.Textbox(label=t("system_prompt"), lines=3,
                                        elem_id="system-prompt")
        self.temperature = gr.Slider(0.0, MAX_TEMPERATURE, value=settings.default_temperature,
                                     step=0.05, label=t("temperature"), elem_id="temperature")
        self.max_tokens = gr.Slider(1, settings.max_tokens_limit,
                                    value=settings.default_max_tokens, step=1,
                                    label=t("max_tokens"), elem_id="max-tokens")
        self.preset_name = gr.Textbox(placeholder=t("preset_name"), show_label=False,
                                      elem_id="preset-name")
        with gr.Row():
            self.save_preset = gr.Button(t("save_preset"), size="sm", elem_id="save-preset",
                                         min_width=80)
            self.delete_preset = gr.Button(t("delete_preset"), size="sm", variant="stop",
                                           elem_id="delete-preset", min_width=80)
        self.make_default = gr.Button(t("make_default"), size="sm", elem_id="make-default")

    def load_on(self, demo: gr.Blocks, header: gr.Markdown) -> None:
        """Fill the page header and the tab for the caller when the page loads, then open the
        conversation the address names, else the latest."""
        demo.load(
            self.open_page, [self.saved_sampling],
            [header, self.conversation_list, self.model, self.temperature, self.max_tokens,
             self.chatbot, self.preset, self.system_prompt, self.conversation_id],
            api_visibility="private")
        demo.unload(self.handlers.page_closed)

    @ui_errors
    async def open_page(self, saved: Any, request: gr.Request) -> AsyncIterator[tuple[Any, ...]]:
        """One event, not a `.then` chain of three. Gradio closes a page's event stream when
        none of its events is pending, and its page opens a new one only if it thinks none is
        open: under load a chained step's join was now and then answered before the page had
        read the close, and the landing conversation never arrived. The page is filled at once
        with the conversation it opens on (no welcome flashing first)."""
        header, model, temperature, max_tokens = await self.handlers.on_load(saved, request)
        preset, prompt = await self.presets.load(request)
        lang = request_language(request)
        # A new chat asked for while the landing conversation still streams in stays new.
        updates = self.handlers.while_shown(request, self.handlers.open_landing(request))
        landing = await anext(updates, None)
        if landing is None:  # a new user, or an address naming none of theirs
            shown, opened = welcome(lang), gr.skip()
            listed = await self.handlers.conversation_choices(request, None)
        else:  # the welcome stays set up for a new chat, out of sight
            history, opened, prompt, listed = landing
            shown = welcome(lang, history)
        yield header, listed, model, temperature, max_tokens, shown, preset, prompt, opened
        async for shown, opened, prompt, listed in updates:
            yield (gr.skip(), listed, gr.skip(), gr.skip(), gr.skip(), shown, gr.skip(), prompt,
                   opened)

    @ui_errors
    async def start_new_chat(self, request: gr.Request) -> tuple[Any, ...]:
        """The empty chat and a new chat's settings, in one update: as a step after it, the
        settings landed later and overwrote a value changed in between."""
        emptied = await self.handlers.new_chat(request)
        if emptied is None:  # a conversation clicked meanwhile is what the chat shows
            return (gr.skip(),) * 7
        return (*emptied, *await self.presets.fresh_settings(request))


def build_chat_tab(holder: ServicesHolder, settings: Settings) -> ChatTab:
    """Visible to every signed-in user. Call inside the app's gr.Tabs, then hand the page load
    to ChatTab.load_on."""
    with gr.Tab(t("chat"), id="chat-tab") as tab:
        chat = ChatTab(tab, holder, settings)
        # Registration order names the lambdas (lambda_1, ...) that the authorization matrix
        # test lists: keep it.
        _wire_answers(chat, settings)
        _wire_sidebar(chat, SidebarHandlers(holder))
        _wire_presets(chat)
        chat.conversation_list.input(
            chat.handlers.open_conversation, [chat.conversation_list],
            [chat.chatbot, chat.conversation_id, chat.system_prompt, chat.conversation_list],
            api_visibility="private")
    return chat


def _wire_answers(chat: ChatTab, settings: Settings) -> None:
    """Send, regenerate and edit share the chat concurrency limit; Stop ends any of them."""
    handlers, limit = chat.handlers, settings.chat_concurrency
    inputs = [chat.pending, chat.chatbot, chat.conversation_id, chat.system_prompt,
              chat.temperature, chat.max_tokens, chat.model]
    outputs = [chat.chatbot, chat.conversation_id, chat.conversation_list]
    # The text moves from the box to `pending` at once (the box is free for the next one),
    # typed and sent, a suggestion of the empty chat or "Continue" under a cut-off answer.
    sending = [
        chat.message.submit(handlers.send, [chat.message], [chat.message, chat.pending],
                            queue=False, api_visibility="private"),
        chat.send.click(handlers.send, [chat.message], [chat.message, chat.pending],
                        queue=False, api_visibility="private"),
        chat.chatbot.example_select(handlers.suggestion, None, [chat.message, chat.pending],
                                    queue=False, api_visibility="private"),
        chat.chatbot.option_select(handlers.suggestion, None, [chat.message, chat.pending],
                                   queue=False, api_visibility="private"),
    ]
    chat_events = [
        sent.then(handlers.respond, inputs, [*outputs, chat.message], show_progress_on=outputs,
                  api_visibility="private", concurrency_limit=limit, concurrency_id="chat")
        for sent in sending
    ]
    for event in chat_events:  # after a profile switch, the picker names the active model
        # Not queued: a plain request after each answer, no queue slot or event stream.
        event.then(handlers.model_choice, [chat.model], [chat.model], queue=False,
                   api_visibility="private", show_progress="hidden")
    settings_inputs = [chat.system_prompt, chat.temperature, chat.max_tokens, chat.model]
    # Retry and an edit are asked for before they join the queue, so Stop covers them there.
    chat.chatbot.retry(handlers.ask_again, None, None, queue=False,
                       api_visibility="private").then(
        handlers.regenerate, [chat.conversation_id, *settings_inputs], outputs,
        api_visibility="private", concurrency_limit=limit, concurrency_id="chat")
    chat.chatbot.edit(handlers.ask_edit, [chat.chatbot], [chat.pending_edit], queue=False,
                      api_visibility="private").then(
        handlers.edit, [chat.pending_edit, chat.conversation_id, *settings_inputs], outputs,
        api_visibility="private", concurrency_limit=limit, concurrency_id="chat")
    # Not Gradio's `cancels=` (ui/page_answers.py says why): the answering events end from
    # the inside, and complete like any other.
    chat.stop.click(handlers.stop, [chat.conversation_id], [chat.chatbot, chat.conversation_list],
                    api_visibility="private")


def _wire_sidebar(chat: ChatTab, sidebar: SidebarHandlers) -> None:
    chat.toggle_list.click(None, js="() => window.vllmChat.toggleList()", api_visibility="private")
    chat.toggle_settings.click(None, js="() => window.vllmChat.toggleSettings()",
                               api_visibility="private")
    chat.new_chat_top.click(None, js="() => document.querySelector('#new-chat').click()",
                            api_visibility="private")
    chat.conversation_list.change(None, [chat.conversation_list], None, js=ADDRESS_JS,
                                  api_visibility="private")
    chat.conversation_list.change(sidebar.current_title, [chat.conversation_list],
                                  [chat.new_title], api_visibility="private",
                                  show_progress="hidden")
    chat.search.change(sidebar.search, [chat.search, chat.conversation_id],
                       [chat.conversation_list], api_visibility="private",
                       trigger_mode="always_last", show_progress="hidden")
    chat.rename.click(sidebar.rename, [chat.conversation_id, chat.new_title, chat.search],
                      [chat.conversation_list, chat.new_title], api_visibility="private")
    chat.delete.click(lambda: gr.Button(visible=True), None, chat.confirm_delete,
                      api_visibility="private")
    chat.confirm_delete.click(sidebar.delete, [chat.conversation_id, chat.search],
                              [chat.conversation_list, chat.chatbot, chat.conversation_id,
                               chat.confirm_delete], api_visibility="private")
    # Queued, as the streams it ends: the emptied chat reaches the page after their last update.
    chat.new_chat.click(chat.start_new_chat, None,
                        [chat.chatbot, chat.conversation_id, chat.conversation_list,
                         chat.system_prompt, chat.temperature, chat.max_tokens, chat.preset],
                        api_visibility="private", concurrency_limit=None,
                        show_progress="hidden")
    # The page's script presses it while the list shows an answer running (⏳) that nothing
    # streams into the chat: its mark then goes once it has ended.
    chat.refresh_list.click(sidebar.refresh_list, [chat.search],
                            [chat.conversation_list], api_visibility="private",
                            show_progress="hidden", trigger_mode="always_last")


def _wire_presets(chat: ChatTab) -> None:
    presets = chat.presets
    # Whatever sets them (the user, a preset, New chat, the page's load), in the browser only.
    shown: list[gr.Dropdown | gr.Slider] = [chat.model, chat.temperature, chat.max_tokens]
    for control in shown:
        control.change(None, shown, chat.saved_sampling, api_visibility="private",
                       js="(model, temperature, max_tokens) => ({model, temperature, max_tokens})")
    chat.preset.input(presets.apply, [chat.preset],
                      [chat.system_prompt, chat.temperature, chat.max_tokens],
                      api_visibility="private")
    chat.save_preset.click(presets.save,
                           [chat.preset_name, chat.system_prompt, chat.temperature,
                            chat.max_tokens], [chat.preset, chat.preset_name],
                           api_visibility="private")
    chat.make_default.click(presets.make_default, [chat.system_prompt], None,
                            api_visibility="private")
    chat.delete_preset.click(presets.delete_preset, [chat.preset], [chat.preset],
                             api_visibility="private")
