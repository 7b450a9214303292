"""The API keys tab's handlers against a real DuckDB file: the table in the caller's language,
revoking after a confirmation, and how to use a key with this app."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest
from starlette.requests import Request

from auth.passwords import PasswordHasher
from auth.service import AuthService
from auth.tokens import TokenService
from services import ServicesHolder
from settings import Settings
from storage import users
from storage.db import Database
from ui.i18n import text
from ui.keys import KEY_COLUMNS, KeyHandlers, build_keys_tab

KOREAN = {"accept-language": "ko-KR,ko;q=0.9"}


@dataclass
class _Services:
    """The services the API keys tab uses: real accounts and keys, and the active profile's
    served model name (all the tab reads of the engine)."""

    auth: AuthService
    engine: Any = field(default_factory=lambda: SimpleNamespace(
        profile=SimpleNamespace(served_model_name="tiny-instruct")))


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

    key, _, table, choices = await handlers.create("노트북", korean)

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
    _, _, table, _ = await handlers.create("노트북", korean)

    revoked, choices, _, _ = await handlers.revoke(int(table.values[0][0]), korean)

    assert revoked.values.tolist()[0][4] != "" and choices.choices == []


def _reached_at(url: str, username: str = "alice", **headers: str) -> gr.Request:
    """A request as Gradio hands it to an event: the page's own HTTP request (to the queue)."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    scope = {"type": "http", "scheme": scheme, "method": "POST", "root_path": "",
             "path": f"/{path}", "query_string": b"",
             "headers": [(k.encode(), v.encode()) for k, v in {"host": host, **headers}.items()]}
    return gr.Request(Request(scope), username=username)


def _triggers(demo: gr.Blocks, api_name: str) -> list[tuple[Any, str]]:
    """What sets off the Gradio function with this api_name: (block, event) pairs."""
    fns = [fn for fn in demo.fns.values() if fn.api_name == api_name]
    assert len(fns) == 1, api_name
    return [(demo.blocks[block_id], event) for block_id, event in fns[0].targets
            if block_id is not None]


def _button(demo: gr.Blocks, elem_id: str) -> gr.Button:
    button = next(b for b in demo.blocks.values() if b.elem_id == elem_id)
    assert isinstance(button, gr.Button)
    return button


async def test_revoking_asks_first_and_takes_the_shown_key_off_the_screen(
    handlers: KeyHandlers,
) -> None:
    """Issue 12: Revoke shows "Yes, revoke this key"; that revokes, hides itself and empties
    the box that showed the secret."""
    korean = gr.Request(headers=KOREAN, username="alice")
    _, _, table, _ = await handlers.create("노트북", korean)
    key_id = int(table.values[0][0])

    asked = await handlers.ask_revoke(key_id, korean)

    assert isinstance(asked, gr.Button) and asked.visible is True
    assert (await handlers.table(korean))[0].values.tolist()[0][4] == "", "asking revokes nothing"
    revoked, choices, shown, confirm = await handlers.revoke(key_id, korean)
    assert revoked.values.tolist()[0][4] != "" and choices.choices == []
    assert shown == "" and isinstance(confirm, gr.Button) and confirm.visible is False


async def test_revoke_with_no_key_chosen_says_so_and_asks_nothing(handlers: KeyHandlers) -> None:
    with pytest.warns(UserWarning, match="^폐기할 키를 선택하세요$"):  # a toast, outside an event
        asked = await handlers.ask_revoke(None, gr.Request(headers=KOREAN, username="alice"))
    assert asked == gr.skip(), "the confirm button stays hidden"


async def test_creating_a_key_empties_the_name_box(handlers: KeyHandlers) -> None:
    key, name, table, _ = await handlers.create("laptop", gr.Request(username="alice"))
    assert key.startswith("vck_") and name == "" and table.values.tolist()[0][1] == "laptop"


async def test_the_tab_says_how_to_use_a_key_at_the_address_the_browser_used(
    handlers: KeyHandlers,
) -> None:
    shown = await handlers.how_to_use(_reached_at("https://chat.example:8443/gradio_api/queue/join"))

    assert "`https://chat.example:8443/v1`" in shown and "`tiny-instruct`" in shown
    assert "curl https://chat.example:8443/v1/chat/completions" in shown
    assert '-H "Authorization: Bearer $VLLM_CHAT_KEY"' in shown
    assert '"model": "tiny-instruct"' in shown and "How to use a key" not in shown
    assert 'OpenAI(base_url="https://chat.example:8443/v1", api_key=' in shown
    assert 'model="tiny-instruct"' in shown
    korean = await handlers.how_to_use(
        _reached_at("http://10.0.0.5:8000/gradio_api/queue/join", **KOREAN))
    assert "curl http://10.0.0.5:8000/v1/chat/completions" in korean and "Base URL" not in korean
    assert text("keys_usage_intro", "ko", base_url="`http://10.0.0.5:8000/v1`",
                model="`tiny-instruct`") in korean


def test_only_the_confirm_button_revokes_and_the_tab_loads_its_usage_block() -> None:
    with gr.Blocks() as demo, gr.Tabs():
        tab = build_keys_tab(ServicesHolder())

    confirm = _button(demo, "confirm-revoke-key")
    assert _triggers(demo, "revoke") == [(confirm, "click")] and confirm.visible is False
    assert _triggers(demo, "ask_revoke") == [(_button(demo, "revoke-key"), "click")]
    assert _triggers(demo, "how_to_use") == [(tab, "select")]
    assert all(fn.api_visibility == "private" for fn in demo.fns.values())
