"""The Gradio Blocks: layout and event wiring only."""

from __future__ import annotations

from typing import Any

import gradio as gr

from services import ServicesHolder
from settings import Settings
from ui.chat import ChatHandlers
from ui.fair_queue import install_queue
from ui.gpu import build_gpu_tab, stop_refreshing_on
from ui.i18n import t
from ui.keys import build_keys_tab
from ui.models import build_models_tab
from ui.presets import PresetHandlers
from ui.sidebar import SidebarHandlers
from ui.usage import build_usage_tab
from ui.users import build_users_tab

CSS = """
#conversation-list .wrap { flex-direction: column; }
#conversation-list label { width: 100%; }
"""


def build_blocks(holder: ServicesHolder, settings: Settings) -> gr.Blocks:
    handlers = ChatHandlers(holder)
    with gr.Blocks(title="vLLM Chat") as demo:
        with gr.Row():
            gr.Markdown("## vLLM Chat")
            header = gr.Markdown(elem_id="user-header")
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab(t("chat"), id="chat-tab") as chat_tab:
                preset_handlers = PresetHandlers(holder)
                chat = _chat_tab(handlers, SidebarHandlers(holder), preset_handlers, settings)
            models_tab, models_timer, admin_loaders = build_models_tab(holder)
            usage_tab = build_usage_tab(holder)
            gpu_tab, gpu_timer = build_gpu_tab(holder)
            keys_tab = build_keys_tab(holder)
            users_tab, user_loaders = build_users_tab(holder)
        stop_refreshing_on([chat_tab, models_tab, usage_tab, keys_tab, users_tab], gpu_timer)
        stop_refreshing_on([chat_tab, usage_tab, gpu_tab, keys_tab, users_tab], models_timer)
        demo.load(handlers.on_load, None,
                  [header, chat["conversation_list"], chat["model"], chat["temperature"],
                   chat["max_tokens"]], api_visibility="private")
        demo.load(preset_handlers.load, None, [chat["preset"], chat["system_prompt"]],
                  api_visibility="private")
        async def admin_view(request: gr.Request) -> Any:
            user = await holder.get().auth.user_by_name(request.username)
            return gr.Tab(visible=user.is_admin), gr.Tab(visible=user.is_admin)

        demo.load(admin_view, None, [models_tab, users_tab], api_visibility="private").then(
            *_chain_loaders([*admin_loaders, *user_loaders]), api_visibility="private")
        gr.api(handlers.chat_api, api_name="chat", concurrency_limit=settings.chat_concurrency,
               concurrency_id="chat")
    demo.max_threads = max(40, settings.chat_concurrency * 2)
    install_queue(demo, settings)
    return demo


def _chain_loaders(loaders: list[tuple[Any, list[Any]]]) -> tuple[Any, None, list[Any]]:
    """One event that fills the admin tab, skipped (not refused) for other users."""
    outputs = [component for _, components in loaders for component in components]

    async def load_all(request: gr.Request) -> tuple[Any, ...]:
        results: list[Any] = []
        for loader, components in loaders:
            try:
                value = await loader(request)
            except gr.Error:
                value = tuple(gr.skip() for _ in components)
            results.extend(value)
        return tuple(results)

    return load_all, None, outputs


