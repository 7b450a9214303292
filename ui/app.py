"""The Gradio Blocks: the page assembled from its tabs, and what runs when it loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from errors import PermissionDenied
from services import ServicesHolder
from settings import Settings
from ui.api_endpoints import register_api
from ui.base import ui_errors
from ui.chat import build_chat_tab
from ui.fair_queue import install_queue
from ui.gpu import build_gpu_tab, stop_refreshing_on
from ui.i18n import t
from ui.keys import build_keys_tab
from ui.models import build_models_tab
from ui.usage import build_usage_tab
from ui.users import build_users_tab

# Run once on each page: following answers, Enter in the edit box (see the file).
JS = (Path(__file__).parent / "chat_page.js").read_text(encoding="utf-8")

CSS = """
#conversation-list .wrap { flex-direction: column; }
#refresh-list, #edit-replaces-later { display: none !important; }
#conversation-list label { width: 100%; }
/* Gradio's trash icon above the chat emptied the screen but left the conversation selected;
   New chat is the way to a new chat. */
#chatbot .top-panel { display: none; }
/* Gradio sizes a message's edit box to the message (a short one gave 160 x 64 px). */
#chatbot .message-row:has(.edit-textarea) { width: min(40rem, calc(100% - 60px)); }
#chatbot .message-row:has(.edit-textarea) :is(.flex-wrap, .message) { width: 100%; }
#chatbot .edit-textarea { width: 100% !important; min-height: 6rem !important; }
/* "Continue" under an answer cut off at the length limit: beside the answer, the size of a
   button, not a card at the far right like Gradio's options. */
#chatbot .options { margin-left: 0; grid-template-columns: max-content; justify-content: start;
                    padding: var(--spacing-sm) 0 var(--spacing-lg) 20px; }
#chatbot .option { padding: var(--spacing-md) var(--spacing-xxl); }
/* The typing indicator of an answer before its first token (ui/chat_view.TYPING); its
   message has no copy or retry buttons yet. */
#chatbot .typing { display: inline-flex; gap: 4px; padding: 4px 0; }
#chatbot .typing span { width: 7px; height: 7px; border-radius: 50%;
                        background: var(--body-text-color-subdued);
                        animation: typing 1.2s infinite ease-in-out; }
#chatbot .typing span:nth-child(2) { animation-delay: 0.2s; }
#chatbot .typing span:nth-child(3) { animation-delay: 0.4s; }
@keyframes typing { 0%, 80%, 100% { opacity: 0.25; } 40% { opacity: 1; } }
#chatbot .message-row:has(.typing) + .message-buttons-left { display: none; }
/* One Send/Stop button: Stop while an event streams into the chat (Gradio then shows the
   chat's progress tracker: an answer sent from this page, or one followed after a reload or
   from the list), Send otherwise; and Send while the page loads (its load streams into the chat
   too: Stop flickered there), unless it lands on a running answer (ui/chat_page.js). */
body.page-loaded #chat-main:has(#chatbot > .wrap:not(.hide)) #send { display: none; }
#chat-main:not(:has(#chatbot > .wrap:not(.hide))) #stop,
body:not(.page-loaded) #stop { display: none; }
/* ☰ hides the conversation list and the chat takes the width (ui/chat_page.js). */
body.list-hidden #chat-sidebar, body:not(.list-hidden) #new-chat-top { display: none !important; }
#chat-top { align-items: center; gap: var(--spacing-md); flex-wrap: nowrap; }
#toggle-list { flex-grow: 0; font-size: 1.1rem; }
#new-chat-top { flex-grow: 0; white-space: nowrap; }
#chat-top button { min-height: 40px; }
/* The settings beside the chat, shown by ⚙ (ui/chat_page.js). */
body:not(.settings-open) #chat-settings:not(.drawer-open) { display: none !important; }
#toggle-settings { flex: 0 0 auto; min-width: max-content !important; white-space: nowrap;
                   margin-left: auto; padding: 0 var(--spacing-lg); }
/* The model picker above the chat: as wide as a model's name, not the whole column. */
#model-choice { max-width: 22rem; margin-left: 0 !important; }
/* The footer keeps one link (footer_links=["api"]); the separator Gradio puts after it stood
   alone. */
footer .divider { display: none; }
/* The conversation list's date headings (Today, Yesterday, ...): entries of its radio group
   (ui/sidebar.py) shown as headings, not choices. */
#conversation-list label:has(input[value^="group:"]) {
  pointer-events: none; border: none !important; background: none !important;
  box-shadow: none !important; padding: var(--spacing-md) 0 0 var(--spacing-xs) !important;
  font-size: var(--text-sm); font-weight: 600; color: var(--body-text-color-subdued); }
#conversation-list label:has(input[value^="group:"]) input { display: none; }
/* Each entry's ⋯ (rename or delete, ui/chat_page.js): at its right, shown on hover or focus,
   and always where there is no hover (a phone). */
#conversation-list label { position: relative; padding-right: 2rem !important; }
#conversation-list .entry-actions {
  position: absolute; right: 4px; top: 50%; transform: translateY(-50%);
  border: none; background: none; cursor: pointer; padding: 2px 6px; border-radius: 6px;
  font-size: 1.1rem; line-height: 1; color: var(--body-text-color-subdued); opacity: 0; }
