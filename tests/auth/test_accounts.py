"""User administration and sessions that end, against a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import pytest

from auth.accounts import AccountChange, AccountService
from auth.passwords import PasswordHasher
from auth.service import AuthService
from auth.tokens import TokenService
from errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, PermissionDenied
from services import StartupError, check_exposure
from settings import Settings
from storage import conversations, users
from storage.db import Database
from storage.users import User

SECRET = "0123456789abcdef0123456789abcdef-test"


@pytest.fixture
def auth(db: Database, tmp_path: Path) -> AuthService:
    settings = Settings(data_dir=tmp_path, bcrypt_rounds=4)
    service = AuthService(db, PasswordHasher(4), TokenService(SECRET, 30), settings)
    service.seed_accounts()
    return service


async def _no_answers_running(_: int) -> None:
    return None


@pytest.fixture
def accounts(db: Database) -> AccountService:
    return AccountService(db, PasswordHasher(4), 8, _no_answers_running)


def named(db: Database, username: str) -> User:
    user = db.call(lambda c: users.get_by_username(c, username))
    assert user is not None
    return user


async def test_admin_creates_a_user_who_signs_in(auth: AuthService, accounts: AccountService,
                                                 db: Database) -> None:
    created = await accounts.create(named(db, "admin"), "민지", "long-enough-1", "user")
    user, token = await auth.login("민지", "long-enough-1")
    assert user.id == created.id and user.role == "user"
    assert (await auth.user_for_token(token))[0].username == "민지"


@pytest.mark.parametrize(("username", "password", "role", "code"), [
    ("bob", "short", "user", "password_too_short"),
    ("bob", "x" * 73, "user", "password_too_long"),
    ("bad name", "long-enough-1", "user", "invalid_username"),
    ("bob", "long-enough-1", "root", "invalid_role"),
])
async def test_bad_accounts_are_refused(accounts: AccountService, db: Database, auth: AuthService,
                                        username: str, password: str, role: str,
                                        code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await accounts.create(named(db, "admin"), username, password, role)
    assert refused.value.code == code


async def test_a_taken_name_in_any_case_is_a_conflict(accounts: AccountService, db: Database,
                                                      auth: AuthService) -> None:
    with pytest.raises(Conflict) as refused:
        await accounts.create(named(db, "admin"), "TEST", "long-enough-1", "user")
    assert refused.value.code == "username_taken"


async def test_only_admins_manage_accounts(accounts: AccountService, db: Database,
                                           auth: AuthService) -> None:
    user = named(db, "test")
    admin = named(db, "admin")
    for attempt in (accounts.list(user), accounts.create(user, "eve", "long-enough-1", "admin"),
                    accounts.update(user, admin.id, AccountChange(disabled=True)),
                    accounts.delete(user, admin.id)):
        with pytest.raises(PermissionDenied):
            await attempt


async def test_signed_out_token_stops_working_and_others_do_not(auth: AuthService) -> None:
    _, first = await auth.login("test", "test")
    _, second = await auth.login("test", "test")
    await auth.logout(first)
    with pytest.raises(AuthenticationFailed) as refused:
        await auth.user_for_token(first)
    assert refused.value.code == "session_ended"
    assert (await auth.user_for_token(second))[0].username == "test"


async def test_disabling_ends_tokens_and_keys_and_sign_in(auth: AuthService,
                                                          accounts: AccountService,
                                                          db: Database) -> None:
    user, token = await auth.login("test", "test")
    _, key = await auth.create_key(user, "script")
    await accounts.update(named(db, "admin"), user.id, AccountChange(disabled=True))
    for credential in (token, key):
        with pytest.raises(AuthenticationFailed):
            await auth.user_for_token(credential)
    with pytest.raises(AuthenticationFailed) as refused:
        await auth.login("test", "test")
    assert refused.value.code == "account_disabled"

    await accounts.update(named(db, "admin"), user.id, AccountChange(disabled=False))
    _, fresh = await auth.login("test", "test")
    assert (await auth.user_for_token(fresh))[0].username == "test"
    with pytest.raises(AuthenticationFailed):
        await auth.user_for_token(key)  # a revoked key stays revoked


async def test_password_reset_ends_every_session(auth: AuthService, accounts: AccountService,
                                                 db: Database) -> None:
    user, token = await auth.login("test", "test")
    await accounts.update(named(db, "admin"), user.id, AccountChange(password="new-password-1"))
    with pytest.raises(AuthenticationFailed) as refused:
        await auth.user_for_token(token)
    assert refused.value.code == "session_ended"
    await auth.login("test", "new-password-1")


async def test_own_password_change_needs_the_current_one(auth: AuthService,
                                                        accounts: AccountService) -> None:
    user, token = await auth.login("test", "test")
    with pytest.raises(PermissionDenied):
        await accounts.change_own_password(user, "wrong", "new-password-1")
    changed = await accounts.change_own_password(user, "test", "new-password-1")
    with pytest.raises(AuthenticationFailed):
        await auth.user_for_token(token)
    assert (await auth.user_for_token(auth.issue(changed)))[0].id == user.id


@pytest.mark.parametrize("change", [AccountChange(disabled=True), AccountChange(role="user")])
async def test_the_last_admin_stays(auth: AuthService, accounts: AccountService, db: Database,
                                    change: AccountChange) -> None:
    admin = named(db, "admin")
    with pytest.raises(Conflict) as refused:
        await accounts.update(admin, admin.id, change)
    assert refused.value.code == "last_admin"
    with pytest.raises(Conflict):
        await accounts.delete(admin, admin.id)

    second = await accounts.create(admin, "second", "long-enough-1", "admin")
    await accounts.update(second, admin.id, change)  # with another admin it may go
    with pytest.raises(Conflict):
        await accounts.delete(second, second.id)


async def test_deleting_a_user_takes_conversations_keeps_usage(auth: AuthService,
                                                               accounts: AccountService,
                                                               db: Database) -> None:
    user = named(db, "test")
    conv = db.call(lambda c: conversations.create(c, user.id, "mine", None, "m"))
    db.call(lambda c: c.execute("INSERT INTO requests (request_id, user_id, conv_id, status)"
                                " VALUES ('r1', ?, ?, 'completed')", [user.id, conv.id]))
    await accounts.delete(named(db, "admin"), user.id)

    assert db.call(lambda c: conversations.get(c, conv.id)) is None
    assert db.call(lambda c: c.execute("SELECT count(*) FROM requests").fetchone()) == (1,)
    with pytest.raises(AuthenticationFailed):
        await auth.login("test", "test")
    assert "test" not in [a["username"] for a in await accounts.list(named(db, "admin"))]
    with pytest.raises(NotFound):
        await accounts.update(named(db, "admin"), user.id, AccountChange(disabled=False))


def test_a_short_admin_password_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="PASSWORD_MIN_LENGTH"):
        check_exposure(Settings(data_dir=tmp_path, admin_password="a"))
