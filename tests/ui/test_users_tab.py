"""The Users tab's handlers against a real DuckDB file: the role word in the caller's language.
(The account rules themselves are tested in tests/auth/test_accounts.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pytest

from auth.accounts import AccountChange, AccountService
from auth.passwords import PasswordHasher
from auth.service import AuthService
from auth.tokens import TokenService
from services import ServicesHolder
from settings import Settings
from storage import users
from storage.db import Database
from ui.users import USER_COLUMNS, UserHandlers, build_users_tab

KOREAN = {"accept-language": "ko-KR,ko;q=0.9"}


@dataclass
class _Services:
    """The services the Users tab uses, all real."""

    auth: AuthService
    accounts: AccountService


async def _no_answers_running(_: int) -> None:
    return None


@pytest.fixture
def handlers(db: Database, tmp_path: Path) -> UserHandlers:
    settings = Settings(data_dir=tmp_path, bcrypt_rounds=4)
    auth = AuthService(db, PasswordHasher(4), TokenService("s" * 32, 30), settings)
    db.call(lambda c: users.create(c, "root", "h", "admin"))
    holder = ServicesHolder()
    holder.set(_Services(auth, AccountService(db, PasswordHasher(4), 8,  # type: ignore[arg-type]
                                              _no_answers_running)))
    return UserHandlers(holder)


async def test_a_korean_admin_reads_the_role_in_korean(handlers: UserHandlers) -> None:
    korean = gr.Request(headers=KOREAN, username="root")

    added, *_, choices = await handlers.create("민지", "long-enough-1", "user", korean)
    minji = next(value for label, value in choices.choices if label.startswith("민지"))
    changed, _, _ = await handlers.change(int(minji), AccountChange(role="admin"), korean)

    assert added == "**민지** (일반 사용자) 추가됨."
    assert changed == "**민지**: 관리자, 활성."
    assert {label for label, _ in choices.choices} == {"root (관리자)", "민지 (일반 사용자)"}


async def test_an_english_admin_reads_the_role_word_as_it_was(handlers: UserHandlers) -> None:
    english = gr.Request(username="root")

    added, *_, choices = await handlers.create("browser-colleague", "long-enough-1", "user",
                                               english)

    assert added == "Added **browser-colleague** (user)."
    assert {label for label, _ in choices.choices} == {"root (admin)", "browser-colleague (user)"}


async def test_a_korean_admin_reads_the_table_headers_and_roles_in_korean(
        handlers: UserHandlers) -> None:
    """Issue 12, "Korean everywhere": the table the handler fills, not only its messages."""
    korean = gr.Request(headers=KOREAN, username="root")
    await handlers.create("민지", "long-enough-1", "user", korean)

    table, _ = await handlers.table(korean)

    assert list(table.columns) == ["ID", "아이디", "역할", "상태", "생성일", "마지막 답변"]
    assert {row[1]: (row[2], row[3]) for row in table.values.tolist()} == {
        "root": ("관리자", "활성"), "민지": ("일반 사용자", "활성")}


async def test_an_english_admin_reads_the_table_as_it_was(handlers: UserHandlers) -> None:
    table, _ = await handlers.table(gr.Request(username="root"))

    assert list(table.columns) == USER_COLUMNS == ["Id", "Username", "Role", "Status", "Created",
                                                   "Last answer"]
    assert table.values.tolist()[0][1:4] == ["root", "admin", "active"]


def test_the_new_users_role_choice_shows_translated_words_for_stable_values() -> None:
    with gr.Blocks() as demo, gr.Tabs():
        build_users_tab(ServicesHolder())
    role = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "new-user-role")
    assert [value for _, value in role.choices] == ["user", "admin"]
    assert [label.key for label, _ in role.choices] == ["role_user", "role_admin"]
