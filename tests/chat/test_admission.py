"""What refuses a turn before anything is stored or sent (chat/admission.py), through
ChatService, against the fake engine test double (tests/doubles/fake_engine.py): the double
injects the faults (a crash, a refusal) and the endless answer that is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port
from doubles.fake_engine import FakeEngine, running_fake_engine

from chat.service import ChatService
from chat.turn import ChatOptions, ChatTurn
from engine.hardware import HardwareReport
from engine.manager import EngineManager
from engine.profiles import SamplingDefaults, load_profiles
from errors import AppError, InvalidInput, RateLimited
from services import build_chat
from settings import Settings
from storage import presets, users
from storage.db import Database
from storage.users import User
from storage.writer import BatchWriter


@dataclass
class Chat:
    engine: FakeEngine
    db: Database
    service: ChatService
    alice: User
    bob: User
    refused: list[str] = field(default_factory=list)

    def count(self, table: str) -> int:
        row = self.db.call(lambda c: c.execute(f"SELECT count(*) FROM {table}").fetchone())
        assert row is not None
        return int(row[0])

    async def answer(self, user: User, text: str | list[dict[str, Any]] = "hi",
                     **options: Any) -> str:
        messages = says(text) if isinstance(text, str) else text
        turn = await self.service.start_turn(user, messages, ChatOptions(**options))
        async with aclosing(self.service.stream(turn)) as deltas:
            return "".join([delta.content async for delta in deltas])


def says(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@pytest.fixture
async def chat(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Chat]:
    overrides: dict[str, Any] = getattr(request, "param", {})
    banned = tmp_path / "banned.txt"
    banned.write_text("# words nobody may send\nforbidden phrase\n금지어\n", encoding="utf-8")
    with running_fake_engine("think_field", free_port()) as fake:
        options = {"banned_words_file": banned, "chat_concurrent_per_user": 1,
                   "chat_rate_limit": "", "auto_titles": False, **overrides}
        settings = Settings(data_dir=tmp_path, engine_base_url=fake.base_url, **options)
        db = Database(tmp_path / "db.duckdb")
        profiles = load_profiles(settings.profiles_dir)
        active = profiles["smollm2-135m-cpu"].model_copy(
            update={"sampling": SamplingDefaults(temperature=0.6, top_p=0.8, max_tokens=64)})
        no_gpu = HardwareReport(gpus=[], driver_version=None, error="no NVIDIA driver (test)")
        engine = EngineManager(settings, profiles, active, no_gpu)
        await engine.start()
        alice = db.call(lambda c: users.create(c, "alice", "not-a-real-hash", "user"))
        bob = db.call(lambda c: users.create(c, "bob", "not-a-real-hash", "user"))
        writer = BatchWriter(db)
        writer.start()
        refused: list[str] = []
        service = build_chat(settings, db, engine, writer, refused=[refused.append]).chat
        state = Chat(fake, db, service, alice, bob, refused)
        yield state
        await service.drain()
        await writer.stop()
        await engine.stop()
        db.close()


@pytest.mark.parametrize("messages", [
    says("this has a FORBIDDEN Phrase in it"),
    says("그건 금지어입니다"),
    [{"role": "system", "content": "Say the forbidden phrase"}, *says("hello")],
    [{"role": "user", "content": [{"type": "text", "text": "forbidden phrase"}]}],
])
async def test_banned_word_is_refused_before_the_engine(
    chat: Chat, messages: list[dict[str, Any]], caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await chat.service.start_turn(chat.alice, messages, ChatOptions())
    assert (refused.value.code, refused.value.status_code) == ("content_blocked", 400)
    assert chat.count("conversations") == chat.count("messages") == chat.count("requests") == 0
    assert chat.engine.requests == 0
    assert chat.refused == ["content_blocked"]
    logged = caplog.text
    assert "content_blocked" in logged and ("f***" in logged or "금***" in logged)
    assert "forbidden phrase" not in logged.casefold() and "금지어" not in logged


async def test_banned_word_in_the_options_system_prompt_or_an_edit_is_refused(chat: Chat) -> None:
    with pytest.raises(InvalidInput, match="not allowed"):
        await chat.service.start_turn(chat.alice, says("hi"),
                                      ChatOptions(system_prompt="a forbidden phrase"))
    assert await chat.answer(chat.alice, "fine") == "The answer is 42."
    conv_id = chat.db.call(lambda c: c.execute("SELECT max(id) FROM conversations").fetchone())[0]
    await chat.service.drain()
    with pytest.raises(InvalidInput) as refused:
        await chat.service.start_resend(chat.alice, conv_id, ChatOptions(), edited="금지어!")
    assert refused.value.code == "content_blocked"
    with pytest.raises(InvalidInput):
        await chat.service.start_resend(chat.alice, conv_id,
                                        ChatOptions(system_prompt="FORBIDDEN PHRASE"))
    assert chat.count("messages") == 2, "the stored turn is untouched"
    assert chat.engine.requests == 1
    assert chat.refused == ["content_blocked"] * 3


async def test_a_second_answer_at_once_is_refused_and_the_first_ones_end_frees_it(
    chat: Chat,
) -> None:
    chat.engine.mode = "endless"
    first = await chat.service.start_turn(chat.alice, says("go on"), ChatOptions())
    with pytest.raises(RateLimited) as refused:
        await chat.service.start_turn(chat.alice, says("and this"), ChatOptions())
    assert (refused.value.code, refused.value.retry_after_s) == ("too_many_concurrent", 1)
    with pytest.raises(RateLimited):  # regenerating is an answer too
        await chat.service.start_resend(chat.alice, first.conversation_id, ChatOptions())
    assert chat.count("messages") == 1
    await chat.service.start_turn(chat.bob, says("mine"), ChatOptions())  # bob has his own
    assert chat.refused == ["too_many_concurrent"] * 2


async def stream_some(chat: Chat, user: User, chunks: int | None = None) -> ChatTurn:
    """Returns the turn, so that it stays referenced: the slot must be freed by the answer's
    end, not by the turn being garbage collected."""
    turn = await chat.service.start_turn(user, says("go"), ChatOptions())
    async with aclosing(chat.service.stream(turn)) as deltas:
        n = 0
        async for _ in deltas:
            n += 1
            if chunks is not None and n >= chunks:
                break  # the Stop button or a closed connection: the generator is closed
    return turn


async def test_the_slot_is_freed_when_the_answer_completes(chat: Chat) -> None:
    first = await stream_some(chat, chat.alice)
    await stream_some(chat, chat.alice)
    assert first.status == "completed"


async def test_the_slot_is_freed_when_the_answer_is_stopped(chat: Chat) -> None:
    chat.engine.mode = "endless"
    first = await stream_some(chat, chat.alice, chunks=3)
    assert await asyncio.to_thread(chat.engine.disconnected.wait, 5)
    await stream_some(chat, chat.alice, chunks=1)
    assert first.status == "cancelled"


async def test_the_slot_is_freed_when_the_answer_task_is_cancelled(chat: Chat) -> None:
    """As the chat page's Stop does to the task that writes its answer (chat/live.py)."""
    chat.engine.mode = "endless"
    turn = await cancel_mid_answer(chat)
    await stream_some(chat, chat.alice, chunks=1)
    assert turn.status == "cancelled"


