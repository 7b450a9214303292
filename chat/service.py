"""The chat service: one answer from the engine, streamed, and everything about it stored.

ui/ and api/ call this; it calls the engine client and storage, never the other way.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import anyio

from chat.messages import build_messages, flatten_content, title_from
from engine.client import EngineClient, describe_engine_error
from engine.manager import EngineManager
from errors import AppError, EngineError, EngineUnavailable, InvalidInput, NotFound
from settings import Settings
from storage import conversations
from storage.conversations import MessageStatus
from storage.db import Database
from storage.usage import UsageRecord
from storage.usage import insert as insert_usage
from storage.users import User
from storage.writer import BatchWriter

log = logging.getLogger(__name__)

STATUS_CODES: dict[MessageStatus, int] = {"completed": 200, "cancelled": 499, "failed": 502}


@dataclass
class ChatOptions:
    """What a caller may set for one turn; None means the profile's default."""

    model: str | None = None
    system_prompt: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None


@dataclass
class Delta:
    content: str = ""
    reasoning: str = ""


@dataclass
class ChatTurn:
    """A prepared request: validated, its conversation and user message already stored."""

    request_id: str
    user: User
    conversation_id: int
    user_message_id: int
    model: str
    temperature: float
    max_tokens: int
    messages: list[dict[str, str]]
    content: list[str] = field(default_factory=list)
    status: MessageStatus = "completed"
    error: str | None = None
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    started: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    client: EngineClient | None = None

    @property
    def answer(self) -> str:
        return "".join(self.content)


