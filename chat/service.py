"""The chat service: one answer from the engine, streamed, and everything about it stored.

ui/ and api/ call this; it calls the engine client and storage, never the other way.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from typing import Any

import anyio

from chat.admission import Admission, sent_texts
from chat.context import fit_context
from chat.conversations import ConversationService
from chat.limits import Slot
from chat.messages import build_messages, flatten_content, rewound
from chat.reasoning import ThinkSplitter, delta_from
from chat.recording import Recorder
from chat.turn import ChatOptions, ChatTurn, Delta
from chat.turn_store import rewind_and_start, store_new_turn
from chat.validation import validate_messages, validate_options, validate_sampling
from engine.client import EngineClient, FirstTokenTimeout, describe_engine_error, first_chunk_by
from engine.manager import EngineManager
from errors import AppError, EngineError, EngineUnavailable, InvalidInput
from settings import Settings
from storage import conversations, drafts, presets
from storage.db import Database
from storage.users import User
from storage.writer import BatchWriter

log = logging.getLogger(__name__)

class ChatService:
    def __init__(
        self, settings: Settings, db: Database, engine: EngineManager, writer: BatchWriter
    ) -> None:
        self._settings = settings
        self._db = db
        self._engine = engine
        self.recorder = Recorder(db, writer, engine, settings.auto_titles,
                                 settings.answer_checkpoint_s)
        # Banned words, the daily quota and the per-user limits, for every entry point.
        self.admission = Admission(settings, db)
        self.conversations = ConversationService(
            db, self.recorder.wait, self.admission.check_content,
            lambda: engine.profile.served_model_name)
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
        source: str = "chat",
    ) -> ChatTurn:
        """Validate and admit, then store the conversation and the user's message before
        asking the engine. The turn holds a slot among the user's answers at once until its
        stream ends."""
        temperature, max_tokens, sampling = self._validate(new_messages, options)
        # Only the owner continues a conversation: an admin reads others', never writes in them.
        conv = await self.conversations.owned(user, conversation_id) if conversation_id is not None else None
        slot = await self.admission.admit(user, sent_texts(new_messages, options.system_prompt))
        with slot.released_on_error():
            history: list[dict[str, Any]] = []
            if conv is not None:
                await self.recorder.wait(conv.id)
                history = await self._db.run(lambda c: conversations.list_messages(c, conv.id))
            system_prompt = await self._system_prompt(user, conv, new_messages, options)
            model = self._engine.profile.served_model_name
            messages, trimmed, prompt_tokens = await fit_context(
                build_messages(system_prompt, history, new_messages),
                self._engine.count_tokens,
                self._engine.profile.max_model_len, max_tokens,
            )
            request_id = request_id or uuid.uuid4().hex
            conv_id, user_message_id = await self._db.run(
                lambda c: store_new_turn(c, user, conversation_id, system_prompt, model,
                                         new_messages, source, request_id=request_id,
                                         prompt_tokens=prompt_tokens))
        return _holding(slot, ChatTurn(
            trimmed=trimmed, prompt_tokens=prompt_tokens, user_message_id=user_message_id,
            first_turn=not history, source=source, request_id=request_id, user=user,
            conversation_id=conv_id, model=model, temperature=temperature,
            max_tokens=max_tokens, messages=messages, sampling=sampling))

    async def _system_prompt(
        self, user: User, conv: conversations.Conversation | None,
        new_messages: Sequence[Mapping[str, Any]], options: ChatOptions,
    ) -> str | None:
        """A system message in the request, else the option, else the conversation's; a new
        conversation without any starts with the user's default prompt (every entry point,
        not only the chat page, which shows it in its box). An empty prompt asked for is kept:
        it means none."""
        prompt = options.system_prompt
        if prompt is None and conv is not None:
            prompt = conv.system_prompt
        for message in new_messages:
            if message["role"] == "system":
                prompt = flatten_content(message.get("content"))
        if prompt is None and conv is None:
            prompt = await self._db.run(lambda c: presets.default_system_prompt(c, user.id))
        return prompt

    async def start_resend(
        self, user: User, conv_id: int, options: ChatOptions, edited: str | None = None,
        request_id: str | None = None,
    ) -> ChatTurn:
        """Answer the conversation's last user message again (regenerate), after replacing its
        text when `edited` is given; the previous answer is removed, its usage row stays."""
        probe = [{"role": "user", "content": edited if edited is not None else "."}]
        temperature, max_tokens, sampling = self._validate(probe, options)
        conv = await self.conversations.owned(user, conv_id)
        slot = await self.admission.admit(user, sent_texts([], edited, options.system_prompt))
        with slot.released_on_error():
            await self.recorder.wait(conv_id)
            try:
                history = rewound(
                    await self._db.run(lambda c: conversations.list_messages(c, conv_id)), edited)
            except LookupError as exc:
                raise _nothing_to_resend() from exc
            system_prompt = options.system_prompt if options.system_prompt is not None else (
                conv.system_prompt)
            # Fitted before anything changes: an edit too long for the context keeps the old
            # answer.
            messages, trimmed, prompt_tokens = await fit_context(
                build_messages(system_prompt, history, []),
                self._engine.count_tokens,
                self._engine.profile.max_model_len, max_tokens)
            message_id = int(history[-1]["id"])
            request_id, model = request_id or uuid.uuid4().hex, self._engine.profile.served_model_name
            draft = drafts.Draft(message_id, conv_id, request_id, user.id, model, prompt_tokens)
            await self._db.run(lambda c: rewind_and_start(c, draft, edited))
        return _holding(slot, ChatTurn(
            request_id=request_id, user=user, conversation_id=conv_id,
            user_message_id=message_id, model=model, temperature=temperature,
            max_tokens=max_tokens, messages=messages, sampling=sampling, trimmed=trimmed,
            prompt_tokens=prompt_tokens, first_turn=len(history) == 1, source=conv.source))

    def _validate(
        self, new_messages: Sequence[Mapping[str, Any]], options: ChatOptions
    ) -> tuple[float, int, dict[str, Any]]:
        """temperature, max_tokens and the further sampling parameters for the engine."""
        validate_messages(new_messages, self._settings.max_message_chars)
        defaults = self._engine.profile.sampling
        temperature, max_tokens = validate_options(options, self.model_ids, defaults,
                                                   self._settings.max_tokens_limit)
        return temperature, max_tokens, validate_sampling(options, defaults)

    async def stream(self, turn: ChatTurn) -> AsyncGenerator[Delta, None]:
        """Yield the answer as it arrives. Closing this generator closes the engine's stream,
        which makes vLLM and llama.cpp stop generating. A completed answer is committed before
        this generator ends, so whatever a caller sends after it ([DONE], the UI's last update)
        is a promise kept even if the app dies the next moment."""
        self.active_streams += 1
        self.recorder.titles.answer_started()
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
                                    self.recorder.checkpoint(turn)
                        break
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
            if isinstance(exc, FirstTokenTimeout) and not turn.content:
                raise EngineUnavailable(turn.error, code="engine_timeout") from exc
            raise (EngineError if turn.content else EngineUnavailable)(turn.error) from exc
        finally:
            if turn.slot is not None:
                turn.slot.release()
            self.active_streams -= 1
            self._finished_at.append(time.monotonic())
            self.recorder.schedule(turn)
            self.recorder.titles.answer_ended()
        await self.recorder.wait(turn.conversation_id)

    async def _stream_from(self, client: EngineClient, turn: ChatTurn) -> AsyncGenerator[Delta, None]:
        # A stalled engine (connects, never answers) must not hold the user for the read
        # timeout: the request and its first chunk share one deadline.
        limit = self._settings.engine_first_token_timeout_s
        deadline = asyncio.get_running_loop().time() + limit
        try:
            async with asyncio.timeout_at(deadline):
                upstream = await client.stream_chat(
                    turn.model, turn.messages, turn.temperature, turn.max_tokens, turn.sampling)
        except TimeoutError as exc:
            raise FirstTokenTimeout(limit) from exc
        splitter = ThinkSplitter()
        try:
            async for chunk in first_chunk_by(upstream, deadline, limit):
                if chunk.usage is not None:
                    turn.usage = chunk.usage.model_dump()
                for choice in chunk.choices:
                    if choice.finish_reason:
                        turn.finish_reason = choice.finish_reason
                    delta = delta_from(choice.delta, splitter)
                    if delta.content or delta.reasoning:
                        yield _took(turn, delta)
            if (rest := Delta(*reversed(splitter.flush()))).content or rest.reasoning:
                yield _took(turn, rest)
        finally:
            with anyio.CancelScope(shield=True):
                await upstream.close()

    def _describe(self, exc: Exception, turn: ChatTurn) -> str:
        reason = describe_engine_error(exc, mid_answer=bool(turn.content))
        if self._engine.interruption:
            return f"The answer was cut off: {self._engine.interruption}."
        return reason

    def stats(self) -> dict[str, int]:
        """App-side load: answers streaming now, and requests that ended in the last minute."""
        cutoff = time.monotonic() - 60
        while self._finished_at and self._finished_at[0] < cutoff:
            self._finished_at.popleft()
        return {"active_streams": self.active_streams,
                "requests_last_minute": len(self._finished_at)}

    async def drain(self) -> None:
        """Wait until every answer that ended has been stored (on shutdown and in tests)."""
        await self.recorder.drain()


def _nothing_to_resend() -> InvalidInput:
    return InvalidInput("There is no message to answer again", code="nothing_to_resend")


def _holding(slot: Slot, turn: ChatTurn) -> ChatTurn:
    turn.slot = slot
    slot.release_with(turn)
    return turn


def _took(turn: ChatTurn, delta: Delta) -> Delta:
    if turn.first_token_at is None:
        turn.first_token_at = time.monotonic()
    turn.content.append(delta.content)
    turn.reasoning.append(delta.reasoning)
    return delta
