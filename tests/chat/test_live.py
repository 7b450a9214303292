"""Answers that run on the server (chat/live.py): stopped at any moment, they are stored and
leave nothing behind, with a test double in place of the chat service's stream."""

from __future__ import annotations

import asyncio

from doubles.storing_stream import USER, StoringStream, new_turn

from chat.live import LiveAnswers


async def test_an_answer_stopped_before_its_task_began_is_stored_as_cancelled() -> None:
    """Stop can reach an answer in the same moment it starts (the chat page's Stop right after
    sending): cancelled before its first step, the task never ran the stream, so nothing was
    stored, the list kept its ⏳ forever and whoever followed it waited forever."""
    chat = StoringStream()
    live = LiveAnswers(chat)
    answer = live.start(new_turn())
    assert await live.stop(USER, 1)
    assert chat.stored == ["cancelled"]
    assert live.running_for(USER) == set()
    followed = [turn async for turn in answer.follow(0)]
    assert len(followed) <= 1


async def test_an_answer_stopped_while_it_streams_is_stored_as_cancelled() -> None:
    chat = StoringStream()
    live = LiveAnswers(chat)
    answer = live.start(new_turn())
    while "word" not in answer.turn.answer:
        await asyncio.sleep(0.01)
    assert await live.stop(USER, 1)
    assert chat.stored == ["cancelled"]
    assert live.running_for(USER) == set()
    assert not await live.stop(USER, 1), "nothing left to stop"
