"""Logging in, resolving tokens and seeding the first accounts, against a real DuckDB file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auth.passwords import PasswordHasher
from auth.service import AuthService
from auth.tokens import TokenService
from errors import AuthenticationFailed, RateLimited
from settings import Settings
from storage import users
from storage.db import Database

SECRET = "0123456789abcdef0123456789abcdef-test"


def make_auth(db: Database, tmp_path: Path, **overrides: Any) -> AuthService:
    settings = Settings(data_dir=tmp_path, bcrypt_rounds=4, **overrides)
    return AuthService(db, PasswordHasher(settings.bcrypt_rounds), TokenService(SECRET, 30), settings)


def roles(db: Database) -> dict[str, str]:
    rows = db.call(lambda c: c.execute("SELECT username, role FROM users").fetchall())
    return dict(rows)


def test_loopback_service_seeds_admin_and_test_accounts(db: Database, tmp_path: Path) -> None:
    make_auth(db, tmp_path).seed_accounts()
    assert roles(db) == {"admin": "admin", "test": "user"}


def test_seeding_twice_creates_no_duplicates(db: Database, tmp_path: Path) -> None:
    auth = make_auth(db, tmp_path)
    auth.seed_accounts()
    auth.seed_accounts()
    assert db.call(users.count) == 2


def test_service_bound_to_all_interfaces_seeds_no_demo_accounts(db: Database, tmp_path: Path) -> None:
    make_auth(db, tmp_path, GATEWAY_HOST="0.0.0.0").seed_accounts()
    assert roles(db) == {}


def test_admin_password_creates_admin_even_when_exposed(db: Database, tmp_path: Path) -> None:
    auth = make_auth(db, tmp_path, GATEWAY_HOST="0.0.0.0", admin_password="a-long-admin-password")
    auth.seed_accounts()
    assert roles(db) == {"admin": "admin"}
    assert auth.demo_passwords_in_use() == []


async def test_admin_password_resets_the_admins_password(db: Database, tmp_path: Path) -> None:
    make_auth(db, tmp_path).seed_accounts()
    auth = make_auth(db, tmp_path, admin_password="a-new-admin-password")
    auth.seed_accounts()

    user, _ = await auth.login("admin", "a-new-admin-password")
    assert user.role == "admin"
    with pytest.raises(AuthenticationFailed):
        await auth.login("admin", "admin123")
    assert auth.demo_passwords_in_use() == ["test"]


async def test_login_returns_a_token_that_resolves_to_the_user(db: Database, tmp_path: Path) -> None:
    auth = make_auth(db, tmp_path)
    auth.seed_accounts()
    user, token = await auth.login("test", "test")
    assert user.username == "test"

    resolved, claims = await auth.user_for_token(token)
    assert resolved == user
    assert claims is not None
    assert claims.username == "test"


@pytest.mark.parametrize(("username", "password"), [("admin", "wrong"), ("nobody", "admin123")])
async def test_wrong_password_and_unknown_user_fail_alike(
    db: Database, tmp_path: Path, username: str, password: str
) -> None:
    auth = make_auth(db, tmp_path)
    auth.seed_accounts()
    with pytest.raises(AuthenticationFailed) as info:
        await auth.login(username, password)
    assert info.value.code == "invalid_credentials"
    assert info.value.message == "Wrong username or password"


async def test_unknown_user_with_a_long_password_fails_as_invalid_credentials(
    db: Database, tmp_path: Path
) -> None:
    auth = make_auth(db, tmp_path)
    with pytest.raises(AuthenticationFailed) as info:
        await auth.login("nobody", "x" * 100)
    assert info.value.code == "invalid_credentials"


async def test_missing_token_is_rejected(db: Database, tmp_path: Path) -> None:
    auth = make_auth(db, tmp_path)
    auth.seed_accounts()
    for token in (None, ""):
        with pytest.raises(AuthenticationFailed) as info:
            await auth.user_for_token(token)
        assert info.value.code == "missing_token"


async def test_development_mode_treats_a_missing_token_as_the_admin(db: Database, tmp_path: Path) -> None:
    auth = make_auth(db, tmp_path, development_mode=True)
    auth.seed_accounts()
    user, claims = await auth.user_for_token(None)
    assert user.username == "admin"
    assert user.is_admin
    assert claims is None


async def test_token_of_a_deleted_user_is_rejected(db: Database, tmp_path: Path) -> None:
    auth = make_auth(db, tmp_path)
    auth.seed_accounts()
    with pytest.raises(AuthenticationFailed) as info:
        await auth.user_for_token(auth.tokens.issue("ghost"))
    assert info.value.code == "unknown_user"


def test_demo_passwords_in_use_lists_accounts_on_their_published_password(
    db: Database, tmp_path: Path
) -> None:
    auth = make_auth(db, tmp_path)
    auth.seed_accounts()
    assert auth.demo_passwords_in_use() == ["admin", "test"]

    test_user = db.call(lambda c: users.get_by_username(c, "test"))
    assert test_user is not None
    new_hash = PasswordHasher(4).hash("a-private-password")
    db.call(lambda c: users.set_password_hash(c, test_user.id, new_hash))
    assert auth.demo_passwords_in_use() == ["admin"]


async def test_failed_logins_are_limited_per_address_and_username(
    db: Database, tmp_path: Path
) -> None:
    auth = make_auth(db, tmp_path, login_rate_limit="2/minute")
    auth.seed_accounts()
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            await auth.login("test", "wrong", "10.0.0.1")
    with pytest.raises(RateLimited):
        await auth.login("TEST", "test", "10.0.0.1")  # even the right password, from there
    user, _ = await auth.login("test", "test", "10.0.0.2")
    assert user.username == "test"
    await auth.login("admin", "admin123", "10.0.0.1")


async def test_successful_logins_do_not_count(db: Database, tmp_path: Path) -> None:
    auth = make_auth(db, tmp_path, login_rate_limit="1/minute")
    auth.seed_accounts()
    for _ in range(3):
        await auth.login("test", "test", "10.0.0.1")
