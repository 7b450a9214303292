"""Conversations and their messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb

from storage.db import rows_as_dicts

MessageStatus = Literal["completed", "cancelled", "failed"]


@dataclass(frozen=True)
class Conversation:
    id: int
    user_id: int
    title: str | None
    system_prompt: str | None
    model: str | None
    created_at: datetime
    updated_at: datetime
    title_source: str | None = None
    source: str | None = "chat"  # "api" for conversations made through /v1


_CONV_COLUMNS = ("id, user_id, title, system_prompt, model, created_at, updated_at, title_source,"
                 " source")


def create(
    conn: duckdb.DuckDBPyConnection,
    user_id: int,
    title: str | None,
    system_prompt: str | None,
    model: str | None,
    source: str = "chat",
) -> Conversation:
    row = conn.execute(
        "INSERT INTO conversations (user_id, title, system_prompt, model, source)"
        f" VALUES (?, ?, ?, ?, ?) RETURNING {_CONV_COLUMNS}",
        [user_id, title, system_prompt, model, source],
    ).fetchone()
    assert row is not None
    return Conversation(*row)


def get(conn: duckdb.DuckDBPyConnection, conv_id: int) -> Conversation | None:
    row = conn.execute(
        f"SELECT {_CONV_COLUMNS} FROM conversations WHERE id = ?", [conv_id]
    ).fetchone()
    return Conversation(*row) if row else None


# A listed conversation's columns. `running`: an answer is being written in it, from any entry
# point (its draft lives until the answer is stored, storage/drafts.py).
LISTED = ("c.id, c.title, c.model, c.created_at, c.updated_at,"
          " (SELECT count(*) FROM messages m WHERE m.conv_id = c.id) AS message_count,"
          " EXISTS (SELECT 1 FROM answer_drafts d WHERE d.conv_id = c.id) AS running")


def list_for_user(
    conn: duckdb.DuckDBPyConnection, user_id: int, limit: int = 50, source: str = "chat"
) -> list[dict[str, Any]]:
    """Newest first; `source` keeps chats apart from conversations made through /v1."""
    cur = conn.execute(
        f"SELECT {LISTED}"
        " FROM conversations c WHERE c.user_id = ? AND coalesce(c.source, 'chat') = ?"
        " ORDER BY c.updated_at DESC, c.id DESC LIMIT ?",
        [user_id, source, limit],
    )
    return rows_as_dicts(cur)


def update_settings(
    conn: duckdb.DuckDBPyConnection, conv_id: int, system_prompt: str | None, model: str
) -> None:
    conn.execute(
        "UPDATE conversations SET system_prompt = ?, model = ?, updated_at = now() WHERE id = ?",
        [system_prompt, model, conv_id],
    )


def add_message(
    conn: duckdb.DuckDBPyConnection,
    conv_id: int,
    role: str,
    content: str,
    *,
    token_in: int | None = None,
    token_out: int | None = None,
    status: MessageStatus = "completed",
    reasoning: str | None = None,
    finish_reason: str | None = None,
) -> int:
    row = conn.execute(
        "INSERT INTO messages (conv_id, role, content, token_in, token_out, status, reasoning,"
        " finish_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [conv_id, role, content, token_in, token_out, status, reasoning, finish_reason],
    ).fetchone()
    assert row is not None
    return int(row[0])


def list_messages(conn: duckdb.DuckDBPyConnection, conv_id: int) -> list[dict[str, Any]]:
    cur = conn.execute(
        "SELECT id, role, content, reasoning, token_in, token_out, status, note, finish_reason,"
        " created_at"
        " FROM messages WHERE conv_id = ? ORDER BY id",
        [conv_id],
    )
    return rows_as_dicts(cur)


def set_title(
    conn: duckdb.DuckDBPyConnection, conv_id: int, title: str, source: str,
    only_if_source: str | None = None,
) -> bool:
    """Set a title; with only_if_source, only while the current title came from there
    (a generated title never overwrites one the user chose)."""
    # No RETURNING here: DuckDB turns an UPDATE ... RETURNING into delete + insert, which the
    # messages' foreign key refuses. A plain UPDATE reports the number of rows it changed.
    row = conn.execute(
        "UPDATE conversations SET title = ?, title_source = ? WHERE id = ?"
        " AND (? IS NULL OR title_source = ?)",
        [title, source, conv_id, only_if_source, only_if_source],
    ).fetchone()
    return bool(row and row[0])


def search_for_user(
    conn: duckdb.DuckDBPyConnection, user_id: int, query: str, limit: int = 50
) -> list[dict[str, Any]]:
    """The user's chats whose title or any message contains `query` (case-insensitive)."""
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    cur = conn.execute(
        f"SELECT {LISTED}"
        " FROM conversations c WHERE c.user_id = ? AND coalesce(c.source, 'chat') = 'chat'"
        " AND (c.title ILIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m"
        "      WHERE m.conv_id = c.id AND m.content ILIKE ? ESCAPE '\\'))"
        " ORDER BY c.updated_at DESC, c.id DESC LIMIT ?",
        [user_id, pattern, pattern, limit],
    )
    return rows_as_dicts(cur)


def delete(conn: duckdb.DuckDBPyConnection, conv_id: int) -> None:
    """The conversation and its messages; its usage rows stay for the usage figures.

    Two commits, not one: DuckDB checks a foreign key against committed rows, so the messages
    must be gone before the conversation they point to can be deleted."""
    conn.execute("DELETE FROM answer_drafts WHERE conv_id = ?", [conv_id])
    conn.execute("DELETE FROM messages WHERE conv_id = ?", [conv_id])
    conn.execute("DELETE FROM conversations WHERE id = ?", [conv_id])


def rewind(conn: duckdb.DuckDBPyConnection, conv_id: int, message_id: int,
           edited: str | None) -> None:
    """Drop what follows the user message `message_id` (its answer) and, if given, change its
    text, so it can be answered again."""
    conn.execute("DELETE FROM messages WHERE conv_id = ? AND id > ?", [conv_id, message_id])
    if edited is not None:
        conn.execute("UPDATE messages SET content = ?, token_in = NULL WHERE id = ?",
                     [edited, message_id])


def ids_for_user(conn: duckdb.DuckDBPyConnection, user_id: int) -> list[int]:
    """Every conversation of the user, from the chat page and /v1 alike."""
    rows = conn.execute("SELECT id FROM conversations WHERE user_id = ?", [user_id]).fetchall()
    return [int(row[0]) for row in rows]
