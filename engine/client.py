"""Talking to the engine's OpenAI-compatible API through the `openai` client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any, TypeVar

import httpx
import httpx2
import openai
from openai import AsyncOpenAI, Timeout

from engine.http import engine_http, openai_http
from engine.sse import EngineStream

T = TypeVar("T")


class FirstTokenTimeout(Exception):
    """The engine accepted the request but sent nothing before the deadline."""

    def __init__(self, limit_s: float) -> None:
        super().__init__(f"no answer within {limit_s:g} s")
        self.limit_s = limit_s


async def first_chunk_by(chunks: AsyncIterable[T], deadline: float, limit_s: float
                         ) -> AsyncIterator[T]:
    """The stream's items, the first of which must arrive before `deadline` (loop time)."""
    iterator = aiter(chunks)
    try:
        async with asyncio.timeout_at(deadline):
            first = await anext(iterator)
    except StopAsyncIteration:
        return
    except TimeoutError as exc:
        raise FirstTokenTimeout(limit_s) from exc
    yield first
    async for item in iterator:
        yield item


class EngineClient:
    """One client for the app's lifetime; the engine may be llama.cpp, vLLM or a remote server."""

    def __init__(self, base_url: str, api_key: str, request_timeout_s: float,
                 tokenize_timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        # For the engine's own endpoints (tokenizer); the openai client brings its own. Short:
        # llama.cpp answers them only between generations, and a count is worth little waiting.
        self._http = engine_http(
            timeout=httpx.Timeout(tokenize_timeout_s, connect=min(tokenize_timeout_s, 5.0)),
            headers={"Authorization": f"Bearer {api_key}"})
        # No retries: a retry would hide an engine that is down and double the wait.
        self.openai = AsyncOpenAI(
            base_url=f"{self.base_url}/v1",
            api_key=api_key,
            max_retries=0,
            timeout=Timeout(request_timeout_s, connect=5.0),
            http_client=openai_http(),
        )

    async def stream_chat(
        self, model: str, messages: list[dict[str, str]], temperature: float, max_tokens: int,
        sampling: Mapping[str, Any] | None = None,
    ) -> EngineStream:
        """The engine's chunks as the dicts it sent (engine/sse.py). `sampling`: further
        OpenAI request fields (top_p, stop, seed, penalties), checked by the caller."""
        response = await self.openai.chat.completions.with_raw_response.create(  # type: ignore[call-overload]
            model=model,
            messages=messages,
            temperature=temperature,
            max_tokens=max_tokens,
            stream=True,
            stream_options={"include_usage": True},
            **(sampling or {}),
        )
        return EngineStream(response.http_response)

    async def count_tokens(self, text: str) -> int | None:
        """Token count from the engine's own tokenizer (llama.cpp or vLLM); None if neither answers."""
        attempts: list[tuple[str, dict[str, Any], str]] = [
            ("/extras/tokenize/count", {"input": text}, "count"),
            ("/tokenize", {"prompt": text}, "count"),
        ]
        for path, body, key in attempts:
            try:
                response = await self._http.post(f"{self.base_url}{path}", json=body)
            except httpx.HTTPError:
                return None
            if response.status_code == 200:
                return int(response.json()[key])
        return None

    async def close(self) -> None:
        await self.openai.close()
        await self._http.aclose()


def describe_engine_error(exc: Exception, mid_answer: bool) -> str:
    """A short, user-facing reason for an engine failure."""
    if isinstance(exc, FirstTokenTimeout):
        return (f"The model engine did not start answering within {exc.limit_s:g} s."
                " It may be overloaded or stuck.")
    if mid_answer and not isinstance(exc, openai.APIStatusError):
        return "The model engine stopped answering in the middle of the reply."
    if isinstance(exc, openai.APIConnectionError):
        return "The model engine is not reachable. It may be starting or may have stopped."
    if isinstance(exc, openai.APIStatusError):
        message = _error_message(exc.body) or exc.message
        return f"The model engine refused the request ({exc.status_code}): {message}"
    if isinstance(exc, (httpx.HTTPError, httpx2.HTTPError, openai.APIError)):
        return "The model engine stopped answering in the middle of the reply."
    return f"The model engine failed: {exc}"


def _error_message(body: object) -> str | None:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return None
