"""TEST DOUBLE: a fake OpenAI-compatible engine, only for tests that inject a fault.

It serves /v1/models, /extras/tokenize/count and a streaming /v1/chat/completions that can
crash mid-answer, stream without end (recording when the client hangs up), refuse, stall (send
the stream's headers and then nothing) or stay silent (not even headers); with
`models_wait_for_streams` its /v1/models waits while a stream runs, as llama-cpp-python's does.
A request without `stream` (the app's readiness check) gets one token.
Title requests (the app's title prompt) get TITLE, streamed word by word every `title_delay_s`.
Everything else is tested against the real llama.cpp engine.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chat.titles import PROMPT as TITLE_PROMPT

Mode = Literal["crash", "endless", "refuse", "stall", "silent", "think_field", "think_tags"]
TITLE = "A Fine Title"
THINKING = ["Let me ", "think about ", "this."]
ANSWER = ["The answer ", "is 42."]


@dataclass
class FakeEngine:
    mode: Mode
    crash_after_chunks: int = 3
    port: int = 0
    requests: int = 0
    disconnected: threading.Event = field(default_factory=threading.Event)
    chunks_sent: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    models_wait_for_streams: bool = False
    title_delay_s: float = 0.0
    titles_started: int = 0
    titles_hung_up: int = 0
    streams_running: int = 0
    warmups: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _chunk(self, text: str, field_name: str = "content") -> str:
        body = {"id": "fake", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                "choices": [{"index": 0, "delta": {field_name: text}, "finish_reason": None}]}
        return f"data: {json.dumps(body)}\n\n"

    async def _thinking_stream(self) -> AsyncIterator[str]:
        if self.mode == "think_field":
            pieces = [(t, "reasoning_content") for t in THINKING] + [(t, "content") for t in ANSWER]
        else:  # think_tags: inline, with the tags cut across chunks
            text = "<think>" + "".join(THINKING) + "</think>" + "".join(ANSWER)
            pieces = [(text[i:i + 5], "content") for i in range(0, len(text), 5)]
        for text, field_name in pieces:
            yield self._chunk(text, field_name)
        yield "data: [DONE]\n\n"

    async def _stream(self, request: Request) -> AsyncIterator[str]:
        self.streams_running += 1
        try:
            for i in range(10_000):
                if self.mode == "crash" and i == self.crash_after_chunks:
                    raise RuntimeError("fake engine crashes mid-answer")
                self.chunks_sent += 1
                yield self._chunk(f"word{i} ")
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            self.disconnected.set()
            raise
        finally:
            self.streams_running -= 1

    async def _stall(self) -> AsyncIterator[str]:
        """The stream's headers, and then never a token (vLLM sends headers at once)."""
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.disconnected.set()
            raise
        yield ""

    @property
    def title_bodies(self) -> list[dict[str, Any]]:
        return [b for b in self.bodies if _is_title(b)]

    async def _title_stream(self) -> AsyncIterator[str]:
        self.titles_started += 1
        try:
            for word in f'"{TITLE}."'.split(" "):
                await asyncio.sleep(self.title_delay_s)
                yield self._chunk(word + " ")
            yield "data: [DONE]\n\n"
        except asyncio.CancelledError:
            self.titles_hung_up += 1
            raise

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        if not body.get("stream"):
            self.warmups += 1
            return JSONResponse({
                "id": "fake", "object": "chat.completion", "created": 0, "model": "fake",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
                             "finish_reason": "length"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
        self.requests += 1
        self.bodies.append(body)
        if _is_title(body):
            return StreamingResponse(self._title_stream(), media_type="text/event-stream")
        if self.mode in ("think_field", "think_tags"):
            return StreamingResponse(self._thinking_stream(), media_type="text/event-stream")
        if self.mode == "stall":
            return StreamingResponse(self._stall(), media_type="text/event-stream")
        if self.mode == "silent":
            await asyncio.sleep(3600)
        if self.mode == "refuse":
            error = {"message": "This model's maximum context length is 2048 tokens",
                     "type": "BadRequestError", "param": None, "code": 400}
            return JSONResponse({"error": error}, status_code=400)
        return StreamingResponse(self._stream(request), media_type="text/event-stream")

    async def models(self, request: Request) -> Response:
        while self.models_wait_for_streams and self.streams_running:
            await asyncio.sleep(0.05)
        return JSONResponse({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    async def count(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        return JSONResponse({"count": len(str(body.get("input", "")).split())})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
            Route("/v1/models", self.models),
            Route("/extras/tokenize/count", self.count, methods=["POST"]),
        ])


def _is_title(body: dict[str, Any]) -> bool:
    return str(body["messages"][0]["content"]).startswith(TITLE_PROMPT.partition("{message}")[0])


@contextmanager
def running_fake_engine(mode: Mode, port: int, **options: Any) -> Iterator[FakeEngine]:
    engine = FakeEngine(mode=mode, port=port, **options)
    server = uvicorn.Server(uvicorn.Config(engine.app(), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield engine
    finally:
        # A stalled or silent handler never ends by itself: don't wait for it.
        server.should_exit = server.force_exit = True
        thread.join(10)
