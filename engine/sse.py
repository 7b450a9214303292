"""An engine's streamed chat completion, read from the response's bytes.

The `openai` SDK still sends the request and raises its errors (status, connection, timeout);
only the stream's body is read here. Its SSE decoder and a pydantic object per chunk cost
the app ~40 ms of CPU per 256-token answer (py-spy under `python -m benchmarks.compare`),
more than everything else the app does for the answer; lines split at newlines and decoded
with orjson cost a fraction of that. Events follow the SSE rules the engines use: `data:`
lines (vLLM ends them with "\\n", llama-cpp-python with "\\r\\n"), an empty line ends an event,
`[DONE]` ends the stream, and an event carrying `error` is the engine failing mid-answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import httpx2
import openai
import orjson

Chunk = dict[str, Any]  # one chat.completion.chunk, as the engine sent it


class EngineStream:
    def __init__(self, response: httpx2.Response) -> None:
        self.response = response

    async def __aiter__(self) -> AsyncIterator[Chunk]:
        buffer = b""
        data: list[bytes] = []
        async for received in self.response.aiter_bytes():
            buffer += received
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                line = line.rstrip(b"\r")
                if line.startswith(b"data:"):
                    data.append(line[5:].lstrip(b" "))
                elif not line and data:
                    event, data = b"\n".join(data), []
                    if event == b"[DONE]":
                        return
                    yield self._chunk(event)

    def _chunk(self, event: bytes) -> Chunk:
        chunk = orjson.loads(event)
        if isinstance(chunk, dict) and chunk.get("error"):
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else None
            raise openai.APIError(str(message or "An error occurred during streaming"),
                                  self.response.request, body=error)
        return chunk if isinstance(chunk, dict) else {}

    async def close(self) -> None:
        await self.response.aclose()

    async def __aenter__(self) -> EngineStream:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()
