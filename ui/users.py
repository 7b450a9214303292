"""The admin-only Users tab: add colleagues, change their role, disable, reset or delete them.
Every handler checks the caller's role on the server (AccountService does it again)."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from auth.accounts import AccountChange, AccountService
from services import ServicesHolder
from ui.base import Handlers, ui_errors
from ui.errors import Refusal
from ui.i18n import headers, request_language, role_text, t, text

USER_COLUMN_KEYS = ["users_col_id", "users_col_username", "users_col_role", "users_col_status",
                    "users_col_created", "users_col_last_answer"]
USER_COLUMNS = headers(USER_COLUMN_KEYS)  # as the table starts before its first load


def _state(disabled: bool, lang: str) -> str:
    return text("state_disabled" if disabled else "state_active", lang)


class UserHandlers(Handlers):
    @property
    def accounts(self) -> AccountService:
        return self.services.accounts

    @ui_errors
    async def table(self, request: gr.Request) -> tuple[pd.DataFrame, Any]:
        """The accounts, with headers, roles and states in the caller's language."""
        admin = await self.admin(request)
        accounts = await self.accounts.list(admin)
        lang = request_language(request)
        rows = [[a["id"], a["username"], role_text(a["role"], lang), _state(a["disabled"], lang),
                 f"{a['created_at']:%Y-%m-%d}",
                 f"{a['last_active_at']:%Y-%m-%d %H:%M}" if a["last_active_at"] else ""]
                for a in accounts]
        choices = [(f"{a['username']} ({role_text(a['role'], lang)})", a["id"]) for a in accounts]
        return (pd.DataFrame(rows, columns=headers(USER_COLUMN_KEYS, lang)),
                gr.Dropdown(choices=choices, value=None))

    @ui_errors
    async def create(self, username: str, password: str, role: str,
                     request: gr.Request) -> tuple[str, str, str, pd.DataFrame, Any]:
        admin = await self.admin(request)
        user = await self.accounts.create(admin, username or "", password or "", role)
        rows, choices = await self.table(request)
        lang = request_language(request)
        message = text("user_added", lang, name=user.username, role=role_text(user.role, lang))
        return message, "", "", rows, choices

    @ui_errors
    async def change(self, user_id: int | None, change: AccountChange,
                     request: gr.Request) -> tuple[str, pd.DataFrame, Any]:
        admin = await self.admin(request)
        _chosen(user_id, request)
        user = await self.accounts.update(admin, int(user_id or 0), change)
        lang = request_language(request)
        rows, choices = await self.table(request)
        message = text("user_changed", lang, name=user.username, role=role_text(user.role, lang),
                       state=_state(user.disabled, lang))
        return message, rows, choices

    @ui_errors
    async def delete(self, user_id: int | None,
                     request: gr.Request) -> tuple[str, pd.DataFrame, Any, Any]:
        admin = await self.admin(request)
        _chosen(user_id, request)
        name = await self.accounts.delete(admin, int(user_id or 0))
        rows, choices = await self.table(request)
        message = text("user_deleted", request_language(request), name=name)
        return message, rows, choices, gr.Button(visible=False)


def _chosen(user_id: int | None, request: gr.Request) -> None:
    if user_id is None:
        raise Refusal("choose_user_first")


def build_users_tab(holder: ServicesHolder) -> tuple[gr.Tab, list[Any]]:
    """The tab, hidden until an admin loads the page, and what to refresh on load."""
    handlers = UserHandlers(holder)
    with gr.Tab(t("users"), id="users-tab", visible=False) as tab:
        table = gr.Dataframe(headers=USER_COLUMNS, interactive=False, elem_id="users-table")
        result = gr.Markdown(elem_id="users-result")
        with gr.Row(equal_height=True):
            username = gr.Textbox(label=t("username"), elem_id="new-username", scale=2)
            password = gr.Textbox(label=t("password"), type="password",
                                  elem_id="new-user-password", scale=2)
            # Words translated in the browser; the values stay roles (test_i18n_keys).
            role = gr.Dropdown(label=t("role"), value="user",
                               choices=[(t("role_user"), "user"), (t("role_admin"), "admin")],
                               elem_id="new-user-role", scale=1)
            add = gr.Button(t("add_user"), variant="primary", elem_id="add-user", scale=1)
        with gr.Row(equal_height=True):
            chosen = gr.Dropdown(label=t("choose_user"), choices=[], elem_id="user-choice",
                                 scale=3)
            make_admin = gr.Button(t("make_admin"), size="sm", elem_id="make-admin")
            make_user = gr.Button(t("make_user"), size="sm", elem_id="make-user")
            disable = gr.Button(t("disable"), size="sm", elem_id="disable-user")
            enable = gr.Button(t("enable"), size="sm", elem_id="enable-user")
        with gr.Row(equal_height=True):
            new_password = gr.Textbox(label=t("new_password"), type="password",
                                      elem_id="reset-password", scale=3)
            reset = gr.Button(t("reset_password"), size="sm", elem_id="reset-user-password")
            delete = gr.Button(t("delete_user"), size="sm", variant="stop", elem_id="delete-user")
            confirm = gr.Button(t("confirm_delete_user"), size="sm", variant="stop",
                                visible=False, elem_id="confirm-delete-user")
    _wire(handlers, tab, table, result, chosen, new_password, confirm,
          add=(add, [username, password, role]), make_admin=make_admin, make_user=make_user,
          disable=disable, enable=enable, reset=reset, delete=delete)
    return tab, [(handlers.table, [table, chosen])]


def _wire(handlers: UserHandlers, tab: gr.Tab, table: Any, result: Any, chosen: Any,
          new_password: Any, confirm: Any, *, add: tuple[Any, list[Any]], make_admin: Any,
          make_user: Any, disable: Any, enable: Any, reset: Any, delete: Any) -> None:
    private: dict[str, Any] = {"api_visibility": "private"}
    tab.select(handlers.table, None, [table, chosen], **private)
    add_button, fields = add
    add_button.click(handlers.create, fields, [result, fields[0], fields[1], table, chosen],
                     **private)
    changes = ((make_admin, AccountChange(role="admin")), (make_user, AccountChange(role="user")),
               (disable, AccountChange(disabled=True)), (enable, AccountChange(disabled=False)))
    for button, change in changes:
        @ui_errors
        async def apply(user_id: int | None, request: gr.Request,
                        change: AccountChange = change) -> tuple[str, pd.DataFrame, Any]:
            return await handlers.change(user_id, change, request)

        button.click(apply, [chosen], [result, table, chosen], **private)

    @ui_errors
    async def reset_password(user_id: int | None, password: str,
                             request: gr.Request) -> tuple[str, str, pd.DataFrame, Any]:
        message, rows, choices = await handlers.change(
            user_id, AccountChange(password=password or ""), request)
        return message, "", rows, choices

    reset.click(reset_password, [chosen, new_password], [result, new_password, table, chosen],
                **private)
    delete.click(lambda: gr.Button(visible=True), None, confirm, **private)
    confirm.click(handlers.delete, [chosen], [result, table, chosen, confirm], **private)
