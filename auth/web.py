"""How a web request carries its session: a Bearer header or the HttpOnly cookie; and the
Gradio auth_dependency, which authenticates Gradio pages and calls like REST calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from auth.service import AuthService
from errors import AppError

TOKEN_COOKIE = "vllm_chat_token"

# The auth service as it is at call time: the app builds it in its lifespan, after the routes
# and the Gradio Blocks exist. Raises RuntimeError while the app is not started.
AuthSource = Callable[[], AuthService]


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


def gradio_auth_dependency(auth: AuthSource) -> Callable[[Request], Awaitable[str | None]]:
    """Gradio's auth_dependency: the caller's username, or None to refuse the call."""

    async def gradio_user(request: Request) -> str | None:
        try:
            user, _ = await auth().user_for_token(token_from(request))
        except (AppError, RuntimeError):
            return None
        return user.username

    return gradio_user
