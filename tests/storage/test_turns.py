"""A turn's writes that belong together (storage/turns.py): its question with the answer's
draft, the question asked again, and the finished answer with its usage row."""

from __future__ import annotations

import duckdb
import pytest

from storage import conversations, turns, usage, users
from storage.db import Database
from storage.migrations import migrate
from storage.usage import UsageRecord


def drafts_of(conn: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return conn.execute("SELECT message_id, conv_id, request_id, user_id, model, prompt_tokens"
                        " FROM answer_drafts ORDER BY message_id").fetchall()


def asked(conn: duckdb.DuckDBPyConnection, conv_id: int | None = None,
          messages: tuple[tuple[str, str], ...] = (("user", "What is DuckDB?"),),
          ) -> tuple[int, int]:
    user = users.get_by_username(conn, "alice") or users.create(conn, "alice", "h", "user")
    question = turns.NewMessages(conv_id, "What is DuckDB?", "Be brief.", "api", messages)
    return turns.ask(conn, question, turns.Request("req-1", user.id, "smol", 12))


def test_a_new_question_starts_its_conversation_and_its_answers_draft(db: Database) -> None:
    conv_id, message_id = db.call(asked)
    conv = db.call(lambda c: conversations.get(c, conv_id))
    assert conv is not None
    assert (conv.title, conv.system_prompt, conv.model, conv.source) == (
        "What is DuckDB?", "Be brief.", "smol", "api")
    stored = db.call(lambda c: conversations.list_messages(c, conv_id))
    assert [(m["id"], m["role"], m["content"]) for m in stored] == [
        (message_id, "user", "What is DuckDB?")]
    assert db.call(drafts_of) == [(message_id, conv_id, "req-1", conv.user_id, "smol", 12)]


def test_a_question_in_a_conversation_adds_its_messages_and_updates_its_settings(
    db: Database,
) -> None:
    conv_id, _ = db.call(asked)
    db.call(lambda c: turns.answer(c, turns.Answer(conv_id, 1, None, "It is a database.", None),
                                   UsageRecord("req-1", 1, conv_id, "smol", "completed", 200)))
    more = (("user", "earlier, repeated by /v1"), ("assistant", "ok"), ("user", "And SQLite?"))
    again_id, message_id = db.call(lambda c: asked(c, conv_id, more))
    assert again_id == conv_id
    stored = db.call(lambda c: conversations.list_messages(c, conv_id))
    assert [m["content"] for m in stored][-3:] == [text for _, text in more]
    assert stored[-1]["id"] == message_id
    assert [row[0] for row in db.call(drafts_of)] == [message_id]


def test_the_answer_its_token_counts_and_its_usage_row_are_stored_and_its_draft_goes(
    db: Database,
) -> None:
    conv_id, message_id = db.call(asked)
    record = UsageRecord("req-1", 1, conv_id, "smol", "cancelled", 499, latency_ms=30,
                         input_tokens=20, output_tokens=5)
    answer = turns.Answer(conv_id, message_id, 7, "Half an ans", "thinking")
    db.call(lambda c: turns.answer(c, answer, record))
    question, stored = db.call(lambda c: conversations.list_messages(c, conv_id))
    assert question["token_in"] == 7
    assert (stored["role"], stored["content"], stored["reasoning"], stored["status"],
            stored["token_in"], stored["token_out"]) == (
        "assistant", "Half an ans", "thinking", "cancelled", 20, 5)
    row = db.call(lambda c: usage.recent(c, None))[0]
    assert (row["request_id"], row["status_code"], row["output_tokens"]) == ("req-1", 499, 5)
    assert db.call(drafts_of) == []


def test_an_answer_without_a_question_count_keeps_the_stored_one(db: Database) -> None:
    conv_id, message_id = db.call(asked)
    db.call(lambda c: c.execute("UPDATE messages SET token_in = 3 WHERE id = ?", [message_id]))
    db.call(lambda c: turns.answer(c, turns.Answer(conv_id, message_id, None, "ok", None),
                                   UsageRecord("req-1", 1, conv_id, "smol", "completed", 200)))
    question = db.call(lambda c: conversations.list_messages(c, conv_id))[0]
    assert question["token_in"] == 3


def test_asking_again_drops_the_old_answer_and_starts_a_new_draft(db: Database) -> None:
    conv_id, message_id = db.call(asked)
    db.call(lambda c: turns.answer(c, turns.Answer(conv_id, message_id, 4, "old", None),
                                   UsageRecord("req-1", 1, conv_id, "smol", "completed", 200)))
    db.call(lambda c: turns.ask_again(c, conv_id, message_id, "What is DuckDB, briefly?",
                                      turns.Request("req-2", 1, "smol", 9)))
    stored = db.call(lambda c: conversations.list_messages(c, conv_id))
    assert [(m["content"], m["token_in"]) for m in stored] == [("What is DuckDB, briefly?", None)]
    assert db.call(drafts_of) == [(message_id, conv_id, "req-2", 1, "smol", 9)]
    assert len(db.call(lambda c: usage.recent(c, None))) == 1, "the old answer's row stays"


def test_an_edit_and_its_new_draft_are_one_change() -> None:
    """Answering again rewinds the conversation and starts the new answer's draft together:
    a failure in between leaves the old answer in place."""
    conn = duckdb.connect()
    migrate(conn)
    conn.execute("INSERT INTO users (username, password_hash) VALUES ('u', 'h')")
    conn.execute("INSERT INTO conversations (user_id) VALUES (1)")
    conn.execute("INSERT INTO messages (conv_id, role, content) VALUES (1, 'user', 'q'),"
                 " (1, 'assistant', 'old answer')")
    unstorable = turns.Request(None, 1, "m", None)  # type: ignore[arg-type]  # request_id is NOT NULL
    with pytest.raises(duckdb.ConstraintException):
        turns.ask_again(conn, 1, 1, "edited q", unstorable)
    rows = conn.execute("SELECT content FROM messages ORDER BY id").fetchall()
    assert rows == [("q",), ("old answer",)]
