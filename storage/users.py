"""Users: accounts with a role, looked up by name; admins disable, reset and delete them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from storage.db import rows_as_dicts

Role = Literal["admin", "user"]
ROLES: tuple[Role, ...] = ("user", "admin")

# Qualified by "u." so queries joining other tables can use them too.
USER_COLUMNS = ("u.id, u.username, u.role, u.password_hash, u.disabled_at IS NOT NULL,"
                " u.deleted_at IS NOT NULL, coalesce(u.session_generation, 0)")
_ACTIVE_ADMIN = "u.role = 'admin' AND u.disabled_at IS NULL AND u.deleted_at IS NULL"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: Role
    password_hash: str
    disabled: bool = False
    deleted: bool = False
    # Raised whenever every session must end (password changed, account disabled):
    # a token carries the generation it was issued in.
    session_generation: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _row_to_user(row: tuple[object, ...] | None) -> User | None:
    if row is None:
        return None
    user_id, username, role, password_hash, disabled, deleted, generation = row
    return User(int(user_id), str(username), role, str(password_hash),  # type: ignore[arg-type, call-overload]
                bool(disabled), bool(deleted), int(generation))  # type: ignore[call-overload]


def get_by_username(conn: duckdb.DuckDBPyConnection, username: str) -> User | None:
    row = conn.execute(
        f"SELECT {USER_COLUMNS} FROM users u WHERE u.username = ?", [username]).fetchone()
    return _row_to_user(row)


def get_by_id(conn: duckdb.DuckDBPyConnection, user_id: int) -> User | None:
    row = conn.execute(f"SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?", [user_id]).fetchone()
    return _row_to_user(row)


def name_taken(conn: duckdb.DuckDBPyConnection, username: str) -> bool:
    """Names differing only in case would be confused by people, so they count as taken."""
    row = conn.execute("SELECT count(*) FROM users WHERE lower(username) = lower(?)",
                       [username]).fetchone()
    return bool(row and row[0])


def create(
    conn: duckdb.DuckDBPyConnection, username: str, password_hash: str, role: Role
) -> User:
    row = conn.execute(
        "INSERT INTO users (username, password_hash, role) VALUES (?, ?, ?) RETURNING id",
        [username, password_hash, role],
    ).fetchone()
    assert row is not None
    user = get_by_id(conn, int(row[0]))
    assert user is not None
    return user


def list_accounts(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every account that is not deleted, with when it last asked for an answer."""
    cur = conn.execute(
        "SELECT u.id, u.username, u.role, u.disabled_at IS NOT NULL AS disabled, u.created_at,"
        " (SELECT max(r.created_at) FROM requests r WHERE r.user_id = u.id) AS last_active_at"
        " FROM users u WHERE u.deleted_at IS NULL ORDER BY lower(u.username)")
    return rows_as_dicts(cur)


def set_password_hash(conn: duckdb.DuckDBPyConnection, user_id: int, password_hash: str) -> None:
    """A new password ends every session of the account."""
    conn.execute(
        "UPDATE users SET password_hash = ?,"
        " session_generation = coalesce(session_generation, 0) + 1 WHERE id = ?",
        [password_hash, user_id])


def set_role(conn: duckdb.DuckDBPyConnection, user_id: int, role: Role) -> None:
    conn.execute("UPDATE users SET role = ? WHERE id = ?", [role, user_id])


def set_disabled(conn: duckdb.DuckDBPyConnection, user_id: int, disabled: bool) -> None:
    if disabled:
        conn.execute(
            "UPDATE users SET disabled_at = coalesce(disabled_at, now()),"
            " session_generation = coalesce(session_generation, 0) + 1 WHERE id = ?", [user_id])
    else:
        conn.execute("UPDATE users SET disabled_at = NULL WHERE id = ?", [user_id])


def mark_deleted(conn: duckdb.DuckDBPyConnection, user_id: int) -> None:
    conn.execute(
        "UPDATE users SET deleted_at = now(), default_system_prompt = NULL,"
        " session_generation = coalesce(session_generation, 0) + 1 WHERE id = ?", [user_id])


def other_active_admins(conn: duckdb.DuckDBPyConnection, user_id: int) -> int:
    row = conn.execute(
        f"SELECT count(*) FROM users u WHERE {_ACTIVE_ADMIN} AND u.id <> ?", [user_id]).fetchone()
    return int(row[0]) if row else 0


def count(conn: duckdb.DuckDBPyConnection) -> int:
    row = conn.execute("SELECT count(*) FROM users").fetchone()
    return int(row[0]) if row else 0