#conversation-list label:is(:hover, :focus-within, :has(input:checked)) .entry-actions,
#conversation-list .entry-actions:focus-visible { opacity: 1; }
#conversation-list .entry-actions:hover { background: var(--background-fill-secondary); }
#conversation-list .entry-actions::before { content: "⋯"; }  /* not in the entry's text */
@media (hover: none) { #conversation-list .entry-actions { opacity: 1; } }
/* Toasts: Gradio heads them with their type in English ("Warning") whatever the page's
   language and the title it is given; the icon says the same in every language. */
.toast-body .toast-title { display: none !important; }
/* Table headers wrap between words, never inside one ("Toke" / "ns"). */
th .header-content > span { word-break: normal !important; overflow-wrap: normal !important; }
/* On a phone: the chat and its message box first and on one screen, the conversations under
   them, a one-line header. */
@media (max-width: 640px) {
  #app-title { display: none; }
  #app-header { flex-wrap: nowrap; gap: 8px; }
  #user-header { font-size: 0.8rem; min-width: 0; }
  #user-header p { margin: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  #chat-main { order: 1; }
  /* The conversations (☰) and the settings (⚙): drawers over the chat, from the left and the
     right (ui/chat_page.js); New chat sits beside ☰ meanwhile. Gradio scopes the rules in
     here to its container: no `body`. */
  #chat-sidebar, #chat-settings { display: none !important; }
  #chat-sidebar.drawer-open, #chat-settings.drawer-open {
    display: flex !important; position: fixed; top: 0; bottom: 0; width: 85vw;
    z-index: 1000; overflow-y: auto; padding: var(--spacing-xl);
    background: var(--background-fill-primary); box-shadow: 0 0 24px rgba(0, 0, 0, 0.25); }
  #chat-sidebar.drawer-open { left: 0; }
  #chat-settings.drawer-open { right: 0; }
  #chat-top #new-chat-top { display: flex !important; flex: 0 0 auto !important;
                            min-width: max-content !important; }
  #chat-top #model-choice { min-width: 0 !important; flex: 1 1 0; }
  #chatbot { height: calc(100dvh - 300px) !important; min-height: 300px; }
  /* ⚙ alone, for room. */
  #chat-top #toggle-settings { font-size: 0; min-width: 44px !important; flex: 0 0 auto !important; }
  #chat-top #toggle-settings::before { content: "⚙"; font-size: 1.1rem; }
}
"""


def build_blocks(holder: ServicesHolder, settings: Settings) -> gr.Blocks:
    # No analytics: Gradio's default version check and telemetry would reach Hugging Face's
    # servers from a team's private network at every start.
    with gr.Blocks(title="vLLM Chat", analytics_enabled=False) as demo:
        with gr.Row(equal_height=True, elem_id="app-header"):
            gr.Markdown("## vLLM Chat", elem_id="app-title")
            header = gr.Markdown(elem_id="user-header")
            # A link button in this tab: the header's Markdown opened links in a new one,
            # which left this tab looking signed in.
            gr.Button(t("sign_out"), link="logout", link_target="_self", size="sm",
                      variant="secondary", scale=0, min_width=100, elem_id="sign-out")
        with gr.Tabs(elem_id="tabs"):
            chat = build_chat_tab(holder, settings)
            models_tab, models_timer, admin_loaders = build_models_tab(holder)
            usage_tab = build_usage_tab(holder)
            gpu_tab, gpu_timer = build_gpu_tab(holder)
            keys_tab = build_keys_tab(holder)
            users_tab, user_loaders = build_users_tab(holder)
        stop_refreshing_on([chat.tab, models_tab, usage_tab, keys_tab, users_tab], gpu_timer)
        stop_refreshing_on([chat.tab, usage_tab, gpu_tab, keys_tab, users_tab], models_timer)
        chat.load_on(demo, header)
        _load_admin_tabs(demo, holder, [models_tab, users_tab], [*admin_loaders, *user_loaders])
        register_api(demo, holder, settings, chat.handlers)
    demo.max_threads = max(40, settings.chat_concurrency * 2)
    install_queue(demo, settings)
    return demo


def _load_admin_tabs(demo: gr.Blocks, holder: ServicesHolder, tabs: list[gr.Tab],
                     loaders: list[tuple[Any, list[Any]]]) -> None:
    """Show the admin-only tabs to admins when the page loads, then fill them."""

    async def admin_view(request: gr.Request) -> Any:
        user = await holder.get().auth.user_by_name(request.username)
        return tuple(gr.Tab(visible=user.is_admin) for _ in tabs)

    demo.load(admin_view, None, tabs, api_visibility="private").then(
        *_chain_loaders(loaders), api_visibility="private")


def _chain_loaders(loaders: list[tuple[Any, list[Any]]]) -> tuple[Any, None, list[Any]]:
    """One event that fills the admin tab, skipped (not refused) for other users."""
    outputs = [component for _, components in loaders for component in components]

    @ui_errors  # the loaders it calls raise their refusals to it
    async def load_all(request: gr.Request) -> tuple[Any, ...]:
        results: list[Any] = []
        for loader, components in loaders:
            try:
                value = await loader(request)
            except PermissionDenied:
                value = tuple(gr.skip() for _ in components)
            results.extend(value)
        return tuple(results)

    return load_all, None, outputs

