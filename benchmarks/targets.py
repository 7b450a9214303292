"""What a benchmark sends its requests to: an OpenAI-compatible URL (the engine, or the app's
/v1), the app's REST /api/chat, or a Gradio endpoint through `gradio_client`.

Each target answers one request with a `Sample`: when it started, when each piece of the
answer arrived, and how many tokens it had. The client side is kept cheap and the same for
every SSE path (one `json.loads` per event on a warm `httpx` client), because it shares the
machine's cores with what it measures.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


@dataclass
class Sample:
    started: float
    ended: float = 0.0
    arrivals: list[float] = field(default_factory=list)  # one per piece with text
    output_tokens: int = 0
    error: str | None = None

    @property
    def ttft(self) -> float | None:
        return self.arrivals[0] - self.started if self.arrivals else None

    @property
    def e2e(self) -> float:
        return self.ended - self.started


class Target(Protocol):
    name: str

    async def open(self, concurrency: int) -> None: ...
    async def one(self, prompt: str, max_tokens: int) -> Sample: ...
    async def close(self) -> None: ...


def words(text: str) -> int:
    """Tokens when no usage comes back: exact for the fake engine (one word a token)."""
    return len(text.split())


class SseTarget:
    """An OpenAI chunk stream over SSE: `/v1/chat/completions` anywhere, or the app's /api/chat."""

    def __init__(self, name: str, url: str, headers: dict[str, str], model: str | None) -> None:
        self.name, self._url, self._headers, self._model = name, url, headers, model
        self._client: httpx.AsyncClient | None = None

    async def open(self, concurrency: int) -> None:
        # A kept-alive connection is dropped before uvicorn's 5 s keep-alive timeout ends it:
        # at httpx's own expiry (also 5 s), a request sent as the server closed the connection
        # failed with ReadError and never reached the app (the soak saw 3 in 3,355 answers).
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=concurrency,
                              keepalive_expiry=2.0)
        self._client = httpx.AsyncClient(headers=self._headers, timeout=httpx.Timeout(600.0),
                                         limits=limits)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _body(self, prompt: str, max_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = {"messages": [{"role": "user", "content": prompt}],
                                "max_tokens": max_tokens, "stream": True}
        if self._model:
            body["model"] = self._model
        if self._url.endswith("/chat/completions"):
            body["stream_options"] = {"include_usage": True}
        return body

    async def one(self, prompt: str, max_tokens: int) -> Sample:
        assert self._client is not None
        sample = Sample(time.perf_counter())
        text: list[str] = []
        try:
            async with self._client.stream("POST", self._url,
                                           json=self._body(prompt, max_tokens)) as response:
                if response.status_code != 200:
                    await response.aread()
                    sample.error = f"HTTP {response.status_code}"
                    return sample
                async for line in response.aiter_lines():
                    self._event(line, sample, text)
        except (httpx.HTTPError, ValueError) as exc:
            sample.error = type(exc).__name__
        finally:
            sample.ended = time.perf_counter()
        if not sample.output_tokens:
            sample.output_tokens = words("".join(text))
        return sample

    @staticmethod
    def _event(line: str, sample: Sample, text: list[str]) -> None:
        if not line.startswith("data: ") or line == "data: [DONE]":
            return
        event = json.loads(line[6:])
        if "error" in event:
            sample.error = str(event["error"].get("code") or "stream error")
        if event.get("usage"):
            sample.output_tokens = int(event["usage"]["completion_tokens"])
        for choice in event.get("choices", ()):
            content = choice.get("delta", {}).get("content")
            if content:
                sample.arrivals.append(time.perf_counter())
                text.append(content)


GRADIO_POLL_S = 0.005  # how often a Gradio job's updates are looked at: TTFT's resolution


class GradioTarget:
    """A Gradio endpoint through `gradio_client`, as a developer calls it: one Client per
    worker (made one after another before the step: a hundred fetching the app's config at
    once time out), each used from a thread of its own, as the client is synchronous,
    iterating the job's updates. Each update is the answer so far."""

    def __init__(self, name: str, url: str, api_name: str, headers: dict[str, str],
                 extra_args: tuple[Any, ...] = ()) -> None:
        self.name, self._url, self._api_name = name, url, api_name
        self._headers, self._extra = headers, extra_args
        self._idle: asyncio.Queue[Any] = asyncio.Queue()
        self._threads: ThreadPoolExecutor | None = None

    async def open(self, concurrency: int) -> None:
        from gradio_client import Client  # imported when used: it is slow to import

        # asyncio's default pool has min(32, cores + 4) threads: too few for the workers.
        self._threads = ThreadPoolExecutor(max_workers=concurrency)
        loop = asyncio.get_running_loop()
        for _ in range(concurrency):
            self._idle.put_nowait(await loop.run_in_executor(
                self._threads, lambda: Client(self._url, headers=self._headers, verbose=False)))

    async def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=False)

    def _one(self, client: Any, prompt: str) -> Sample:
        sample = Sample(time.perf_counter())
        answer = ""
        try:
            job = client.submit(prompt, *self._extra, api_name=self._api_name)
            seen = 0
            while True:
                done = job.done()
                outputs = job.outputs()
                for update in outputs[seen:]:
                    text = update[0] if isinstance(update, (tuple, list)) else update
                    if isinstance(text, str) and len(text) > len(answer):
                        sample.arrivals.append(time.perf_counter())
                        answer = text
                seen = len(outputs)
                if done:
                    break
                # Iterating the job instead polls every millisecond under a lock: a hundred
                # workers doing that took more CPU than the app they measured.
                time.sleep(GRADIO_POLL_S)
            job.result()  # raises what the server reported
        except Exception as exc:
            sample.error = type(exc).__name__
        sample.ended = time.perf_counter()
        sample.output_tokens = words(answer)
        return sample

    async def one(self, prompt: str, max_tokens: int) -> Sample:
        assert self._threads is not None
        client = await self._idle.get()
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._threads, self._one, client, prompt)
        finally:
            self._idle.put_nowait(client)


def app_token(url: str, username: str, password: str) -> str:
    response = httpx.post(f"{url}/api/auth/login", json={"username": username,
                                                          "password": password}, timeout=30)
    response.raise_for_status()
    return str(response.json()["access_token"])


def make_target(kind: str, url: str, *, token: str | None = None, model: str | None = None,
                max_tokens: int = 256) -> Target:
    """kind: openai (url is a base ending in /v1), rest (the app), gradio (the app's /chat),
    gradio-plain (a ChatInterface's /chat), gradio-floor (benchmarks/plain_gradio.py's /floor)."""
    url = url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if kind == "openai":
        return SseTarget(kind, f"{url}/chat/completions", headers, model)
    if kind == "rest":
        return SseTarget(kind, f"{url}/api/chat", headers, model)
    if kind == "gradio":
        return GradioTarget(kind, f"{url}/", "/chat", headers, (None, None, None, max_tokens))
    if kind == "gradio-plain":
        return GradioTarget(kind, f"{url}/", "/chat", headers)
    if kind == "gradio-floor":
        return GradioTarget(kind, f"{url}/", "/floor", headers)
    raise ValueError(f"unknown target {kind!r}")
