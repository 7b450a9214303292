"""ChatService.start_turn: what it refuses, and that a refused turn stores nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port

from chat.service import ChatService
from chat.turn import ChatOptions
from engine.hardware import HardwareReport
from engine.manager import EngineManager
from engine.profiles import load_profiles
from errors import InvalidInput, NotFound
from services import build_chat
from settings import Settings
from storage import conversations, users
from storage.db import Database
from storage.users import User
from storage.writer import BatchWriter


@dataclass
class Chat:
    settings: Settings
    db: Database
    service: ChatService
    alice: User
    bob: User
    admin: User

    def count(self, table: str) -> int:
        row = self.db.call(lambda c: c.execute(f"SELECT count(*) FROM {table}").fetchone())
        assert row is not None
        return int(row[0])


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[Chat]:
    # A free port with nothing on it: token counts fall back, whatever runs on this machine.
    settings = Settings(data_dir=tmp_path, vllm_port=free_port())
    db = Database(tmp_path / "db.duckdb")
    profiles = load_profiles(settings.profiles_dir)
    no_gpu = HardwareReport(gpus=[], driver_version=None, error="no NVIDIA driver (test)")
    engine = EngineManager(settings, profiles, profiles["smollm2-135m-cpu"], no_gpu)
    alice = db.call(lambda c: users.create(c, "alice", "not-a-real-hash", "user"))
    bob = db.call(lambda c: users.create(c, "bob", "not-a-real-hash", "user"))
    admin = db.call(lambda c: users.create(c, "root", "not-a-real-hash", "admin"))
    writer = BatchWriter(db)
    writer.start()
    yield Chat(settings, db, build_chat(settings, db, engine, writer).chat, alice, bob, admin)
    await writer.stop()
    await engine.stop()
    db.close()


def user_says(text: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


TOO_LONG = object()


@pytest.mark.parametrize(
    ("messages", "options", "code"),
    [
        ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
         ChatOptions(), "no_user_message"),
        ([], ChatOptions(), "no_user_message"),
        (user_says(""), ChatOptions(), "empty_message"),
        (user_says("  \n\t "), ChatOptions(), "empty_message"),
        (user_says([{"type": "text", "text": " "}]), ChatOptions(), "empty_message"),
        (TOO_LONG, ChatOptions(), "message_too_long"),
        (user_says("hi"), ChatOptions(model="gpt-4"), "model_not_found"),
        (user_says("hi"), ChatOptions(temperature=2.5), "invalid_temperature"),
        (user_says("hi"), ChatOptions(temperature=-0.1), "invalid_temperature"),
        (user_says("hi"), ChatOptions(max_tokens=0), "invalid_max_tokens"),
        (user_says("hi"), ChatOptions(top_p=0.0), "invalid_top_p"),
        (user_says("hi"), ChatOptions(top_p=1.01), "invalid_top_p"),
        (user_says("hi"), ChatOptions(top_p=float("nan")), "invalid_top_p"),
        (user_says("hi"), ChatOptions(stop=["a", "b", "c", "d", "e"]), "invalid_stop"),
        (user_says("hi"), ChatOptions(stop="x" * 101), "invalid_stop"),
        (user_says("hi"), ChatOptions(stop=["ok", ""]), "invalid_stop"),
        (user_says("hi"), ChatOptions(presence_penalty=2.5), "invalid_presence_penalty"),
        (user_says("hi"), ChatOptions(frequency_penalty=-2.01), "invalid_frequency_penalty"),
        (user_says("hi"), ChatOptions(seed=2**63), "invalid_seed"),
    ],
)
async def test_invalid_turn_is_refused_and_stores_nothing(
    chat: Chat, messages: Any, options: ChatOptions, code: str
) -> None:
    if messages is TOO_LONG:
        messages = user_says("x" * (chat.settings.max_message_chars + 1))
    with pytest.raises(InvalidInput) as info:
        await chat.service.start_turn(chat.alice, messages, options)
    assert info.value.code == code
    assert chat.count("conversations") == 0
    assert chat.count("messages") == 0


async def test_max_tokens_above_the_limit_is_refused_and_stores_nothing(chat: Chat) -> None:
    options = ChatOptions(max_tokens=chat.settings.max_tokens_limit + 1)
    with pytest.raises(InvalidInput) as info:
        await chat.service.start_turn(chat.alice, user_says("hi"), options)
    assert info.value.code == "invalid_max_tokens"
    assert chat.count("conversations") == 0
    assert chat.count("messages") == 0


async def test_message_at_the_length_limit_is_accepted(chat: Chat) -> None:
    text = "x" * chat.settings.max_message_chars
    turn = await chat.service.start_turn(chat.alice, user_says(text), ChatOptions())
    assert turn.messages[-1] == {"role": "user", "content": text}


async def test_profile_aliases_are_known_models(chat: Chat) -> None:
    for model in ("smollm2-135m-instruct", "smollm2-135m-cpu", "smollm2"):
        turn = await chat.service.start_turn(chat.alice, user_says("hi"), ChatOptions(model=model))
        assert turn.model == "smollm2-135m-instruct"


async def test_valid_turn_stores_the_conversation_and_the_user_message(chat: Chat) -> None:
    options = ChatOptions(system_prompt="Be brief.", temperature=0.2, max_tokens=64)
    turn = await chat.service.start_turn(chat.alice, user_says("  What is\n DuckDB?"), options)

    assert turn.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "  What is\n DuckDB?"},
    ]
    assert (turn.temperature, turn.max_tokens, turn.user) == (0.2, 64, chat.alice)
    conv = chat.db.call(lambda c: conversations.get(c, turn.conversation_id))
    assert conv is not None
    assert (conv.user_id, conv.title, conv.system_prompt, conv.model) == (
        chat.alice.id, "What is DuckDB?", "Be brief.", "smollm2-135m-instruct"
    )
    stored = chat.db.call(lambda c: conversations.list_messages(c, turn.conversation_id))
    assert [(m["role"], m["content"]) for m in stored] == [("user", "  What is\n DuckDB?")]


async def test_defaults_come_from_the_profile(chat: Chat) -> None:
    turn = await chat.service.start_turn(chat.alice, user_says("hi"), ChatOptions())
    assert (turn.temperature, turn.max_tokens) == (0.7, 512)
    assert turn.sampling == {"top_p": 1.0}


async def test_sampling_options_at_their_limits_are_accepted(chat: Chat) -> None:
    options = ChatOptions(top_p=1.0, stop="x" * 100, seed=-(2**63), presence_penalty=-2.0,
                          frequency_penalty=2.0)
    turn = await chat.service.start_turn(chat.alice, user_says("hi"), options)
    assert turn.sampling == {"top_p": 1.0, "stop": ["x" * 100], "seed": -(2**63),
                             "presence_penalty": -2.0, "frequency_penalty": 2.0}
    four = await chat.service.start_turn(chat.alice, user_says("hi"),
                                         ChatOptions(top_p=0.01, stop=["a", "b", "c", "d"]))
    assert four.sampling == {"top_p": 0.01, "stop": ["a", "b", "c", "d"]}


async def test_continuing_another_users_conversation_is_not_found(chat: Chat) -> None:
    turn = await chat.service.start_turn(chat.alice, user_says("mine"), ChatOptions())
    with pytest.raises(NotFound):
        await chat.service.start_turn(chat.bob, user_says("hijack"), ChatOptions(), turn.conversation_id)
    stored = chat.db.call(lambda c: conversations.list_messages(c, turn.conversation_id))
    assert [m["content"] for m in stored] == ["mine"]
    assert chat.count("conversations") == 1


async def test_an_admin_may_not_write_into_another_users_conversation(chat: Chat) -> None:
    """Admins read others' conversations; adding messages (and replacing the system prompt)
    would put words in the user's mouth."""
    turn = await chat.service.start_turn(
        chat.alice, [{"role": "system", "content": "Be brief."}, *user_says("mine")], ChatOptions())
    with pytest.raises(NotFound) as info:
        await chat.service.start_turn(
            chat.admin, [{"role": "system", "content": "Be rude."}, *user_says("injected")],
            ChatOptions(), turn.conversation_id)
    assert info.value.code == "conversation_not_found"
    stored = chat.db.call(lambda c: conversations.list_messages(c, turn.conversation_id))
    assert [m["content"] for m in stored] == ["mine"]
    conv = await chat.service.conversations.get(chat.alice, turn.conversation_id)
    assert conv.system_prompt == "Be brief."


