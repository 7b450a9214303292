"""Conversation titles written by the active model after the first answer."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from chat.reasoning import ThinkSplitter
from engine.client import EngineClient
from engine.manager import EngineManager, EngineState
from storage import conversations
from storage.writer import BatchWriter

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 60
# The opening of the first message is enough for a title, and keeps its cost to the engine low.
TITLE_INPUT_CHARS = 600
PROMPT = (
    "Write a title of at most six words for a conversation that starts with the message below. "
    "Use the language of the message. Reply with the title only, no quotes.\n\nMessage: {message}"
)


# What small models write before the title itself: "Sure! Here's a possible title:",
# "Title:", a chat role ("Sender:", "Assistant:"), "Subject:", "제목:".
LEAD_IN = re.compile(
    r"^(?:(?:sure|okay|ok)[!.,]?\s*)?"
    r"(?:here(?:'s| is) (?:a |the |my )?(?:possible |suggested |short |concise )?title"
    r"(?: for (?:the|this) (?:conversation|message|chat))?"
    r"|title|sender|assistant|user|subject|제목)\s*[:：\-–—]\s*",
    re.IGNORECASE)


def clean_title(text: str) -> str | None:
    """The title a model wrote, without thinking, lead-ins, quotes, markdown or a trailing
    period; None if nothing is left."""
    splitter = ThinkSplitter()
    _, answer = splitter.feed(text)
    answer += splitter.flush()[1]
    lines = [re.sub(r"[*`]+", "", line).strip() for line in answer.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > 1 and lines[0].endswith((":", "：")):  # "Here is a title:" above the title
        lines = lines[1:]
    if not lines:
        return None
    title = LEAD_IN.sub("", lines[0], count=1)
    title = title.strip(" \"'“”‘’#").rstrip(".。")
    if not title:
        return None
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1].rstrip() + "…"


async def generate_title(client: EngineClient, model: str, first_message: str) -> str | None:
    """A short title from the model, or None (the caller keeps its fallback).

    Streamed, so that stopping it (closing the stream) stops the engine too."""
    prompt = PROMPT.format(message=first_message[:TITLE_INPUT_CHARS])
    parts: list[str] = []
    try:
        stream = await client.stream_chat(model, [{"role": "user", "content": prompt}],
                                          temperature=0.2, max_tokens=24)
        async with stream:
            async for chunk in stream:
                parts += [(choice.get("delta") or {}).get("content") or ""
                          for choice in chunk.get("choices") or ()]
    except Exception as exc:
        log.info("no title generated: %s", exc)
        return None
    return clean_title("".join(parts))


@dataclass(frozen=True)
class TitleJob:
    client: EngineClient
    conversation_id: int
    model: str
    first_message: str


class TitleWriter:
    """Writes model titles after first answers without making anyone's answer wait.

    llama.cpp serves one request at a time, so a title there would hold up the next answer:
    titles run only once no answer has streamed for `quiet_s` (a follow-up typed at once finds
    the engine free; llama.cpp cannot stop a prompt it is reading), and one running when an
    answer starts is stopped and tried again afterwards. Engines that batch (vLLM, remote)
    write titles at once.
    """

    def __init__(self, writer: BatchWriter, engine: EngineManager, quiet_s: float = 2.0) -> None:
        self._writer = writer
        self._engine = engine
        self._quiet_s = quiet_s
        self._answers_streaming = 0
        self._queue: deque[TitleJob] = deque()
        self._running: dict[asyncio.Task[None], TitleJob] = {}
        self._last_answer_at = 0.0
        self._wake: asyncio.TimerHandle | None = None

    def _one_at_a_time(self) -> bool:
        return self._engine.profile.engine == "llama.cpp"

    def add(self, job: TitleJob) -> None:
        self._queue.append(job)
        self._start_next()

    def answer_started(self) -> None:
        self._answers_streaming += 1
        if not self._one_at_a_time():
            return
        for task, job in list(self._running.items()):
            self._queue.appendleft(job)
            task.cancel()

    def answer_ended(self) -> None:
        self._answers_streaming -= 1
        self._last_answer_at = time.monotonic()
        self._start_next()

    def _start_next(self) -> None:
        while self._queue:
            if self._one_at_a_time():
                if self._running or self._answers_streaming:
                    return
                quiet_for = time.monotonic() - self._last_answer_at
                if quiet_for < self._quiet_s:
                    self._wake_in(self._quiet_s - quiet_for)
                    return
            job = self._queue.popleft()
            task = asyncio.get_running_loop().create_task(self._write(job))
            self._running[task] = job
            task.add_done_callback(self._finished)

    def _wake_in(self, delay_s: float) -> None:
        if self._wake is not None:
            self._wake.cancel()
        self._wake = asyncio.get_running_loop().call_later(delay_s, self._start_next)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        if not task.cancelled() and task.exception():
            log.error("could not store a title", exc_info=task.exception())
        self._start_next()

    async def _write(self, job: TitleJob) -> None:
        if self._engine.state is not EngineState.READY:
            return
        title = await generate_title(job.client, job.model, job.first_message)
        if title:
            def write(conn: Any) -> None:
                conversations.set_title(conn, job.conversation_id, title, "model",
                                        only_if_source="first_message")
            await self._writer.write(write)

    async def close(self) -> None:
        """Titles not started yet are dropped (the first message stays the title)."""
        self._queue.clear()
        if self._wake is not None:
            self._wake.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
