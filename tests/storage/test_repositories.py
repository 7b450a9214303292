"""The storage functions for users, conversations, messages and usage rows."""

from __future__ import annotations

from pathlib import Path

from storage import conversations, usage, users
from storage.db import Database
from storage.usage import UsageRecord


def test_created_user_is_found_by_name(db: Database) -> None:
    created = db.call(lambda c: users.create(c, "alice", "hash-a", "user"))
    found = db.call(lambda c: users.get_by_username(c, "alice"))
    assert found == created
    assert (found.username, found.role, found.password_hash) == ("alice", "user", "hash-a")
    assert not found.is_admin
    assert db.call(lambda c: users.get_by_username(c, "bob")) is None


def test_created_conversation_is_read_back(db: Database) -> None:
    alice = db.call(lambda c: users.create(c, "alice", "h", "user"))
    created = db.call(lambda c: conversations.create(c, alice.id, "Hello", "Be brief.", "smol"))
    found = db.call(lambda c: conversations.get(c, created.id))
    assert found == created
    assert (found.user_id, found.title, found.system_prompt, found.model) == (
        alice.id, "Hello", "Be brief.", "smol"
    )
    assert db.call(lambda c: conversations.get(c, created.id + 100)) is None


def test_conversations_are_listed_newest_first_and_only_the_owners(db: Database) -> None:
    alice = db.call(lambda c: users.create(c, "alice", "h", "user"))
    bob = db.call(lambda c: users.create(c, "bob", "h", "user"))
    older = db.call(lambda c: conversations.create(c, alice.id, "older", None, None))
    newer = db.call(lambda c: conversations.create(c, alice.id, "newer", None, None))
    db.call(lambda c: conversations.create(c, bob.id, "bob's", None, None))
    # The first conversation was updated last, so it comes first despite its lower id.
    db.call(lambda c: c.execute(
        "UPDATE conversations SET updated_at = TIMESTAMPTZ '2030-01-02 00:00:00+00' WHERE id = ?", [older.id]
    ))
    db.call(lambda c: c.execute(
        "UPDATE conversations SET updated_at = TIMESTAMPTZ '2030-01-01 00:00:00+00' WHERE id = ?", [newer.id]
    ))
    db.call(lambda c: conversations.add_message(c, newer.id, "user", "hi"))

    listed = db.call(lambda c: conversations.list_for_user(c, alice.id))
    assert [(row["id"], row["title"], row["message_count"]) for row in listed] == [
        (older.id, "older", 0), (newer.id, "newer", 1)
    ]
    assert db.call(lambda c: conversations.list_for_user(c, alice.id, limit=1))[0]["id"] == older.id


def test_messages_are_listed_in_order_with_token_counts_and_status(db: Database) -> None:
    alice = db.call(lambda c: users.create(c, "alice", "h", "user"))
    conv = db.call(lambda c: conversations.create(c, alice.id, None, None, None))
    db.call(lambda c: conversations.add_message(c, conv.id, "user", "question"))
    db.call(lambda c: conversations.add_message(
        c, conv.id, "assistant", "answer", token_in=12, token_out=3, status="cancelled"
    ))
    db.call(lambda c: conversations.add_message(c, conv.id, "user", "again", token_in=2))

    listed = db.call(lambda c: conversations.list_messages(c, conv.id))
    assert [(m["role"], m["content"], m["token_in"], m["token_out"], m["status"]) for m in listed] == [
        ("user", "question", None, None, "completed"),
        ("assistant", "answer", 12, 3, "cancelled"),
        ("user", "again", 2, None, "completed"),
    ]
    assert db.call(lambda c: conversations.list_messages(c, conv.id + 1)) == []


def test_usage_record_round_trips(db: Database) -> None:
    alice = db.call(lambda c: users.create(c, "alice", "h", "user"))
    bob = db.call(lambda c: users.create(c, "bob", "h", "user"))
    record = UsageRecord(
        request_id="req-1", user_id=alice.id, conv_id=7, model="smol", status="failed",
        status_code=502, latency_ms=120, ttft_ms=30, input_tokens=40, output_tokens=5, error="boom",
    )
    db.call(lambda c: usage.insert(c, record))
    db.call(lambda c: usage.insert(c, UsageRecord("req-2", bob.id, None, "smol", "completed", 200)))

    rows = db.call(lambda c: usage.recent(c, alice.id))
    assert len(rows) == 1
    row = rows[0]
    assert UsageRecord(**{k: row[k] for k in UsageRecord.__dataclass_fields__}) == record
    assert row["created_at"] is not None


def test_usage_is_listed_newest_first_for_everyone_when_no_user_is_given(db: Database) -> None:
    alice = db.call(lambda c: users.create(c, "alice", "h", "user"))
    bob = db.call(lambda c: users.create(c, "bob", "h", "user"))
    for request_id, user in [("r1", alice), ("r2", bob), ("r3", alice)]:
        record = UsageRecord(request_id, user.id, None, "m", "completed", 200)
        db.call(lambda c, r=record: usage.insert(c, r))

    assert [r["request_id"] for r in db.call(lambda c: usage.recent(c, None))] == ["r3", "r2", "r1"]
    assert [r["request_id"] for r in db.call(lambda c: usage.recent(c, alice.id))] == ["r3", "r1"]
    assert [r["request_id"] for r in db.call(lambda c: usage.recent(c, None, limit=1))] == ["r3"]


def test_a_generated_title_never_replaces_one_the_user_chose(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.duckdb")
    user = db.call(lambda c: users.create(c, "u", "x", "user"))
    conv = db.call(lambda c: conversations.create(c, user.id, "first words", None, "m"))
    db.call(lambda c: conversations.add_message(c, conv.id, "user", "hi"))
    assert db.call(lambda c: conversations.set_title(c, conv.id, "Mine", "user"))
    assert not db.call(lambda c: conversations.set_title(
        c, conv.id, "Generated", "model", only_if_source="first_message"))
    stored = db.call(lambda c: conversations.get(c, conv.id))
    assert stored is not None and (stored.title, stored.title_source) == ("Mine", "user")
    db.close()
