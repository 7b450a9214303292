"""The "API keys" tab: personal keys for /v1 and the REST API. A key is shown once; revoking
asks first; the tab says how to use a key with this app."""

from __future__ import annotations

import json
import shlex
from typing import Any

import gradio as gr
import pandas as pd

from auth.accounts import AccountService
from services import ServicesHolder
from ui.base import Handlers, ui_errors
from ui.errors import Refusal
from ui.i18n import headers, request_language, t, text

KEY_COLUMN_KEYS = ["keys_col_id", "keys_col_name", "keys_col_prefix", "keys_col_created",
                   "keys_col_revoked"]
KEY_COLUMNS = headers(KEY_COLUMN_KEYS)  # as the table starts before its first load
KEY_VARIABLE = "VLLM_CHAT_KEY"  # where the examples read the key from: not in a script


def app_address(request: gr.Request) -> str:
    """This app's address as the browser reached it, without a trailing slash: its Host header
    and the scheme uvicorn believed (X-Forwarded-Proto only from FORWARDED_ALLOW_IPS)."""
    return str(request.base_url).rstrip("/")


def usage_markdown(base_url: str, model: str, lang: str) -> str:
    """How to call /v1/chat/completions with a key: curl, then the openai Python SDK."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Hello!"}]})
    curl = (f'export {KEY_VARIABLE}="vck_…"  # {text("keys_usage_paste", lang)}\n'
            f"curl {base_url}/chat/completions \\\n"
            f'  -H "Authorization: Bearer ${KEY_VARIABLE}" \\\n'
            f'  -H "Content-Type: application/json" \\\n'
            f"  -d {shlex.quote(body)}")
    sdk = ("import os\n\nfrom openai import OpenAI\n\n"
           f'client = OpenAI(base_url="{base_url}", api_key=os.environ["{KEY_VARIABLE}"])\n'
           "reply = client.chat.completions.create(\n"
           f'    model={json.dumps(model)}, messages=[{{"role": "user", "content": "Hello!"}}])\n'
           "print(reply.choices[0].message.content)")
    intro = text("keys_usage_intro", lang, base_url=f"`{base_url}`", model=f"`{model}`")
    return (f"{intro}\n\n```bash\n{curl}\n```\n\n{text('keys_usage_sdk', lang)}\n\n"
            f"```python\n{sdk}\n```")


class KeyHandlers(Handlers):
    @property
    def accounts(self) -> AccountService:
        return self.services.accounts

    @ui_errors
    async def table(self, request: gr.Request) -> tuple[pd.DataFrame, Any]:
        """The caller's keys, with headers in the caller's language."""
        keys = await self.auth.list_keys(await self.user(request))
        rows = [[k["id"], k["name"], f"{k['prefix']}…", f"{k['created_at']:%Y-%m-%d %H:%M}",
                 f"{k['revoked_at']:%Y-%m-%d %H:%M}" if k["revoked_at"] else ""] for k in keys]
        active = [(f"{k['name']} ({k['prefix']}…)", k["id"]) for k in keys if not k["revoked_at"]]
        return (pd.DataFrame(rows, columns=headers(KEY_COLUMN_KEYS, request_language(request))),
                gr.Dropdown(choices=active, value=None))

    @ui_errors
    async def create(self, name: str, request: gr.Request) -> tuple[str, str, pd.DataFrame, Any]:
        """The new key (shown once), an emptied name box, and the table."""
        _, key = await self.auth.create_key(await self.user(request), name or "")
        rows, choices = await self.table(request)
        return key, "", rows, choices

    @ui_errors
    async def ask_revoke(self, key_id: int | None, request: gr.Request) -> Any:
        """Revoke only asks: it shows the button that revokes."""
        if key_id is None:
            raise Refusal("choose_key")
        return gr.Button(visible=True)

    @ui_errors
    async def revoke(self, key_id: int | None,
                     request: gr.Request) -> tuple[pd.DataFrame, Any, str, Any]:
        """The confirmed revocation: the table, an emptied secret box (no revoked key stays
        on screen) and the confirm button hidden again."""
        if key_id is None:
            raise Refusal("choose_key")
        await self.auth.revoke_key(await self.user(request), int(key_id))
        rows, choices = await self.table(request)
        return rows, choices, "", gr.Button(visible=False)

    @ui_errors
    async def how_to_use(self, request: gr.Request) -> str:
        """The usage block: this app's /v1 and the active profile's model, in examples."""
        model = self.services.engine.profile.served_model_name
        return usage_markdown(f"{app_address(request)}/v1", model, request_language(request))

    @ui_errors
    async def change_password(self, current: str, new: str, request: gr.Request) -> None:
        """Every session of the account ends, this page's too: it goes to the sign-in page."""
        await self.accounts.change_own_password(
            await self.user(request), current or "", new or "")


def build_keys_tab(holder: ServicesHolder) -> gr.Tab:
    handlers = KeyHandlers(holder)
    with gr.Tab(t("keys"), id="keys-tab") as tab:
        gr.Markdown(t("keys_intro"))
        with gr.Row():
            name = gr.Textbox(label=t("key_name"), placeholder=t("key_name_placeholder"),
                              elem_id="key-name", scale=3)
            create = gr.Button(t("create_key"), variant="primary", elem_id="create-key", scale=1)
        shown = gr.Textbox(label=t("new_key"), interactive=False, buttons=["copy"],
                           elem_id="new-key")
        table = gr.Dataframe(headers=KEY_COLUMNS, interactive=False, elem_id="keys-table")
        with gr.Row():
            choice = gr.Dropdown(label=t("revoke_choice"), choices=[], elem_id="revoke-choice",
                                 scale=3)
            revoke = gr.Button(t("revoke"), variant="stop", elem_id="revoke-key", scale=1)
            confirm = gr.Button(t("confirm_revoke"), variant="stop", visible=False,
                                elem_id="confirm-revoke-key", scale=1)
        with gr.Accordion(t("keys_usage_title"), open=True, elem_id="key-usage-accordion"):
            usage = gr.Markdown(elem_id="key-usage")
        with gr.Accordion(t("change_password"), open=False), gr.Row(equal_height=True):
            current = gr.Textbox(label=t("current_password"), type="password",
                                 elem_id="current-password", scale=2)
            new = gr.Textbox(label=t("new_password"), type="password",
                             elem_id="new-password", scale=2)
            change = gr.Button(t("change_password"), elem_id="change-password", scale=1)
    change.click(handlers.change_password, [current, new], None, api_visibility="private").success(
        None, None, None, js="() => { window.location.href = '/login'; }")
    tab.select(handlers.table, None, [table, choice], api_visibility="private")
    tab.select(handlers.how_to_use, None, usage, api_visibility="private")
    create.click(handlers.create, [name], [shown, name, table, choice], api_visibility="private")
    revoke.click(handlers.ask_revoke, [choice], confirm, api_visibility="private")
    confirm.click(handlers.revoke, [choice], [table, choice, shown, confirm],
                  api_visibility="private")
    return tab
