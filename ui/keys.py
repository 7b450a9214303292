"""The "API keys" tab: personal keys for /v1 and the REST API. A key is shown once."""

from __future__ import annotations

from typing import Any

import gradio as gr

from errors import AppError
from services import ServicesHolder
from ui.base import Handlers
from ui.errors import as_gradio_error
from ui.i18n import t

KEY_COLUMNS = ["Id", "Name", "Starts with", "Created", "Revoked"]


class KeyHandlers(Handlers):
    async def table(self, request: gr.Request) -> tuple[list[list[Any]], Any]:
        keys = await self.services.auth.list_keys(await self.user(request))
        rows = [[k["id"], k["name"], f"{k['prefix']}…", f"{k['created_at']:%Y-%m-%d %H:%M}",
                 f"{k['revoked_at']:%Y-%m-%d %H:%M}" if k["revoked_at"] else ""] for k in keys]
        active = [(f"{k['name']} ({k['prefix']}…)", k["id"]) for k in keys if not k["revoked_at"]]
        return rows, gr.Dropdown(choices=active, value=None)

    async def create(self, name: str, request: gr.Request) -> tuple[str, list[list[Any]], Any]:
        try:
            _, key = await self.services.auth.create_key(await self.user(request), name or "")
        except AppError as exc:
            raise as_gradio_error(exc) from exc
        rows, choices = await self.table(request)
        return key, rows, choices

    async def revoke(self, key_id: int | None, request: gr.Request) -> tuple[list[list[Any]], Any]:
        if key_id is None:
            raise gr.Error("Choose a key to revoke")
        try:
            await self.services.auth.revoke_key(await self.user(request), int(key_id))
        except AppError as exc:
            raise as_gradio_error(exc) from exc
        return await self.table(request)

    async def change_password(self, current: str, new: str, request: gr.Request) -> None:
        """Every session of the account ends, this page's too: it goes to the sign-in page."""
        try:
            await self.services.accounts.change_own_password(
                await self.user(request), current or "", new or "")
        except AppError as exc:
            raise as_gradio_error(exc, request) from exc


def build_keys_tab(holder: ServicesHolder) -> gr.Tab:
    handlers = KeyHandlers(holder)
    with gr.Tab(t("keys"), id="keys-tab") as tab:
        gr.Markdown("Keys let programs use `/v1` (the OpenAI API) and the REST API as you. "
                    "A new key is shown **once**: copy it now.")
        with gr.Row():
            name = gr.Textbox(label="Name", placeholder="e.g. laptop script", elem_id="key-name",
                              scale=3)
            create = gr.Button("Create key", variant="primary", elem_id="create-key", scale=1)
        shown = gr.Textbox(label="Your new key", interactive=False, buttons=["copy"],
                           elem_id="new-key")
        table = gr.Dataframe(headers=KEY_COLUMNS, interactive=False, elem_id="keys-table")
        with gr.Row():
            choice = gr.Dropdown(label="Revoke a key", choices=[], elem_id="revoke-choice",
                                 scale=3)
            revoke = gr.Button("Revoke", variant="stop", elem_id="revoke-key", scale=1)
        with gr.Accordion(t("change_password"), open=False), gr.Row(equal_height=True):
            current = gr.Textbox(label=t("current_password"), type="password",
                                 elem_id="current-password", scale=2)
            new = gr.Textbox(label=t("new_password"), type="password",
                             elem_id="new-password", scale=2)
            change = gr.Button(t("change_password"), elem_id="change-password", scale=1)
    change.click(handlers.change_password, [current, new], None, api_visibility="private").success(
        None, None, None, js="() => { window.location.href = '/login'; }")
    tab.select(handlers.table, None, [table, choice], api_visibility="private")
    create.click(handlers.create, [name], [shown, table, choice], api_visibility="private")
    revoke.click(handlers.revoke, [choice], [table, choice], api_visibility="private")
    return tab
