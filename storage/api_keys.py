"""Personal API keys: only a SHA-256 of each key is stored."""

from __future__ import annotations

from typing import Any

import duckdb

from storage.db import rows_as_dicts
from storage.users import USER_COLUMNS, User, _row_to_user


def create(conn: duckdb.DuckDBPyConnection, user_id: int, name: str, prefix: str,
           key_hash: str) -> dict[str, Any]:
    cur = conn.execute(
        "INSERT INTO api_keys (user_id, name, prefix, key_hash) VALUES (?, ?, ?, ?)"
        " RETURNING id, name, prefix, created_at, last_used_at, revoked_at",
        [user_id, name, prefix, key_hash])
    return rows_as_dicts(cur)[0]


def list_for_user(conn: duckdb.DuckDBPyConnection, user_id: int) -> list[dict[str, Any]]:
    cur = conn.execute(
        "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys"
        " WHERE user_id = ? ORDER BY id DESC", [user_id])
    return rows_as_dicts(cur)


def revoke(conn: duckdb.DuckDBPyConnection, user_id: int, key_id: int) -> bool:
    row = conn.execute(
        "UPDATE api_keys SET revoked_at = now()"
        " WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        [key_id, user_id]).fetchone()
    return bool(row and row[0])


def user_for_hash(conn: duckdb.DuckDBPyConnection, key_hash: str) -> User | None:
    row = conn.execute(
        f"SELECT {USER_COLUMNS} FROM api_keys k"
        " JOIN users u ON u.id = k.user_id WHERE k.key_hash = ? AND k.revoked_at IS NULL",
        [key_hash]).fetchone()
    return _row_to_user(row)


def revoke_all_for_user(conn: duckdb.DuckDBPyConnection, user_id: int) -> None:
    conn.execute("UPDATE api_keys SET revoked_at = now() WHERE user_id = ? AND revoked_at IS NULL",
                 [user_id])
