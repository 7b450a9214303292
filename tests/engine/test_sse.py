"""Reading an engine's streamed answer from its bytes, as vLLM and llama-cpp-python send it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import openai
import pytest

from engine.sse import EngineStream


def streamed(*pieces: bytes) -> EngineStream:
    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    request = httpx2.Request("POST", "http://engine/v1/chat/completions")
    return EngineStream(httpx2.Response(200, content=body(), request=request))


async def chunks(stream: EngineStream) -> list[dict[str, object]]:
    async with stream:
        return [chunk async for chunk in stream]


async def test_events_cut_anywhere_and_ended_either_way_come_out_whole() -> None:
    vllm = b'data: {"n": 1}\n\ndata: {"n": 2}\n\ndata: [DONE]\n\n'
    llama_cpp = vllm.replace(b"\n", b"\r\n")
    for body in (vllm, llama_cpp):
        cuts = [body[i:i + 7] for i in range(0, len(body), 7)]
        assert await chunks(streamed(*cuts)) == [{"n": 1}, {"n": 2}]
        assert await chunks(streamed(body)) == [{"n": 1}, {"n": 2}]


async def test_nothing_after_done_is_read_and_comments_are_skipped() -> None:
    body = b': ping\n\ndata: {"n": 1}\n\ndata: [DONE]\n\ndata: {"n": 2}\n\n'
    assert await chunks(streamed(body)) == [{"n": 1}]


async def test_an_error_event_is_the_engine_failing_mid_answer() -> None:
    body = b'data: {"n": 1}\n\ndata: {"error": {"message": "out of memory", "code": 500}}\n\n'
    seen = []
    with pytest.raises(openai.APIError, match="out of memory"):
        async for chunk in streamed(body):
            seen.append(chunk)
    assert seen == [{"n": 1}]
