"""A chat turn's writes that belong together.

Before the engine is asked: the question with its answer's draft, so that a crash loses
little (storage/drafts.py). Once the answer ends, however it ends: the answer, its token
counts and its usage row, with the draft gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from storage import conversations, drafts
from storage.transactions import transaction
from storage.usage import UsageRecord
from storage.usage import insert as insert_usage


@dataclass(frozen=True)
class Request:
    """What the answer's draft records of the request that asks for it."""

    request_id: str
    user_id: int
    model: str
    prompt_tokens: int | None = None

    def draft(self, conv_id: int, message_id: int) -> drafts.Draft:
        return drafts.Draft(message_id, conv_id, self.request_id, self.user_id, self.model,
                            self.prompt_tokens)


@dataclass(frozen=True)
class NewMessages:
    """A turn's messages: added to conversation `conv_id` (its system prompt and model
    updated), or to a new one titled `title`. The last is the question to answer."""

    conv_id: int | None
    title: str
    system_prompt: str | None
    source: str
    messages: Sequence[tuple[str, str]]  # (role, text)


@dataclass(frozen=True)
class Answer:
    conv_id: int
    question_id: int
    # The question's own tokens, counted once the turn ends (None: keep what is stored).
    question_tokens: int | None
    text: str
    reasoning: str | None
    finish_reason: str | None = None  # the engine's, for an answer it completed


def ask(conn: duckdb.DuckDBPyConnection, new: NewMessages, request: Request) -> tuple[int, int]:
    """Store the messages and the draft of their answer. Returns the conversation's id and
    the question's."""
    message_id = 0
    with transaction(conn):
        conv_id = new.conv_id
        if conv_id is None:
            conv_id = conversations.create(conn, request.user_id, new.title, new.system_prompt,
                                           request.model, new.source).id
        else:
            conversations.update_settings(conn, conv_id, new.system_prompt, request.model)
        for role, text in new.messages:
            message_id = conversations.add_message(conn, conv_id, role, text)
        drafts.start(conn, request.draft(conv_id, message_id))
    return conv_id, message_id


def ask_again(conn: duckdb.DuckDBPyConnection, conv_id: int, message_id: int,
              edited: str | None, request: Request) -> None:
    """Answer the question `message_id` again: what followed it goes, its text is replaced
    when `edited` is given, and the new answer's draft starts."""
    with transaction(conn):
        conversations.rewind(conn, conv_id, message_id, edited)
        drafts.start(conn, request.draft(conv_id, message_id), replacing=True)


def answer(conn: duckdb.DuckDBPyConnection, answer: Answer, usage: UsageRecord) -> None:
    """Store a finished answer (completed, cancelled or failed) and its usage row. No
    transaction of its own: the batch writer runs it inside the one of its batch."""
    if answer.question_tokens is not None:
        conn.execute("UPDATE messages SET token_in = ? WHERE id = ?",
                     [answer.question_tokens, answer.question_id])
    conversations.add_message(
        conn, answer.conv_id, "assistant", answer.text, token_in=usage.input_tokens,
        token_out=usage.output_tokens, status=usage.status, reasoning=answer.reasoning,
        finish_reason=answer.finish_reason if usage.status == "completed" else None)
    insert_usage(conn, usage)
    drafts.finish(conn, answer.question_id)
