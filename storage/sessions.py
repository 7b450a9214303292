"""Tokens signed out before they expire. A row lives only until the token would have expired."""

from __future__ import annotations

import datetime as dt

import duckdb


def revoke(conn: duckdb.DuckDBPyConnection, jti: str, user_id: int, expires_at: int) -> None:
    conn.execute("DELETE FROM revoked_tokens WHERE expires_at < now()")
    conn.execute(
        "INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        [jti, user_id, dt.datetime.fromtimestamp(expires_at, dt.UTC)])


def is_revoked(conn: duckdb.DuckDBPyConnection, jti: str) -> bool:
    return conn.execute("SELECT 1 FROM revoked_tokens WHERE jti = ?", [jti]).fetchone() is not None
