"""BENCHMARK DOUBLE: an OpenAI-compatible engine that streams as fast as it is told to.

It measures what sits in front of an engine (the app, a plain Gradio chat), so it does as
little as it can: every chunk is prepared bytes. One token is one word ("w17 "), so a client
that gets no usage counts tokens by words. Configurable: time to first token, tokens per second
(0: as fast as the loop goes), answer length (the request's max_tokens caps it), and a failure
rate (that share of requests is refused with a 500). Tests of the app use tests/doubles/ and
the real llama.cpp engine instead.

    .venv/bin/python -m benchmarks.fake_engine --port 9100 --ttft-ms 0 --tokens-per-s 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODEL = "smollm2-135m-instruct"  # the default profile's served name, so the app accepts it


@dataclass(frozen=True)
class Behaviour:
    ttft_s: float = 0.0
    tokens_per_s: float = 0.0  # 0: no pause between tokens
    output_tokens: int = 256
    failure_rate: float = 0.0
    model: str = MODEL


def _chunk(body: dict[str, object]) -> bytes:
    return f"data: {json.dumps(body)}\n\n".encode()


def _delta(text: str | None, finish_reason: str | None = None) -> bytes:
    delta = {} if text is None else {"content": text}
    return _chunk({"id": "bench", "object": "chat.completion.chunk", "created": 0,
                   "model": MODEL, "choices": [{"index": 0, "delta": delta,
                                                "finish_reason": finish_reason}]})


TOKENS = [_delta(f"w{i} ") for i in range(4096)]


class FakeEngine:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.served = 0

    async def _stream(self, tokens: int, prompt_tokens: int, usage: bool) -> AsyncIterator[bytes]:
        pause = 1 / self.behaviour.tokens_per_s if self.behaviour.tokens_per_s else 0.0
        started = time.monotonic()
        await asyncio.sleep(self.behaviour.ttft_s)
        yield _delta("")  # vLLM opens with the role and no text
        for i in range(tokens):
            yield TOKENS[i % len(TOKENS)]
            # Paced against the clock, so a slow consumer does not slow the next token.
            await asyncio.sleep(max(0.0, started + self.behaviour.ttft_s + (i + 1) * pause
                                    - time.monotonic()) if pause else 0)
        yield _delta(None, "length" if tokens else "stop")
        if usage:
            yield _chunk({"id": "bench", "object": "chat.completion.chunk", "created": 0,
                          "model": MODEL, "choices": [],
                          "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": tokens,
                                    "total_tokens": prompt_tokens + tokens}})
        yield b"data: [DONE]\n\n"
        self.served += 1

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        if random.random() < self.behaviour.failure_rate:
            return JSONResponse({"error": {"message": "injected failure", "type": "fake",
                                           "code": 500}}, status_code=500)
        tokens = min(int(body.get("max_tokens") or self.behaviour.output_tokens),
                     self.behaviour.output_tokens)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        if not body.get("stream"):
            await asyncio.sleep(self.behaviour.ttft_s)
            text = "".join(f"w{i} " for i in range(tokens))
            return JSONResponse({
                "id": "bench", "object": "chat.completion", "created": 0, "model": MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "length"}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": tokens,
                          "total_tokens": prompt_tokens + tokens}})
        usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(self._stream(tokens, prompt_tokens, usage),
                                 media_type="text/event-stream")

    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [
            {"id": self.behaviour.model, "object": "model", "owned_by": "benchmark"}]})

    async def count(self, request: Request) -> Response:
        """llama-cpp-python's tokenizer endpoint: one word, one token."""
        body = await request.json()
        return JSONResponse({"count": len(str(body.get("input", "")).split())})

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "served": self.served})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
            Route("/v1/models", self.models),
            Route("/extras/tokenize/count", self.count, methods=["POST"]),
            Route("/health", self.health),
        ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--ttft-ms", type=float, default=0.0)
    parser.add_argument("--tokens-per-s", type=float, default=0.0)
    parser.add_argument("--output-tokens", type=int, default=256)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    args = parser.parse_args()
    engine = FakeEngine(Behaviour(args.ttft_ms / 1000, args.tokens_per_s, args.output_tokens,
                                  args.failure_rate))
    uvicorn.run(engine.app(), host=args.host, port=args.port, log_level="warning",
                access_log=False, lifespan="off")


if __name__ == "__main__":
    main()
