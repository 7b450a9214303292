"""Per-user settings that stick: a default system prompt and named presets."""

from __future__ import annotations

from typing import Any

import duckdb

from storage.db import rows_as_dicts


def default_system_prompt(conn: duckdb.DuckDBPyConnection, user_id: int) -> str | None:
    row = conn.execute("SELECT default_system_prompt FROM users WHERE id = ?", [user_id]).fetchone()
    return str(row[0]) if row and row[0] is not None else None


def set_default_system_prompt(conn: duckdb.DuckDBPyConnection, user_id: int,
                              prompt: str | None) -> None:
    conn.execute("UPDATE users SET default_system_prompt = ? WHERE id = ?", [prompt, user_id])


def save(conn: duckdb.DuckDBPyConnection, user_id: int, name: str, system_prompt: str | None,
         temperature: float | None, max_tokens: int | None) -> dict[str, Any]:
    """Create or replace the user's preset of that name."""
    conn.execute("DELETE FROM presets WHERE user_id = ? AND name = ?", [user_id, name])
    cur = conn.execute(
        "INSERT INTO presets (user_id, name, system_prompt, temperature, max_tokens)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id, name, system_prompt, temperature, max_tokens",
        [user_id, name, system_prompt, temperature, max_tokens])
    return rows_as_dicts(cur)[0]


def list_for_user(conn: duckdb.DuckDBPyConnection, user_id: int) -> list[dict[str, Any]]:
    cur = conn.execute(
        "SELECT id, name, system_prompt, temperature, max_tokens FROM presets"
        " WHERE user_id = ? ORDER BY name", [user_id])
    return rows_as_dicts(cur)


def delete(conn: duckdb.DuckDBPyConnection, user_id: int, preset_id: int) -> bool:
    row = conn.execute("DELETE FROM presets WHERE id = ? AND user_id = ?",
                       [preset_id, user_id]).fetchone()
    return bool(row and row[0])


def delete_all_for_user(conn: duckdb.DuckDBPyConnection, user_id: int) -> None:
    conn.execute("DELETE FROM presets WHERE user_id = ?", [user_id])
