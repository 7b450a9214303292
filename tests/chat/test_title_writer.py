"""Titles never hold up an answer: on llama.cpp (one request at a time) a title waits for a
quiet engine and is stopped when an answer starts. The engine is a test double here because
the test needs a title slow enough to be caught mid-way."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import free_port
from doubles.fake_engine import FakeEngine, running_fake_engine

from chat.titles import TitleJob, TitleWriter
from engine.client import EngineClient
from engine.manager import EngineState


class RecordingWriter:
    def __init__(self) -> None:
        self.writes: list[Any] = []

    async def write(self, fn: Any) -> None:
        self.writes.append(fn)


@pytest.fixture
def slow_titles() -> Iterator[FakeEngine]:
    with running_fake_engine("endless", free_port(), title_delay_s=0.2) as engine:
        yield engine


async def until(check: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def writer_for(engine_kind: str, quiet_s: float = 0.0) -> tuple[TitleWriter, RecordingWriter]:
    store = RecordingWriter()
    engine = SimpleNamespace(profile=SimpleNamespace(engine=engine_kind), state=EngineState.READY)
    return TitleWriter(store, engine, quiet_s), store  # type: ignore[arg-type]


async def test_on_llama_cpp_an_answer_stops_the_title_and_it_runs_again_after(
    slow_titles: FakeEngine,
) -> None:
    client = EngineClient(slow_titles.base_url, "key", 30)
    titles, store = writer_for("llama.cpp")
    try:
        titles.add(TitleJob(client, 1, "fake", "Plan a trip to Busan"))
        await until(lambda: slow_titles.titles_started == 1)
        titles.answer_started()
        await until(lambda: slow_titles.titles_hung_up == 1)
        titles.add(TitleJob(client, 2, "fake", "Another first message"))
        await asyncio.sleep(0.5)
        assert slow_titles.titles_started == 1, "no title starts while an answer streams"

        titles.answer_ended()
        await until(lambda: len(store.writes) == 2)
        assert slow_titles.titles_started == 3
    finally:
        await titles.close()
        await client.close()


async def test_engines_that_batch_write_titles_beside_answers(slow_titles: FakeEngine) -> None:
    client = EngineClient(slow_titles.base_url, "key", 30)
    titles, store = writer_for("vllm")
    try:
        titles.answer_started()
        titles.add(TitleJob(client, 1, "fake", "Plan a trip to Busan"))
        titles.add(TitleJob(client, 2, "fake", "Another first message"))
        await until(lambda: len(store.writes) == 2)
        assert (slow_titles.titles_started, slow_titles.titles_hung_up) == (2, 0)
    finally:
        await titles.close()
        await client.close()


async def test_on_llama_cpp_a_title_waits_until_answers_have_been_quiet_a_while(
    slow_titles: FakeEngine,
) -> None:
    client = EngineClient(slow_titles.base_url, "key", 30)
    titles, store = writer_for("llama.cpp", quiet_s=1.0)
    try:
        titles.answer_started()
        titles.answer_ended()
        titles.add(TitleJob(client, 1, "fake", "Plan a trip to Busan"))
        await asyncio.sleep(0.6)
        titles.answer_started()  # a follow-up: the quiet second starts again from its end
        titles.answer_ended()
        await asyncio.sleep(0.6)
        assert slow_titles.titles_started == 0
        await until(lambda: len(store.writes) == 1)
    finally:
        await titles.close()
        await client.close()
