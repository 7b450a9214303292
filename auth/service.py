"""Logging in, resolving a token to a user, and creating the first accounts."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from auth.api_keys import hash_key, looks_like_key, new_key
from auth.passwords import PasswordHasher
from auth.rate_limits import RateLimit
from auth.tokens import TokenClaims, TokenService
from errors import AuthenticationFailed, InvalidInput, NotFound
from settings import Settings
from storage import api_keys, sessions, users
from storage.db import Database
from storage.users import Role, User

log = logging.getLogger(__name__)

DEMO_ACCOUNTS: list[tuple[str, str, Role]] = [("admin", "admin123", "admin"), ("test", "test", "user")]
DEVELOPMENT_USER = "admin"


class AuthService:
    def __init__(self, db: Database, hasher: PasswordHasher, tokens: TokenService, settings: Settings):
        self._db = db
        self._hasher = hasher
        self.tokens = tokens
        self._settings = settings
        self._failed_logins = RateLimit(settings.login_rate_limit, "failed sign-ins")

    async def login(self, username: str, password: str, client: str = "") -> tuple[User, str]:
        """Only failures count against the limit, per client address and username, so guessing
        is slowed and a user who knows the password is never locked out by someone else."""
        attempt = (client, username.lower())
        self._failed_logins.check(*attempt)
        user = await self._db.run(lambda c: users.get_by_username(c, username))
        if user is not None and user.deleted:
            user = None
        ok = await asyncio.to_thread(
            self._hasher.verify, password, user.password_hash if user else None
        )
        if user is None or not ok:
            log.info("failed login for %r", username)
            self._failed_logins.hit(*attempt)
            raise AuthenticationFailed("Wrong username or password", code="invalid_credentials")
        return _usable(user), self.issue(user)

    def issue(self, user: User) -> str:
        return self.tokens.issue(user.username, user.session_generation)

    async def user_for_token(self, token: str | None) -> tuple[User, TokenClaims | None]:
        """The user a token belongs to; in development mode a missing token means the admin.

        Checked against the database on every call, so a signed-out token, a disabled account
        or a changed password stops working at once."""
        if not token:
            if self._settings.development_mode:
                return await self._development_user(), None
            raise AuthenticationFailed("Not authenticated", code="missing_token")
        if looks_like_key(token):
            return await self._user_for_key(token), None
        claims = self.tokens.decode(token)

        def lookup(conn: Any) -> tuple[User | None, bool]:
            revoked = bool(claims.token_id) and sessions.is_revoked(conn, claims.token_id)
            return users.get_by_username(conn, claims.username), revoked

        user, revoked = await self._db.run(lookup)
        if user is None or user.deleted:
            raise AuthenticationFailed("Invalid token", code="unknown_user")
        if revoked or claims.generation != user.session_generation:
            raise AuthenticationFailed("This session has ended; sign in again",
                                       code="session_ended")
        return _usable(user), claims

    async def logout(self, token: str | None) -> None:
        """Sign out one token; an API key is revoked on the Keys tab instead."""
        if not token or looks_like_key(token):
            return
        user, claims = await self.user_for_token(token)
        if claims is not None and claims.token_id:
            await self._db.run(lambda c: sessions.revoke(
                c, claims.token_id, user.id, claims.expires_at))

    async def _user_for_key(self, key: str) -> User:
        key_hash = hash_key(key)
        user = await self._db.run(lambda c: api_keys.user_for_hash(c, key_hash))
        if user is None:
            raise AuthenticationFailed("Invalid or revoked API key", code="invalid_api_key")
        return _usable(user)

    async def create_key(self, user: User, name: str) -> tuple[dict[str, Any], str]:
        """A new key for the user: its record, and the key itself (shown only this once)."""
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidInput("Give the key a name of 1 to 100 characters", code="invalid_name")
        key, prefix, key_hash = new_key()
        row = await self._db.run(lambda c: api_keys.create(c, user.id, name, prefix, key_hash))
        return row, key

    async def list_keys(self, user: User) -> list[dict[str, Any]]:
        return await self._db.run(lambda c: api_keys.list_for_user(c, user.id))

    async def revoke_key(self, user: User, key_id: int) -> None:
        if not await self._db.run(lambda c: api_keys.revoke(c, user.id, key_id)):
            raise NotFound(f"API key {key_id} not found", code="api_key_not_found")

    async def _development_user(self) -> User:
        user = await self._db.run(lambda c: users.get_by_username(c, DEVELOPMENT_USER))
        if user is None:
            raise AuthenticationFailed("Development mode needs the admin account")
        return _usable(user)

    def seed_accounts(self) -> None:
        """Create the first accounts. Demo accounts exist only for a loopback-bound service."""
        if self._settings.admin_password:
            self._ensure_user("admin", self._settings.admin_password, "admin", reset=True)
        if self._settings.demo_accounts and self._settings.bound_to_loopback:
            for username, password, role in DEMO_ACCOUNTS:
                self._ensure_user(username, password, role, reset=False)

    def _ensure_user(self, username: str, password: str, role: Role, *, reset: bool) -> None:
        existing = self._db.call(lambda c: users.get_by_username(c, username))
        hashed = self._hasher.hash(password)
        if existing is None:
            self._db.call(lambda c: users.create(c, username, hashed, role))
            log.info("created account %s (%s)", username, role)
        elif reset and not self._hasher.verify(password, existing.password_hash):
            # Only a changed ADMIN_PASSWORD resets (and signs out): not every restart.
            self._db.call(lambda c: users.set_password_hash(c, existing.id, hashed))

    def demo_passwords_in_use(self) -> list[str]:
        """Demo accounts that still accept their published password."""
        found = []
        for username, password, _ in DEMO_ACCOUNTS:
            user = self._db.call(lambda c, name=username: users.get_by_username(c, name))  # type: ignore[misc]
            if user and self._hasher.verify(password, user.password_hash):
                found.append(username)
        return found

    async def user_by_name(self, username: str | None) -> User:
        """The account behind a username that Gradio's auth_dependency already vouched for."""
        user = await self._db.run(lambda c: users.get_by_username(c, username or ""))
        if user is None or user.deleted:
            raise AuthenticationFailed("Not authenticated", code="unknown_user")
        return _usable(user)


def _usable(user: User) -> User:
    if user.deleted:
        raise AuthenticationFailed("Not authenticated", code="unknown_user")
    if user.disabled:
        raise AuthenticationFailed("This account is disabled; ask an admin",
                                   code="account_disabled")
    return user