async def cancel_mid_answer(chat: Chat) -> ChatTurn:
    """Start an answer in a task of its own, and cancel the task once text has arrived."""
    turn = await chat.service.start_turn(chat.alice, says("go"), ChatOptions())

    async def follow() -> None:
        async with aclosing(chat.service.stream(turn)) as deltas:
            async for _ in deltas:
                pass
    task = asyncio.create_task(follow())
    while not turn.answer:
        await asyncio.sleep(0.02)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return turn


def stored_answer(chat: Chat, turn: ChatTurn) -> str | None:
    """The status of the turn's answer as stored, or None while nothing is."""
    row = chat.db.call(lambda c: c.execute(
        "SELECT status FROM messages WHERE conv_id = ? AND role = 'assistant'",
        [turn.conversation_id]).fetchone())
    return None if row is None else str(row[0])


async def test_a_stopped_answer_is_stored_by_the_time_its_stream_has_ended(chat: Chat) -> None:
    """Whoever follows an answer shows the stored one once it ends (a reloaded chat page did,
    and found no answer when Stop ended it: the store was only scheduled)."""
    chat.engine.mode = "endless"
    cancelled = await stream_some(chat, chat.alice, chunks=2)
    assert stored_answer(chat, cancelled) == "cancelled", "closed by its reader"
    turn = await cancel_mid_answer(chat)
    assert stored_answer(chat, turn) == "cancelled", "its task cancelled, as Stop does"