class ChatService:
    def __init__(
        self, settings: Settings, db: Database, engine: EngineManager, writer: BatchWriter
    ) -> None:
        self._settings = settings
        self._db = db
        self._engine = engine
        self._writer = writer
        # Called with each stored usage row: metrics and the request log.
        self.observers: list[Callable[[UsageRecord], None]] = []
        self._recording: dict[int, asyncio.Task[None]] = {}
        self.active_streams = 0
        self._finished_at: deque[float] = deque(maxlen=100_000)

    @property
    def model_ids(self) -> list[str]:
        return self._engine.profile.model_names

    async def start_turn(
        self,
        user: User,
        new_messages: Sequence[Mapping[str, Any]],
        options: ChatOptions,
        conversation_id: int | None = None,
        request_id: str | None = None,
    ) -> ChatTurn:
        """Validate, then store the conversation and the user's message before asking the engine."""
        temperature, max_tokens = self._validate(new_messages, options)
        system_prompt = options.system_prompt
        history: list[dict[str, Any]] = []
        if conversation_id is not None:
            conv = await self.get_conversation(user, conversation_id)
            await self._wait_for_recording(conversation_id)
            history = await self._db.run(lambda c: conversations.list_messages(c, conversation_id))
            if system_prompt is None:
                system_prompt = conv.system_prompt
        for message in new_messages:
            if message["role"] == "system":
                system_prompt = flatten_content(message.get("content"))
        model = self._engine.profile.served_model_name
        conv_id, user_message_id = await self._db.run(
            lambda c: self._store_turn(c, user, conversation_id, system_prompt, model, new_messages)
        )
        return ChatTurn(
            user_message_id=user_message_id,
            request_id=request_id or uuid.uuid4().hex,
            user=user,
            conversation_id=conv_id,
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            messages=build_messages(system_prompt, history, new_messages),
        )

    def _validate(
        self, new_messages: Sequence[Mapping[str, Any]], options: ChatOptions
    ) -> tuple[float, int]:
        if not new_messages or new_messages[-1].get("role") != "user":
            raise InvalidInput("The last message must come from the user", code="no_user_message")
        for message in new_messages:
            if message.get("role") not in ("system", "user", "assistant"):
                raise InvalidInput("A message's role must be system, user or assistant",
                                   code="invalid_role")
            text = flatten_content(message.get("content"))
            if len(text) > self._settings.max_message_chars:
                raise InvalidInput(
                    f"A message may have at most {self._settings.max_message_chars} characters",
                    code="message_too_long",
                )
        if not flatten_content(new_messages[-1].get("content")).strip():
            raise InvalidInput("The message is empty", code="empty_message")
        if options.model is not None and options.model not in self.model_ids:
            raise InvalidInput(
                f"Unknown model {options.model!r}; available: {', '.join(self.model_ids)}",
                code="model_not_found",
            )
        sampling = self._engine.profile.sampling
        temperature = sampling.temperature if options.temperature is None else options.temperature
        if not 0.0 <= temperature <= 2.0:
            raise InvalidInput("temperature must be between 0 and 2", code="invalid_temperature")
        max_tokens = min(sampling.max_tokens, self._settings.max_tokens_limit)
        if options.max_tokens is not None:
            max_tokens = options.max_tokens
        if not 1 <= max_tokens <= self._settings.max_tokens_limit:
            raise InvalidInput(
                f"max_tokens must be between 1 and {self._settings.max_tokens_limit}",
                code="invalid_max_tokens",
            )
        return temperature, max_tokens

    @staticmethod
    def _store_turn(
        conn: Any,
        user: User,
        conversation_id: int | None,
        system_prompt: str | None,
        model: str,
        new_messages: Sequence[Mapping[str, Any]],
    ) -> tuple[int, int]:
        """Returns the conversation's id and the id of this turn's user message."""
        conn.execute("BEGIN TRANSACTION")
        message_id = 0
        try:
            if conversation_id is None:
                first_text = flatten_content(new_messages[-1].get("content"))
                conv = conversations.create(conn, user.id, title_from(first_text), system_prompt, model)
                conversation_id = conv.id
            else:
                conversations.update_settings(conn, conversation_id, system_prompt, model)
            for message in new_messages:
                if message["role"] != "system":
                    text = flatten_content(message.get("content"))
                    message_id = conversations.add_message(
                        conn, conversation_id, str(message["role"]), text)
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
        return conversation_id, message_id

    async def stream(self, turn: ChatTurn) -> AsyncGenerator[Delta, None]:
        """Yield the answer as it arrives. Closing this generator closes the engine's stream,
        which makes vLLM and llama.cpp stop generating."""
        self.active_streams += 1
        try:
            async with self._engine.admission():
                routes = self._engine.routes()
                for attempt, route in enumerate(routes, start=1):
                    turn.client = route.client
                    try:
                        with route.busy():
                            async with aclosing(self._stream_from(route.client, turn)) as deltas:
                                async for delta in deltas:
                                    yield delta
                        return
                    except Exception as exc:
                        if turn.content or attempt == len(routes):
                            raise
                        # Nothing reached the user yet: another replica may answer.
                        route.failed(describe_engine_error(exc, mid_answer=False))
        except (GeneratorExit, asyncio.CancelledError):
            turn.status = "cancelled"
            raise
        except AppError as exc:
            turn.status, turn.error = "failed", exc.message
            raise
        except Exception as exc:
            turn.status, turn.error = "failed", self._describe(exc, turn)
            log.warning("chat %s failed: %r", turn.request_id, exc)
            raise (EngineError if turn.content else EngineUnavailable)(turn.error) from exc
        finally:
            self.active_streams -= 1
            self._finished_at.append(time.monotonic())
            self._schedule_recording(turn)

    async def _stream_from(self, client: EngineClient, turn: ChatTurn) -> AsyncGenerator[Delta, None]:
        upstream = await client.stream_chat(
            turn.model, turn.messages, turn.temperature, turn.max_tokens
        )
        try:
            async for chunk in upstream:
                if chunk.usage is not None:
                    turn.usage = chunk.usage.model_dump()
                for choice in chunk.choices:
                    delta = _delta_of(choice.delta)
                    if choice.finish_reason:
                        turn.finish_reason = choice.finish_reason
                    if delta.content or delta.reasoning:
                        if turn.first_token_at is None:
                            turn.first_token_at = time.monotonic()
                        turn.content.append(delta.content)
                        yield delta
        finally:
            with anyio.CancelScope(shield=True):
                await upstream.close()

    def _describe(self, exc: Exception, turn: ChatTurn) -> str:
        reason = describe_engine_error(exc, mid_answer=bool(turn.content))
        if self._engine.interruption:
            return f"The answer was cut off: {self._engine.interruption}."
        return reason

    def _schedule_recording(self, turn: ChatTurn) -> None:
        latency_ms = int((time.monotonic() - turn.started) * 1000)
        task = asyncio.get_running_loop().create_task(self._record(turn, latency_ms))
        self._recording[turn.conversation_id] = task
        task.add_done_callback(lambda t: self._forget(turn.conversation_id, t))

    def _forget(self, conv_id: int, task: asyncio.Task[None]) -> None:
        if self._recording.get(conv_id) is task:
            del self._recording[conv_id]
        if not task.cancelled() and task.exception():
            log.error("could not store chat result", exc_info=task.exception())

    async def _wait_for_recording(self, conv_id: int) -> None:
        task = self._recording.get(conv_id)
        if task is not None:
            await asyncio.shield(task)

    def stats(self) -> dict[str, int]:
        """App-side load: answers streaming now, and requests that ended in the last minute."""
        cutoff = time.monotonic() - 60
        while self._finished_at and self._finished_at[0] < cutoff:
            self._finished_at.popleft()
        return {"active_streams": self.active_streams,
                "requests_last_minute": len(self._finished_at)}

    async def drain(self) -> None:
        """Wait until every answer that ended has been stored (on shutdown and in tests)."""
        while self._recording:
            await asyncio.gather(*self._recording.values(), return_exceptions=True)

    async def _record(self, turn: ChatTurn, latency_ms: int) -> None:
        input_tokens, output_tokens, user_tokens = await self._token_counts(turn)
        ttft_ms = (
            int((turn.first_token_at - turn.started) * 1000) if turn.first_token_at else None
        )
        status_code = STATUS_CODES[turn.status]
        if turn.status == "failed" and not turn.content:
            status_code = 503
        usage = UsageRecord(
            request_id=turn.request_id, user_id=turn.user.id, conv_id=turn.conversation_id,
            model=turn.model, status=turn.status, status_code=status_code,
            latency_ms=latency_ms, ttft_ms=ttft_ms, input_tokens=input_tokens,
            output_tokens=output_tokens, error=turn.error,
        )

        def write(conn: Any) -> None:
            if user_tokens is not None:
                conn.execute("UPDATE messages SET token_in = ? WHERE id = ?",
                             [user_tokens, turn.user_message_id])
            conversations.add_message(
                conn, turn.conversation_id, "assistant", turn.answer,
                token_in=input_tokens, token_out=output_tokens, status=turn.status,
            )
            insert_usage(conn, usage)

        await self._writer.write(write)
        for observer in self.observers:
            try:
                observer(usage)
            except Exception:
                log.exception("usage observer failed")

    async def _token_counts(self, turn: ChatTurn) -> tuple[int | None, int | None, int | None]:
        """Upstream usage when the engine reports it, else the engine's tokenizer."""
        client = turn.client or self._engine.routes()[0].client
        last_user = turn.messages[-1]["content"]
        user_tokens = await client.count_tokens(last_user)
        if turn.usage:
            return turn.usage.get("prompt_tokens"), turn.usage.get("completion_tokens"), user_tokens
        prompt = "\n".join(m["content"] for m in turn.messages)
        input_tokens = await client.count_tokens(prompt)
        output_tokens = await client.count_tokens(turn.answer) if turn.answer else 0
        return input_tokens, output_tokens, user_tokens

    async def get_conversation(self, user: User, conv_id: int) -> conversations.Conversation:
        """A conversation the user may read: their own, or any for an admin."""
        conv = await self._db.run(lambda c: conversations.get(c, conv_id))
        if conv is None or (conv.user_id != user.id and not user.is_admin):
            raise NotFound(f"Conversation {conv_id} not found", code="conversation_not_found")
        return conv

    async def conversation_messages(self, user: User, conv_id: int) -> list[dict[str, Any]]:
        await self.get_conversation(user, conv_id)
        return await self._db.run(lambda c: conversations.list_messages(c, conv_id))

    async def list_conversations(self, user: User, limit: int = 50) -> list[dict[str, Any]]:
        return await self._db.run(lambda c: conversations.list_for_user(c, user.id, limit))

    async def create_conversation(
        self, user: User, title: str | None, system_prompt: str | None
    ) -> conversations.Conversation:
        model = self._engine.profile.served_model_name
        return await self._db.run(
            lambda c: conversations.create(c, user.id, title, system_prompt, model)
        )


def _delta_of(delta: Any) -> Delta:
    if delta is None:
        return Delta()
    extra = getattr(delta, "model_extra", None) or {}
    reasoning = extra.get("reasoning") or extra.get("reasoning_content") or ""
    return Delta(content=delta.content or "", reasoning=str(reasoning))