def _chat_tab(handlers: ChatHandlers, sidebar: SidebarHandlers, presets: PresetHandlers,
              settings: Settings) -> dict[str, Any]:
    conversation_id = gr.State(None)
    pending = gr.State("")
    with gr.Row():
        with gr.Column(scale=1, min_width=220):
            new_chat = gr.Button(t("new_chat"), elem_id="new-chat", variant="secondary")
            search = gr.Textbox(placeholder=t("search"), show_label=False,
                                elem_id="conversation-search")
            conversation_list = gr.Radio(label=t("recent"), choices=[],
                                         elem_id="conversation-list")
            with gr.Accordion(t("rename_or_delete"), open=False):
                new_title = gr.Textbox(label=t("new_title"), elem_id="new-title")
                with gr.Row():
                    rename = gr.Button(t("rename"), size="sm", elem_id="rename-conversation")
                    delete = gr.Button(t("delete"), size="sm", variant="stop",
                                       elem_id="delete-conversation")
                confirm_delete = gr.Button(t("confirm_delete"),
                                           size="sm", variant="stop", visible=False,
                                           elem_id="confirm-delete")
        with gr.Column(scale=4):
            chatbot = gr.Chatbot(elem_id="chatbot", height=520, buttons=["copy"],
                                 show_label=False, editable="user",
                                 sanitize_html=True, allow_tags=False,
                                 latex_delimiters=[{"left": "$$", "right": "$$", "display": True},
                                                   {"left": "$", "right": "$", "display": False}])
            with gr.Row():
                message = gr.Textbox(placeholder=t("message_placeholder"),
                                     show_label=False, scale=8, elem_id="message", autofocus=True)
                send = gr.Button(t("send"), variant="primary", scale=1, elem_id="send")
                stop = gr.Button(t("stop"), variant="stop", scale=1, elem_id="stop")
            with gr.Accordion(t("settings"), open=False):
                model = gr.Dropdown(label=t("model"), choices=[], elem_id="model-choice")
                preset = gr.Dropdown(label=t("preset"), choices=[], elem_id="preset-choice")
                system_prompt = gr.Textbox(label=t("system_prompt"), lines=3, elem_id="system-prompt")
                temperature = gr.Slider(0.0, 2.0, value=settings.default_temperature, step=0.05,
                                        label=t("temperature"))
                max_tokens = gr.Slider(1, settings.max_tokens_limit,
                                       value=settings.default_max_tokens, step=1,
                                       label=t("max_tokens"))
                with gr.Row():
                    preset_name = gr.Textbox(placeholder=t("preset_name"), show_label=False,
                                             elem_id="preset-name", scale=2)
                    save_preset = gr.Button(t("save_preset"), size="sm", elem_id="save-preset",
                                            scale=1)
                    make_default = gr.Button(t("make_default"), size="sm",
                                             elem_id="make-default", scale=1)

    inputs = [pending, chatbot, conversation_id, system_prompt, temperature, max_tokens, model]
    outputs = [chatbot, conversation_id, conversation_list]
    chat_events = [
        trigger(lambda text: ("", text), [message], [message, pending], queue=False,
                api_visibility="private")
        .then(handlers.respond, inputs, [*outputs, message], show_progress_on=outputs,
              api_visibility="private",
              concurrency_limit=settings.chat_concurrency, concurrency_id="chat")
        for trigger in (message.submit, send.click)
    ]
    settings_inputs = [system_prompt, temperature, max_tokens, model]
    chat_events.append(chatbot.retry(
        handlers.regenerate, [conversation_id, *settings_inputs], outputs,
        api_visibility="private", concurrency_limit=settings.chat_concurrency,
        concurrency_id="chat"))
    chat_events.append(chatbot.edit(
        handlers.edit, [chatbot, conversation_id, *settings_inputs], outputs,
        api_visibility="private", concurrency_limit=settings.chat_concurrency,
        concurrency_id="chat"))
    stop.click(handlers.stop, [conversation_id], [conversation_list],
               cancels=chat_events, api_visibility="private")
    search.change(sidebar.search, [search, conversation_id], [conversation_list],
                  api_visibility="private", trigger_mode="always_last", show_progress="hidden")
    rename.click(sidebar.rename, [conversation_id, new_title, search],
                 [conversation_list, new_title], api_visibility="private")
    delete.click(lambda: gr.Button(visible=True), None, confirm_delete, api_visibility="private")
    confirm_delete.click(sidebar.delete, [conversation_id, search],
                         [conversation_list, chatbot, conversation_id, confirm_delete],
                         api_visibility="private")
    chatbot.clear(lambda: None, None, conversation_id, api_visibility="private")
    new_chat.click(lambda: ([], None, gr.Radio(value=None)), None,
                   [chatbot, conversation_id, conversation_list], api_visibility="private").then(
        presets.default_prompt, None, system_prompt, api_visibility="private")
    preset.input(presets.apply, [preset], [system_prompt, temperature, max_tokens],
                 api_visibility="private")
    save_preset.click(presets.save, [preset_name, system_prompt, temperature, max_tokens],
                      [preset, preset_name], api_visibility="private")
    make_default.click(presets.make_default, [system_prompt], None, api_visibility="private")
    conversation_list.input(handlers.open_conversation, [conversation_list],
                            [chatbot, conversation_id, system_prompt], api_visibility="private")
    return {"conversation_list": conversation_list, "model": model, "preset": preset,
            "system_prompt": system_prompt, "temperature": temperature, "max_tokens": max_tokens}
