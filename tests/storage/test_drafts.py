"""Drafts of answers being written, and what start-up makes of the ones left behind."""

from __future__ import annotations

import duckdb

from storage import conversations, drafts, usage, users
from storage.db import Database


def asked(db: Database, question: str = "Tell me a story") -> drafts.Draft:
    def run(c: duckdb.DuckDBPyConnection) -> drafts.Draft:
        user = users.get_by_username(c, "alice") or users.create(c, "alice", "h", "user")
        conv = conversations.create(c, user.id, question, None, "smol")
        message_id = conversations.add_message(c, conv.id, "user", question)
        draft = drafts.Draft(message_id, conv.id, f"req-{message_id}", user.id, "smol", 42)
        drafts.start(c, draft)
        return draft
    return db.call(run)


def test_an_unfinished_answer_is_stored_with_its_text_and_a_usage_row(db: Database) -> None:
    draft = asked(db)
    db.call(lambda c: drafts.update(c, draft.message_id, "Once upon", "the user wants"))
    db.call(lambda c: drafts.update(c, draft.message_id, "Once upon a time", "the user wants"))
    assert db.call(drafts.recover) == 1

    messages = db.call(lambda c: conversations.list_messages(c, draft.conv_id))
    answer = messages[-1]
    assert (answer["role"], answer["content"], answer["reasoning"], answer["status"]) == (
        "assistant", "Once upon a time", "the user wants", "failed")
    assert answer["note"] == drafts.INTERRUPTED_NOTE
    row = db.call(lambda c: usage.recent(c, None))[0]
    assert (row["request_id"], row["status"], row["status_code"], row["input_tokens"]) == (
        draft.request_id, "failed", 500, 42)
    assert row["latency_ms"] >= 0 and row["error"] == drafts.INTERRUPTED_NOTE
    assert db.call(drafts.recover) == 0, "recovered once"


def test_a_finished_answer_leaves_no_draft_and_is_not_marked(db: Database) -> None:
    draft = asked(db)
    db.call(lambda c: conversations.add_message(c, draft.conv_id, "assistant", "Done."))
    db.call(lambda c: drafts.finish(c, draft.message_id))
    assert db.call(drafts.recover) == 0
    assert [m["content"] for m in db.call(
        lambda c: conversations.list_messages(c, draft.conv_id))] == ["Tell me a story", "Done."]


def test_a_draft_that_outlived_its_stored_answer_is_dropped(db: Database) -> None:
    draft = asked(db)
    db.call(lambda c: conversations.add_message(c, draft.conv_id, "assistant", "Stored."))
    assert db.call(drafts.recover) == 0
    assert db.call(lambda c: c.execute("SELECT count(*) FROM answer_drafts").fetchone()) == (0,)
    assert db.call(lambda c: usage.recent(c, None)) == []


def test_a_question_without_a_draft_is_still_marked_interrupted(db: Database) -> None:
    draft = asked(db)
    db.call(lambda c: drafts.finish(c, draft.message_id))
    assert db.call(drafts.recover) == 1
    answer = db.call(lambda c: conversations.list_messages(c, draft.conv_id))[-1]
    assert (answer["content"], answer["status"], answer["note"]) == (
        "", "failed", drafts.INTERRUPTED_NOTE)


def test_deleting_a_conversation_deletes_its_draft(db: Database) -> None:
    draft = asked(db)
    db.call(lambda c: conversations.delete(c, draft.conv_id))
    assert db.call(lambda c: c.execute("SELECT count(*) FROM answer_drafts").fetchone()) == (0,)
