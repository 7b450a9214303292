"""Answers being written: a draft per question, so a crash of the app loses little.

A draft is made with the question, updated every few seconds while the answer streams, and
removed in the transaction that stores the finished answer. One left at start-up belongs to an
answer the app never finished: it becomes a failed answer with what was written, and a usage row.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from storage.transactions import transaction
from storage.usage import UsageRecord
from storage.usage import insert as insert_usage

INTERRUPTED_NOTE = "interrupted: the service stopped while this answer was being written"


@dataclass
class Draft:
    message_id: int  # the question being answered
    conv_id: int
    request_id: str
    user_id: int
    model: str
    prompt_tokens: int | None = None


def start(conn: duckdb.DuckDBPyConnection, draft: Draft, replacing: bool = False) -> None:
    """`replacing`: the question is answered again and may still have a draft. Otherwise a
    plain insert: DuckDB's INSERT OR REPLACE costs ~5 ms of CPU, a plain one under 1 ms."""
    conn.execute(
        f"INSERT{' OR REPLACE' if replacing else ''} INTO answer_drafts"
        " (message_id, conv_id, request_id, user_id, model, prompt_tokens)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [draft.message_id, draft.conv_id, draft.request_id, draft.user_id, draft.model,
         draft.prompt_tokens],
    )


def update(conn: duckdb.DuckDBPyConnection, message_id: int, content: str, reasoning: str) -> None:
    conn.execute(
        "UPDATE answer_drafts SET content = ?, reasoning = ?, updated_at = now()"
        " WHERE message_id = ?", [content, reasoning or None, message_id])


def finish(conn: duckdb.DuckDBPyConnection, message_id: int) -> None:
    conn.execute("DELETE FROM answer_drafts WHERE message_id = ?", [message_id])


def recover(conn: duckdb.DuckDBPyConnection) -> int:
    """At start-up: store each unfinished answer as failed with its text so far and a usage
    row, then mark any other conversation that ends with a question. Returns how many."""
    with transaction(conn):
        recovered = _store_drafts(conn)
        conn.execute("DELETE FROM answer_drafts")
        marked = _mark_unanswered(conn)
    return recovered + marked


def _store_drafts(conn: duckdb.DuckDBPyConnection) -> int:
    # Only drafts whose question is still the conversation's last message: the others'
    # answers were stored (a draft can outlive its answer if a write raced the shutdown).
    rows = conn.execute(
        "SELECT d.conv_id, d.request_id, d.user_id, d.model, d.prompt_tokens, d.content,"
        " d.reasoning, epoch_ms(d.updated_at) - epoch_ms(d.started_at)"
        " FROM answer_drafts d WHERE d.message_id = (SELECT max(m.id) FROM messages m"
        "                                            WHERE m.conv_id = d.conv_id)"
    ).fetchall()
    for conv_id, request_id, user_id, model, prompt_tokens, content, reasoning, took in rows:
        conn.execute(
            "INSERT INTO messages (conv_id, role, content, reasoning, status, note)"
            " VALUES (?, 'assistant', ?, ?, 'failed', ?)",
            [conv_id, content, reasoning, INTERRUPTED_NOTE])
        insert_usage(conn, UsageRecord(
            request_id=request_id, user_id=user_id, conv_id=conv_id, model=model,
            status="failed", status_code=500, latency_ms=int(took), input_tokens=prompt_tokens,
            error=INTERRUPTED_NOTE))
    return len(rows)


def _mark_unanswered(conn: duckdb.DuckDBPyConnection) -> int:
    """Conversations that end with a question and have no draft (from before drafts existed,
    or cut off between storing the question and starting the answer)."""
    row = conn.execute(
        "INSERT INTO messages (conv_id, role, content, status, note)"
        " SELECT m.conv_id, 'assistant', '', 'failed', ? FROM messages m"
        " WHERE m.role = 'user' AND m.id = (SELECT max(x.id) FROM messages x"
        "                                   WHERE x.conv_id = m.conv_id)",
        [INTERRUPTED_NOTE],
    ).fetchone()
    return int(row[0]) if row else 0
