"""Accounts: admins list, add, change and delete users; everyone changes their own password."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.deps import AccountsDep, AdminDep, AuthDep, UserDep
from auth.accounts import AccountChange
from auth.web import TOKEN_COOKIE, set_session_cookie, token_from
from storage.users import User

router = APIRouter(tags=["users"])


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    role: Literal["user", "admin"] = "user"


class UserChange(BaseModel):
    role: Literal["user", "admin"] | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=256)


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


def _public(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "role": user.role,
            "disabled": user.disabled}


@router.get("/api/admin/users")
async def list_users(accounts: AccountsDep, admin: AdminDep) -> dict[str, Any]:
    return {"users": await accounts.list(admin)}


@router.post("/api/admin/users", status_code=201)
async def create_user(body: NewUser, accounts: AccountsDep, admin: AdminDep) -> dict[str, Any]:
    user = await accounts.create(admin, body.username, body.password, body.role)
    return _public(user)


@router.patch("/api/admin/users/{user_id}")
async def change_user(user_id: int, body: UserChange, accounts: AccountsDep,
                      admin: AdminDep) -> dict[str, Any]:
    change = AccountChange(role=body.role, disabled=body.disabled, password=body.password)
    return _public(await accounts.update(admin, user_id, change))


@router.delete("/api/admin/users/{user_id}", status_code=204)
async def delete_user(user_id: int, accounts: AccountsDep, admin: AdminDep) -> Response:
    await accounts.delete(admin, user_id)
    return Response(status_code=204)


@router.put("/api/me/password")
async def change_password(body: PasswordChange, request: Request, response: Response,
                          accounts: AccountsDep, auth: AuthDep, user: UserDep) -> dict[str, Any]:
    """Every session and API key of the account ends; this one gets a new token (and cookie)."""
    changed = await accounts.change_own_password(
        user, body.current_password, body.new_password)
    token = auth.issue(changed)
    lifetime = auth.tokens.lifetime_s
    if request.cookies.get(TOKEN_COOKIE) == token_from(request):
        set_session_cookie(response, request, token, lifetime)
    return {"access_token": token, "token_type": "bearer", "expires_in": lifetime}
