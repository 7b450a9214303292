"""User administration (admins) and changing one's own password (everyone).

Every change that should end sessions raises the account's session generation and revokes its
API keys in the same database call, so nothing signed in before survives it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from auth.passwords import PasswordHasher, check_new_password
from errors import Conflict, InvalidInput, NotFound, PermissionDenied
from storage import api_keys, conversations, presets, users
from storage.db import Database
from storage.transactions import transaction
from storage.users import ROLES, Role, User

log = logging.getLogger(__name__)

# Letters of any script (Korean names included), digits and . _ - @; no spaces or slashes.
USERNAME = re.compile(r"^[\w.@-]{1,64}$")


@dataclass(frozen=True)
class AccountChange:
    role: Role | None = None
    disabled: bool | None = None
    password: str | None = None


class AccountService:
    def __init__(self, db: Database, hasher: PasswordHasher, password_min_length: int,
                 wait_for_answers: Callable[[int], Awaitable[None]]) -> None:
        self._db = db
        self._hasher = hasher
        self._min_length = password_min_length
        # Deleting a conversation waits until its last answer is stored (chat.recorder.wait).
        self._wait_for_answers = wait_for_answers

    async def list(self, admin: User) -> list[dict[str, Any]]:
        _require_admin(admin)
        return await self._db.run(users.list_accounts)

    async def create(self, admin: User, username: str, password: str, role: str) -> User:
        _require_admin(admin)
        username = username.strip()
        if not USERNAME.match(username):
            raise InvalidInput("A username has 1 to 64 letters, digits or . _ - @",
                               code="invalid_username")
        checked_role = _role(role)
        check_new_password(password, self._min_length)
        hashed = await asyncio.to_thread(self._hasher.hash, password)

        def insert(conn: duckdb.DuckDBPyConnection) -> User:
            if users.name_taken(conn, username):
                raise Conflict(f"The username {username!r} is taken", code="username_taken")
            return users.create(conn, username, hashed, checked_role)

        user = await self._db.run(insert)
        log.info("%s created account %s (%s)", admin.username, username, checked_role)
        return user

    async def update(self, admin: User, user_id: int, change: AccountChange) -> User:
        _require_admin(admin)
        if change.role is not None:
            _role(change.role)
        hashed = None
        if change.password is not None:
            check_new_password(change.password, self._min_length)
            hashed = await asyncio.to_thread(self._hasher.hash, change.password)

        def apply(conn: duckdb.DuckDBPyConnection) -> User:
            target = _existing(conn, user_id)
            demoted = change.role == "user" or change.disabled is True
            if target.is_admin and demoted:
                _keep_an_admin(conn, target)
            with transaction(conn):
                if change.role is not None:
                    users.set_role(conn, user_id, change.role)
                if change.disabled is not None:
                    users.set_disabled(conn, user_id, change.disabled)
                if hashed is not None:
                    users.set_password_hash(conn, user_id, hashed)
                if change.disabled or hashed is not None:
                    api_keys.revoke_all_for_user(conn, user_id)
            return _existing(conn, user_id)

        user = await self._db.run(apply)
        log.info("%s changed account %s: %s", admin.username, user.username, _described(change))
        return user

    async def delete(self, admin: User, user_id: int) -> str:
        """The account signs in no more and its conversations, presets and keys go; its usage
        rows stay, shown as a deleted user, so the figures of the past do not change.
        Returns the account's name."""
        _require_admin(admin)

        def retire(conn: duckdb.DuckDBPyConnection) -> tuple[str, list[int]]:
            target = _existing(conn, user_id)
            if target.is_admin:
                _keep_an_admin(conn, target)
            with transaction(conn):
                users.mark_deleted(conn, user_id)
                api_keys.revoke_all_for_user(conn, user_id)
                presets.delete_all_for_user(conn, user_id)
            return target.username, conversations.ids_for_user(conn, user_id)

        username, conv_ids = await self._db.run(retire)
        for conv_id in conv_ids:
            await self._wait_for_answers(conv_id)
            await self._db.run(lambda c, conv=conv_id: conversations.delete(c, conv))  # type: ignore[misc]
        log.info("%s deleted account %s and %d conversations", admin.username, username,
                 len(conv_ids))
        return username

    async def change_own_password(self, user: User, current: str, new: str) -> User:
        """Every session and key of the account ends; the caller gets the account as it is now
        so a fresh token can be issued for the session that asked."""
        ok = await asyncio.to_thread(self._hasher.verify, current, user.password_hash)
        if not ok:
            raise PermissionDenied("The current password is wrong", code="wrong_password")
        check_new_password(new, self._min_length)
        hashed = await asyncio.to_thread(self._hasher.hash, new)

        def apply(conn: duckdb.DuckDBPyConnection) -> User:
            with transaction(conn):
                users.set_password_hash(conn, user.id, hashed)
                api_keys.revoke_all_for_user(conn, user.id)
            return _existing(conn, user.id)

        return await self._db.run(apply)


def _require_admin(user: User) -> None:
    if not user.is_admin:
        raise PermissionDenied("This needs an admin account", code="admin_only")


def _role(role: str) -> Role:
    if role not in ROLES:
        raise InvalidInput("A role is user or admin", code="invalid_role")
    return role


def _existing(conn: duckdb.DuckDBPyConnection, user_id: int) -> User:
    user = users.get_by_id(conn, user_id)
    if user is None or user.deleted:
        raise NotFound(f"User {user_id} not found", code="user_not_found")
    return user


def _keep_an_admin(conn: duckdb.DuckDBPyConnection, target: User) -> None:
    """Checked on the database thread with the change, so two admins demoting each other at
    once cannot both succeed."""
    if not target.disabled and users.other_active_admins(conn, target.id) == 0:
        raise Conflict("The last admin cannot be disabled, demoted or deleted",
                       code="last_admin")


def _described(change: AccountChange) -> str:
    parts = [f"role={change.role}" if change.role else "",
             f"disabled={change.disabled}" if change.disabled is not None else "",
             "password reset" if change.password is not None else ""]
    return ", ".join(p for p in parts if p) or "nothing"
