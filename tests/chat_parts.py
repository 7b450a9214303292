"""A ChatService built from its parts as services.py builds it, for tests that drive the chat
service without the whole app (no metrics, no request log)."""

from __future__ import annotations

from collections.abc import Callable

from chat.admission import Admission
from chat.conversations import ConversationService
from chat.load import StreamLoad
from chat.recording import Recorder
from chat.service import ChatService
from chat.titles import TitleWriter
from engine.manager import EngineManager
from settings import Settings
from storage.db import Database
from storage.writer import BatchWriter


def build_chat(settings: Settings, db: Database, engine: EngineManager, writer: BatchWriter,
               refused: Callable[[str], None] | None = None) -> ChatService:
    """`refused` is told each refusal's code, as /metrics is."""
    admission = Admission(settings, db, observers=[refused] if refused else [])
    titles = TitleWriter(writer, engine)
    recorder = Recorder(writer, engine.count_tokens, titles, auto_titles=settings.auto_titles,
                        checkpoint_s=settings.answer_checkpoint_s)
    conversations = ConversationService(db, recorder.wait, admission.check_content,
                                        lambda: engine.profile.served_model_name)
    return ChatService(settings, db, engine, admission=admission, recorder=recorder,
                       titles=titles, conversations=conversations, load=StreamLoad())
