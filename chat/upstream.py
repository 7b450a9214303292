"""Reading one answer from the engine: its chunks become deltas, kept on the turn as they pass.

With a pool of remote replicas, a request that fails before its first token is sent to the
next one (engine/replicas.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing

import anyio

from chat.reasoning import ThinkSplitter, delta_from
from chat.turn import ChatTurn, Delta
from engine.client import EngineClient, FirstTokenTimeout, describe_engine_error, first_chunk_by
from engine.manager import EngineManager


async def answer_from(engine: EngineManager, turn: ChatTurn,
                      first_token_timeout_s: float) -> AsyncGenerator[Delta, None]:
    """The answer from the best route; `turn.client` is the one that wrote it."""
    async with engine.admission():
        routes = engine.routes()
        for attempt, route in enumerate(routes, start=1):
            turn.client = route.client
            try:
                with route.busy():
                    async with aclosing(read_answer(route.client, turn,
                                                    first_token_timeout_s)) as deltas:
                        async for delta in deltas:
                            yield delta
                return
            except Exception as exc:
                if turn.content or attempt == len(routes):
                    raise
                # Nothing reached the user yet: another replica may answer.
                route.failed(describe_engine_error(exc, mid_answer=False))


async def read_answer(client: EngineClient, turn: ChatTurn,
                      first_token_timeout_s: float) -> AsyncGenerator[Delta, None]:
    """Closing this generator closes the engine's stream, which stops the engine generating."""
    # A stalled engine (connects, never answers) must not hold the user for the read
    # timeout: the request and its first chunk share one deadline.
    deadline = asyncio.get_running_loop().time() + first_token_timeout_s
    try:
        async with asyncio.timeout_at(deadline):
            upstream = await client.stream_chat(
                turn.model, turn.messages, turn.temperature, turn.max_tokens, turn.sampling)
    except TimeoutError as exc:
        raise FirstTokenTimeout(first_token_timeout_s) from exc
    splitter = ThinkSplitter()
    try:
        async for chunk in first_chunk_by(upstream, deadline, first_token_timeout_s):
            if usage := chunk.get("usage"):
                turn.usage = usage
            for choice in chunk.get("choices") or ():
                if finish_reason := choice.get("finish_reason"):
                    turn.finish_reason = finish_reason
                delta = delta_from(choice.get("delta"), splitter)
                if delta.content or delta.reasoning:
                    yield _took(turn, delta)
        if (rest := Delta(*reversed(splitter.flush()))).content or rest.reasoning:
            yield _took(turn, rest)
    finally:
        with anyio.CancelScope(shield=True):
            await upstream.close()


def _took(turn: ChatTurn, delta: Delta) -> Delta:
    if turn.first_token_at is None:
        turn.first_token_at = time.monotonic()
    turn.content.append(delta.content)
    turn.reasoning.append(delta.reasoning)
    return delta
