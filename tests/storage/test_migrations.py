"""Forward-only schema migrations on a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from storage.db import Database
from storage.migrations import MIGRATIONS, current_version, migrate


def versions(db: Database) -> list[int]:
    rows = db.call(lambda c: c.execute("SELECT version FROM schema_version ORDER BY version").fetchall())
    return [row[0] for row in rows]


def columns(db: Database, table: str) -> set[str]:
    rows = db.call(
        lambda c: c.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
        ).fetchall()
    )
    return {row[0] for row in rows}


def test_new_file_is_migrated_to_the_latest_version(db: Database) -> None:
    assert db.call(current_version) == len(MIGRATIONS)
    assert versions(db) == list(range(1, len(MIGRATIONS) + 1))


def test_reopening_does_not_apply_migrations_again(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    Database(path).close()
    db = Database(path)
    try:
        assert versions(db) == list(range(1, len(MIGRATIONS) + 1))
        assert db.call(migrate) == len(MIGRATIONS)
        assert versions(db) == list(range(1, len(MIGRATIONS) + 1))
    finally:
        db.close()


def test_file_from_a_newer_app_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    Database(path).close()
    with duckdb.connect(str(path)) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", [len(MIGRATIONS) + 1])
    with pytest.raises(RuntimeError, match="newer than this app"):
        Database(path)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("users", {"id", "username", "email", "password_hash", "role", "created_at",
                   "default_system_prompt", "disabled_at", "deleted_at", "session_generation"}),
        ("conversations", {"id", "user_id", "title", "system_prompt", "model", "created_at", "updated_at",
                           "title_source", "source"}),
        ("messages", {"id", "conv_id", "role", "content", "token_in", "token_out", "status", "created_at",
                      "reasoning", "note", "finish_reason"}),
        (
            "requests",
            {
                "id", "request_id", "user_id", "conv_id", "model", "latency_ms", "ttft_ms",
                "input_tokens", "output_tokens", "status", "status_code", "error", "created_at",
            },
        ),
    ],
)
def test_plan_tables_have_their_columns(db: Database, table: str, expected: set[str]) -> None:
    assert columns(db, table) == expected


def test_user_role_outside_admin_and_user_is_rejected(db: Database) -> None:
    with pytest.raises(duckdb.ConstraintException):
        db.call(lambda c: c.execute(
            "INSERT INTO users (username, password_hash, role) VALUES ('x', 'h', 'root')"
        ))
    assert db.call(lambda c: c.execute("SELECT count(*) FROM users").fetchone()) == (0,)


def test_message_status_and_role_outside_the_plan_are_rejected(db: Database) -> None:
    db.call(lambda c: c.execute("INSERT INTO users (username, password_hash) VALUES ('x', 'h')"))
    db.call(lambda c: c.execute("INSERT INTO conversations (user_id) VALUES (1)"))
    with pytest.raises(duckdb.ConstraintException):
        db.call(lambda c: c.execute(
            "INSERT INTO messages (conv_id, role, content, status) VALUES (1, 'user', 'hi', 'lost')"
        ))
    with pytest.raises(duckdb.ConstraintException):
        db.call(lambda c: c.execute("INSERT INTO messages (conv_id, role, content) VALUES (1, 'tool', 'hi')"))
    assert db.call(lambda c: c.execute("SELECT count(*) FROM messages").fetchone()) == (0,)


def test_request_status_outside_the_plan_is_rejected(db: Database) -> None:
    with pytest.raises(duckdb.ConstraintException):
        db.call(lambda c: c.execute("INSERT INTO requests (request_id, status) VALUES ('r1', 'timeout')"))
