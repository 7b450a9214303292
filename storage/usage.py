"""Per-request usage rows (the plan's `requests` table)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb

from storage.conversations import MessageStatus
from storage.db import rows_as_dicts


@dataclass
class UsageRecord:
    request_id: str
    user_id: int
    conv_id: int | None
    model: str
    status: MessageStatus
    status_code: int
    latency_ms: int | None = None
    ttft_ms: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None


def insert(conn: duckdb.DuckDBPyConnection, record: UsageRecord) -> None:
    fields = asdict(record)
    columns = ", ".join(fields)
    placeholders = ", ".join("?" for _ in fields)
    conn.execute(f"INSERT INTO requests ({columns}) VALUES ({placeholders})", list(fields.values()))


def recent(
    conn: duckdb.DuckDBPyConnection, user_id: int | None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first; one user's rows, or everyone's when user_id is None."""
    cur = conn.execute(
        "SELECT * FROM requests WHERE (? IS NULL OR user_id = ?) ORDER BY id DESC LIMIT ?",
        [user_id, user_id, limit],
    )
    return rows_as_dicts(cur)


def tokens_since(conn: duckdb.DuckDBPyConnection, user_id: int, since: datetime) -> int:
    """The user's input and output tokens in requests from `since` on. The range on created_at
    comes first: rows are appended in time order, so DuckDB skips older row groups unread."""
    row = conn.execute(
        "SELECT coalesce(sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)), 0)"
        " FROM requests WHERE created_at >= ? AND user_id = ?", [since, user_id]).fetchone()
    return int(row[0]) if row else 0