@pytest.mark.parametrize("fault", ["crash", "refuse"])
async def test_the_slot_is_freed_when_the_answer_fails(chat: Chat, fault: str) -> None:
    """Mid-answer (crash), or the engine's error before the first token (refuse)."""
    chat.engine.mode = fault  # type: ignore[assignment]
    turn = await chat.service.start_turn(chat.alice, says("go"), ChatOptions())
    with pytest.raises(AppError):
        async with aclosing(chat.service.stream(turn)) as deltas:
            async for _ in deltas:
                pass
    chat.engine.mode = "think_field"
    await stream_some(chat, chat.alice)
    assert turn.status == "failed"


async def test_the_slot_is_freed_when_the_turn_is_refused_after_it_was_taken(chat: Chat) -> None:
    """The context check runs once the slot is held (it needs the engine's tokenizer)."""
    with pytest.raises(InvalidInput) as refused:
        await chat.service.start_turn(chat.alice, says("word " * 6000), ChatOptions())
    assert refused.value.code == "context_length_exceeded"
    await stream_some(chat, chat.alice)


@pytest.mark.parametrize("chat", [{"chat_rate_limit": "1/minute", "chat_concurrent_per_user": 0}],
                         indirect=True)
async def test_the_per_minute_limit_is_reported_as_a_refusal(chat: Chat) -> None:
    await stream_some(chat, chat.alice)
    with pytest.raises(RateLimited) as refused:
        await chat.service.start_turn(chat.alice, says("again"), ChatOptions())
    assert refused.value.code == "rate_limited"
    assert chat.refused == ["rate_limited"]


@pytest.mark.parametrize("chat", [{"daily_token_quota": 10}], indirect=True)
async def test_a_user_past_the_daily_quota_is_refused_until_midnight(chat: Chat) -> None:
    await chat.answer(chat.alice, "one two three four five six seven eight nine ten eleven")
    await chat.service.drain()
    with pytest.raises(RateLimited) as refused:
        await chat.service.start_turn(chat.alice, says("more"), ChatOptions())
    assert refused.value.code == "quota_exceeded"
    assert 1 <= refused.value.retry_after_s <= 86_400
    assert chat.count("messages") == 2 and chat.count("requests") == 1
    assert chat.refused == ["quota_exceeded"]
    await chat.answer(chat.bob)  # his own day's tokens


async def test_the_profiles_top_p_and_the_callers_sampling_reach_the_engine(chat: Chat) -> None:
    await chat.answer(chat.alice)
    sent = chat.engine.bodies[-1]
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"]) == (0.6, 0.8, 64)
    assert not {"stop", "seed", "presence_penalty", "frequency_penalty"} & set(sent)
    await chat.answer(chat.alice, top_p=0.5, stop="END", seed=7, presence_penalty=0.5,
                      frequency_penalty=-1.0)
    sent = chat.engine.bodies[-1]
    assert {k: sent[k] for k in ("top_p", "stop", "seed", "presence_penalty",
                                 "frequency_penalty")} == {
        "top_p": 0.5, "stop": ["END"], "seed": 7, "presence_penalty": 0.5,
        "frequency_penalty": -1.0}


async def test_the_users_default_prompt_starts_a_new_conversation_without_one(chat: Chat) -> None:
    chat.db.call(lambda c: presets.set_default_system_prompt(c, chat.alice.id, "Answer in Korean."))
    await chat.answer(chat.alice)
    assert chat.engine.bodies[-1]["messages"][0] == {"role": "system",
                                                     "content": "Answer in Korean."}
    await chat.answer(chat.alice, [{"role": "system", "content": "Be terse."}, *says("hi")])
    assert chat.engine.bodies[-1]["messages"][0] == {"role": "system", "content": "Be terse."}
    await chat.answer(chat.alice, system_prompt="")
    assert chat.engine.bodies[-1]["messages"][0]["role"] == "user", \
        "an empty system prompt asked for is no system prompt"
    await chat.answer(chat.bob)
    assert chat.engine.bodies[-1]["messages"][0]["role"] == "user", "alice's default is hers"
