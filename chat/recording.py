"""Storing what a turn produced, just after it ends, off the answer's path.

The answer, its token counts and its usage row are written by the batch writer; observers
(metrics, the request log) see each usage row; a first answer gets a generated title.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from chat.context import Count
from chat.titles import TitleJob, TitleWriter
from chat.turn import STATUS_CODES, ChatTurn
from storage import drafts, turns
from storage.usage import UsageRecord
from storage.writer import BatchWriter

log = logging.getLogger(__name__)

UsageObserver = Callable[[UsageRecord], None]


class Recorder:
    def __init__(self, writer: BatchWriter, count_tokens: Count, titles: TitleWriter,
                 observers: Iterable[UsageObserver] = (), *, auto_titles: bool,
                 checkpoint_s: float = 2.0) -> None:
        self._writer = writer
        # The active engine's tokenizer, for a turn that never reached a replica.
        self._count_tokens = count_tokens
        self._titles = titles
        self._observers = tuple(observers)
        self._auto_titles = auto_titles
        self._checkpoint_s = checkpoint_s
        self._pending: dict[int, asyncio.Task[None]] = {}

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
        await self._titles.close()

    async def _record(self, turn: ChatTurn, latency_ms: int) -> None:
        if turn.checkpoint is not None:  # so no late save recreates the draft's text
            await asyncio.gather(turn.checkpoint, return_exceptions=True)
        # The replica that wrote the answer counts it: replicas may differ in tokenizer.
        count = turn.client.count_tokens if turn.client else self._count_tokens
        turn.input_tokens, turn.output_tokens, user_tokens = await _token_counts(count, turn)
        usage = _usage_row(turn, latency_ms)
        answer = turns.Answer(turn.conversation_id, turn.user_message_id, user_tokens,
                              turn.answer, turn.thinking or None, turn.finish_reason)
        await self._writer.write(lambda c: turns.answer(c, answer, usage))
        for observer in self._observers:
            try:
                observer(usage)
            except Exception:
                log.exception("usage observer failed")
        if (self._auto_titles and turn.first_turn and turn.status == "completed"
                and turn.source == "chat" and turn.client is not None):
            self._titles.add(TitleJob(turn.client, turn.conversation_id, turn.model,
                                      turn.messages[-1]["content"]))


def _usage_row(turn: ChatTurn, latency_ms: int) -> UsageRecord:
    status_code = STATUS_CODES[turn.status]
    if turn.status == "failed" and not turn.content:
        status_code = 503
    return UsageRecord(
        request_id=turn.request_id, user_id=turn.user.id, conv_id=turn.conversation_id,
        model=turn.model, status=turn.status, status_code=status_code,
        latency_ms=latency_ms, ttft_ms=turn.ttft_ms, input_tokens=turn.input_tokens,
        output_tokens=turn.output_tokens, error=turn.error,
    )


async def _token_counts(count: Count, turn: ChatTurn) -> tuple[int | None, int | None, int | None]:
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