async def test_continuing_a_missing_conversation_is_not_found(chat: Chat) -> None:
    with pytest.raises(NotFound):
        await chat.service.start_turn(chat.alice, user_says("hi"), ChatOptions(), 12345)
    assert chat.count("messages") == 0


async def test_continuing_keeps_the_stored_system_prompt_and_history(chat: Chat) -> None:
    first = await chat.service.start_turn(
        chat.alice, user_says("one"), ChatOptions(system_prompt="Be brief.")
    )
    turn = await chat.service.start_turn(
        chat.alice, user_says("two"), ChatOptions(), first.conversation_id
    )
    assert turn.conversation_id == first.conversation_id
    assert turn.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
    ]


async def test_admin_may_read_any_conversation_but_others_may_not(chat: Chat) -> None:
    turn = await chat.service.start_turn(chat.alice, user_says("mine"), ChatOptions())
    assert (await chat.service.conversations.get(chat.admin, turn.conversation_id)).user_id == chat.alice.id
    assert (await chat.service.conversations.get(chat.alice, turn.conversation_id)).id == turn.conversation_id
    with pytest.raises(NotFound) as info:
        await chat.service.conversations.get(chat.bob, turn.conversation_id)
    assert info.value.code == "conversation_not_found"


@pytest.mark.parametrize("message", [{"role": "tool", "content": "x"}, {"content": "no role"}])
async def test_a_message_without_a_known_role_is_refused(chat: Chat, message: dict[str, str]) -> None:
    with pytest.raises(InvalidInput) as info:
        await chat.service.start_turn(chat.alice, [message, *user_says("hi")], ChatOptions())
    assert info.value.code == "invalid_role"
    assert chat.count("conversations") == 0
    assert chat.count("messages") == 0
