"""The API keys tab's handlers against a real DuckDB file: the table in the caller's language."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pytest

from auth.passwords import PasswordHasher
from auth.service import AuthService
from auth.tokens import TokenService
from services import ServicesHolder
from settings import Settings
from storage import users
from storage.db import Database
from ui.keys import KEY_COLUMNS, KeyHandlers

KOREAN = {"accept-language": "ko-KR,ko;q=0.9"}


@dataclass
class _Services:
    """The services the API keys tab uses, all real."""

    auth: AuthService


@pytest.fixture
def handlers(db: Database, tmp_path: Path) -> KeyHandlers:
    settings = Settings(data_dir=tmp_path, bcrypt_rounds=4)
    db.call(lambda c: users.create(c, "alice", "h", "user"))
    holder = ServicesHolder()
    holder.set(_Services(AuthService(db, PasswordHasher(4),  # type: ignore[arg-type]
                                     TokenService("s" * 32, 30), settings)))
    return KeyHandlers(holder)


async def test_a_korean_user_reads_the_keys_table_in_korean(handlers: KeyHandlers) -> None:
    """Issue 12, "Korean everywhere": the headers the handler sends with the rows."""
    korean = gr.Request(headers=KOREAN, username="alice")

    key, table, choices = await handlers.create("노트북", korean)

    assert key.startswith("vck_")
    assert list(table.columns) == ["ID", "이름", "키 앞부분", "만든 시각", "폐기 시각"]
    _, name, prefix, _, revoked = table.values.tolist()[0]
    assert name == "노트북" and prefix.endswith("…") and key.startswith(prefix[:-1])
    assert revoked == "" and [label for label, _ in choices.choices] == [f"노트북 ({prefix})"]


async def test_an_english_user_reads_the_keys_table_as_it_was(handlers: KeyHandlers) -> None:
    english = gr.Request(username="alice")
    await handlers.create("laptop", english)

    table, _ = await handlers.table(english)

    assert list(table.columns) == KEY_COLUMNS == ["Id", "Name", "Starts with", "Created",
                                                  "Revoked"]
    assert table.values.tolist()[0][1] == "laptop" and table.values.tolist()[0][4] == ""


async def test_a_revoked_key_keeps_its_row_with_its_revocation_time(handlers: KeyHandlers) -> None:
    korean = gr.Request(headers=KOREAN, username="alice")
    _, table, _ = await handlers.create("노트북", korean)

    revoked, choices = await handlers.revoke(int(table.values[0][0]), korean)

    assert revoked.values.tolist()[0][4] != "" and choices.choices == []
