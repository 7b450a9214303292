"""Users: accounts with a role, looked up by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb

Role = Literal["admin", "user"]


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: Role
    password_hash: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _row_to_user(row: tuple[object, ...] | None) -> User | None:
    if row is None:
        return None
    user_id, username, role, password_hash = row
    return User(int(user_id), str(username), role, str(password_hash))  # type: ignore[arg-type, call-overload]


def get_by_username(conn: duckdb.DuckDBPyConnection, username: str) -> User | None:
    row = conn.execute(
        "SELECT id, username, role, password_hash FROM users WHERE username = ?", [username]
    ).fetchone()
    return _row_to_user(row)


def create(
    conn: duckdb.DuckDBPyConnection, username: str, password_hash: str, role: Role
) -> User:
    row = conn.execute(
        "INSERT INTO users (username, password_hash, role) VALUES (?, ?, ?)"
        " RETURNING id, username, role, password_hash",
        [username, password_hash, role],
    ).fetchone()
    user = _row_to_user(row)
    assert user is not None
    return user


def set_password_hash(conn: duckdb.DuckDBPyConnection, user_id: int, password_hash: str) -> None:
    conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user_id])


def count(conn: duckdb.DuckDBPyConnection) -> int:
    row = conn.execute("SELECT count(*) FROM users").fetchone()
    return int(row[0]) if row else 0
