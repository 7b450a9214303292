"""Handing a stream's pieces on in the groups that arrived together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from api.streaming import arrived_together


async def test_pieces_that_arrive_while_a_group_is_sent_go_out_together() -> None:
    gate = asyncio.Event()

    async def pieces() -> AsyncGenerator[int, None]:
        yield 1
        await gate.wait()
        for n in range(2, 6):  # all at once, as a fast engine's chunks come in one read
            yield n

    groups = []
    async for group in arrived_together(pieces()):
        groups.append(group)
        gate.set()
        await asyncio.sleep(0.01)  # sending the group takes a moment
    assert groups == [[1], [2, 3, 4, 5]]


async def test_an_error_while_reading_reaches_the_sender_after_what_came_before() -> None:
    async def pieces() -> AsyncGenerator[int, None]:
        yield 1
        raise RuntimeError("engine died")

    seen = []
    with pytest.raises(RuntimeError, match="engine died"):
        async for group in arrived_together(pieces()):
            seen += group
    assert seen == [1]


async def test_a_sender_that_stops_closes_the_source_at_once() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncGenerator[int, None]:
        try:
            n = 0
            while True:
                n += 1
                yield n
                await asyncio.sleep(0.001)
        finally:
            closed.set()

    groups = arrived_together(endless())
    assert await anext(groups)
    await groups.aclose()
    assert closed.is_set(), "the engine's stream must be closed when the client leaves"
