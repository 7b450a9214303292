"""Storing what a turn produced, just after it ends, off the answer's path.

The answer, its token counts and its usage row are written by the batch writer; observers
(metrics, the request log) see each usage row; a first answer gets a generated title.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from chat.titles import TitleJob, TitleWriter
from chat.turn import STATUS_CODES, ChatTurn
from engine.manager import EngineManager
from storage import conversations, drafts
from storage.db import Database
from storage.usage import UsageRecord
from storage.usage import insert as insert_usage
from storage.writer import BatchWriter

log = logging.getLogger(__name__)


class Recorder:
    def __init__(self, db: Database, writer: BatchWriter, engine: EngineManager,
                 auto_titles: bool, checkpoint_s: float = 2.0) -> None:
        self._db = db
        self._checkpoint_s = checkpoint_s
        self._writer = writer
        self._engine = engine
        self._auto_titles = auto_titles
        self.observers: list[Callable[[UsageRecord], None]] = []
        self._pending: dict[int, asyncio.Task[None]] = {}
        self.titles = TitleWriter(writer, engine)

    def checkpoint(self, turn: ChatTurn) -> None:
        """Save the answer so far, at most every checkpoint_s and one save at a time, without
        waiting for it: the answer streams on."""
        now = time.monotonic()
        if now - turn.checkpointed_at < self._checkpoint_s or (
                turn.checkpoint is not None and not turn.checkpoint.done()):
            return
        turn.checkpointed_at = now
        message_id, content, reasoning = turn.user_message_id, turn.answer, turn.thinking
        turn.checkpoint = asyncio.get_running_loop().create_task(self._writer.write(
            lambda c: drafts.update(c, message_id, content, reasoning)))

    def schedule(self, turn: ChatTurn) -> None:
        latency_ms = int((time.monotonic() - turn.started) * 1000)
        task = asyncio.get_running_loop().create_task(self._record(turn, latency_ms))
        self._pending[turn.conversation_id] = task
        task.add_done_callback(lambda t: self._forget(turn.conversation_id, t))

    def _forget(self, conv_id: int, task: asyncio.Task[None]) -> None:
        if self._pending.get(conv_id) is task:
            del self._pending[conv_id]
        if not task.cancelled() and task.exception():
            log.error("could not store chat result", exc_info=task.exception())

    async def wait(self, conv_id: int) -> None:
        """Until the conversation's last answer is stored (its history is complete)."""
        task = self._pending.get(conv_id)
        if task is not None:
            await asyncio.shield(task)

    async def drain(self) -> None:
        while self._pending:
            await asyncio.gather(*self._pending.values(), return_exceptions=True)
        await self.titles.close()

    async def _record(self, turn: ChatTurn, latency_ms: int) -> None:
        if turn.checkpoint is not None:  # so no late save recreates the draft's text
            await asyncio.gather(turn.checkpoint, return_exceptions=True)
        # The replica that wrote the answer counts it: replicas may differ in tokenizer.
        count = turn.client.count_tokens if turn.client else self._engine.count_tokens
        input_tokens, output_tokens, user_tokens = await _token_counts(count, turn)
        turn.input_tokens, turn.output_tokens = input_tokens, output_tokens
        status_code = STATUS_CODES[turn.status]
        if turn.status == "failed" and not turn.content:
            status_code = 503
        usage = UsageRecord(
            request_id=turn.request_id, user_id=turn.user.id, conv_id=turn.conversation_id,
            model=turn.model, status=turn.status, status_code=status_code,
            latency_ms=latency_ms, ttft_ms=turn.ttft_ms, input_tokens=input_tokens,
            output_tokens=output_tokens, error=turn.error,
        )

        def write(conn: Any) -> None:
            if user_tokens is not None:
                conn.execute("UPDATE messages SET token_in = ? WHERE id = ?",
                             [user_tokens, turn.user_message_id])
            conversations.add_message(
                conn, turn.conversation_id, "assistant", turn.answer,
                token_in=input_tokens, token_out=output_tokens, status=turn.status,
                reasoning=turn.thinking or None,
            )
            insert_usage(conn, usage)
            drafts.finish(conn, turn.user_message_id)

        await self._writer.write(write)
        for observer in self.observers:
            try:
                observer(usage)
            except Exception:
                log.exception("usage observer failed")
        if (self._auto_titles and turn.first_turn and turn.status == "completed"
                and turn.source == "chat" and turn.client is not None):
            self.titles.add(TitleJob(turn.client, turn.conversation_id, turn.model,
                                     turn.messages[-1]["content"]))


async def _token_counts(count: Callable[[str], Awaitable[int | None]],
                        turn: ChatTurn) -> tuple[int | None, ...]:
    """Upstream usage when the engine reports it, else the engine's tokenizer."""
    user_tokens = await count(turn.messages[-1]["content"])
    if turn.usage:
        return turn.usage.get("prompt_tokens"), turn.usage.get("completion_tokens"), user_tokens
    input_tokens = turn.prompt_tokens
    if input_tokens is None:
        input_tokens = await count("\n".join(m["content"] for m in turn.messages))
    generated = turn.thinking + turn.answer
    output_tokens = await count(generated) if generated else 0
    return input_tokens, output_tokens, user_tokens
