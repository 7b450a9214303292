"""The chat service: one answer from the engine, streamed, and everything about it stored.

ui/ and api/ call this; it calls the engine client and storage, never the other way. What a
turn asks and how it is stored is chat/questions.py; reading the engine's stream (and
trying the next replica) is chat/upstream.py; storing the answer once it ends is chat/recording.py.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from typing import Any

from chat.admission import Admission
from chat.context import fit_context
from chat.conversations import ConversationService
from chat.load import StreamLoad
from chat.messages import build_messages
from chat.questions import Question
from chat.recording import Recorder
from chat.titles import TitleWriter
from chat.turn import ChatOptions, ChatTurn, Delta
from chat.upstream import answer_from
from chat.validation import Params, validate_messages, validate_params
from engine.catalog import check_model_active
from engine.client import FirstTokenTimeout, describe_engine_error
from engine.manager import EngineManager
from errors import AppError, EngineError, EngineUnavailable
from settings import Settings
from storage import turns
from storage.db import Database
from storage.users import User

log = logging.getLogger(__name__)


class ChatService:
    def __init__(
        self, settings: Settings, db: Database, engine: EngineManager, *, admission: Admission,
        recorder: Recorder, titles: TitleWriter, conversations: ConversationService,
        load: StreamLoad,
    ) -> None:
        self._settings = settings
        self._db = db
        self._engine = engine
        # Banned words, the daily quota and the per-user limits, for every entry point.
        self._admission = admission
        self._recorder = recorder
        self._titles = titles
        self.conversations = conversations
        self.load = load

    @property
    def model_ids(self) -> list[str]:
        return self._engine.profile.model_names

    @property
    def active_streams(self) -> int:
        return self.load.active

    async def start_turn(
        self,
        user: User,
        new_messages: Sequence[Mapping[str, Any]],
        options: ChatOptions,
        conversation_id: int | None = None,
        request_id: str | None = None,
        source: str = "chat",
    ) -> ChatTurn:
        """Answer new messages, in a new conversation or in one of the user's own."""
        validate_messages(new_messages, self._settings.max_message_chars)
        params = self._params(options)
        # Only the owner continues a conversation: an admin reads others', never writes in them.
        conv = None if conversation_id is None else (
            await self.conversations.owned(user, conversation_id))
        return await self._prepare(Question(user, conv, new_messages, source), options, params,
                                   request_id)

    async def start_resend(
        self, user: User, conv_id: int, options: ChatOptions, edited: str | None = None,
        request_id: str | None = None, message_id: int | None = None,
    ) -> ChatTurn:
        """Answer a user message of the conversation again (`message_id`, else the last: a
        regenerate), after replacing its text when `edited` is given; what followed it is
        removed, its usage rows stay."""
        if edited is not None:
            validate_messages([{"role": "user", "content": edited}],
                              self._settings.max_message_chars)
        params = self._params(options)
        conv = await self.conversations.owned(user, conv_id)
        question = Question(user, conv, source=conv.source, again=True, message_id=message_id,
                            edited=edited)
        return await self._prepare(question, options, params, request_id)

    async def _prepare(self, question: Question, options: ChatOptions, params: Params,
                       request_id: str | None) -> ChatTurn:
        """Admit the turn, then store its question and its answer's draft before the engine is
        asked. The turn holds a slot among the user's answers at once until its stream ends."""
        slot = await self._admission.admit(question.user, question.sent_texts(options.system_prompt))
        with slot.released_on_error():
            if question.conv is not None:
                await self._recorder.wait(question.conv.id)
            earlier, asked = await question.history(self._db)
            system_prompt = await question.system_prompt(self._db, options, asked)
            # Fitted before anything changes: an edit too long for the context keeps the old
            # answer.
            messages, trimmed, prompt_tokens = await fit_context(
                build_messages(system_prompt, earlier, asked), self._engine.count_tokens,
                self._engine.profile.max_model_len, params.max_tokens)
            request = turns.Request(request_id or uuid.uuid4().hex, question.user.id,
                                    self._engine.profile.served_model_name, prompt_tokens)
            conv_id, message_id = await self._db.run(
                lambda c: question.store(c, asked, system_prompt, request))
        turn = ChatTurn(
            request_id=request.request_id, user=question.user, conversation_id=conv_id,
            user_message_id=message_id, model=request.model, temperature=params.temperature,
            max_tokens=params.max_tokens, sampling=params.sampling, messages=messages,
            trimmed=trimmed, prompt_tokens=prompt_tokens, first_turn=not earlier,
            source=question.source, slot=slot)
        slot.release_with(turn)
        return turn

    def _params(self, options: ChatOptions) -> Params:
        check_model_active(self._engine, options.model)
        return validate_params(options, self.model_ids, self._engine.profile.sampling,
                               self._settings.max_tokens_limit)

    async def stream(self, turn: ChatTurn) -> AsyncGenerator[Delta, None]:
        """Yield the answer as it arrives. Closing this generator closes the engine's stream,
        which makes vLLM and llama.cpp stop generating. The answer, however it ended, is
        committed before this generator ends, so whatever a caller sends after it ([DONE], the
        UI's last update) is a promise kept even if the app dies the next moment."""
        self.load.started()
        self._titles.answer_started()
        limit = self._settings.engine_first_token_timeout_s
        try:
            async with aclosing(answer_from(self._engine, turn, limit)) as deltas:
                async for delta in deltas:
                    yield delta
                    self._recorder.checkpoint(turn)
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
            self.load.ended()
            self._recorder.schedule(turn)
            self._titles.answer_ended()
            # However it ended (stopped and failed answers too): whoever shows the
            # conversation next reads it from storage.
            await self._recorder.wait(turn.conversation_id)

    def _describe(self, exc: Exception, turn: ChatTurn) -> str:
        reason = describe_engine_error(exc, mid_answer=bool(turn.content))
        if self._engine.interruption:
            return f"The answer was cut off: {self._engine.interruption}."
        return reason

    async def drain(self) -> None:
        """Wait until every answer that ended has been stored (on shutdown and in tests)."""
        await self._recorder.drain()
