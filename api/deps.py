"""FastAPI dependencies: the services and the calling user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from errors import PermissionDenied
from services import Services
from storage.users import User

TOKEN_COOKIE = "vllm_chat_token"


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def token_from(request: Request) -> str | None:
    """API clients send a Bearer header; browsers send the HttpOnly cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(TOKEN_COOKIE) or None


def set_session_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        TOKEN_COOKIE, token, max_age=max_age, httponly=True, samesite="lax",
        secure=request.url.scheme == "https", path="/",
    )


async def current_user(
    request: Request, services: Annotated[Services, Depends(get_services)]
) -> User:
    user, _ = await services.auth.user_for_token(token_from(request))
    return user


ServicesDep = Annotated[Services, Depends(get_services)]
UserDep = Annotated[User, Depends(current_user)]


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise PermissionDenied("This needs an admin account", code="admin_only")
    return user


AdminDep = Annotated[User, Depends(admin_user)]
