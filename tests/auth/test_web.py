"""A web request's session: Bearer header or cookie; the Gradio auth dependency built on it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from fastapi import Request

from auth.service import AuthService
from auth.web import TOKEN_COOKIE, gradio_auth_dependency, token_from
from errors import AuthenticationFailed


def request(headers: dict[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


def test_a_bearer_header_wins_over_the_cookie() -> None:
    both = request({"Authorization": "Bearer from-header", "Cookie": f"{TOKEN_COOKIE}=from-cookie"})
    assert token_from(both) == "from-header"
    assert token_from(request({"Cookie": f"{TOKEN_COOKIE}=from-cookie"})) == "from-cookie"
    assert token_from(request({"Authorization": "Basic abc"})) is None
    assert token_from(request({})) is None


def auth_answering(username: str | None) -> AuthService:
    async def user_for_token(token: str | None) -> tuple[Any, None]:
        if username is None:
            raise AuthenticationFailed("Invalid token", code="unknown_user")
        return SimpleNamespace(username=username), None

    return cast(AuthService, SimpleNamespace(user_for_token=user_for_token))


async def test_gradio_callers_are_named_by_their_token_or_refused() -> None:
    caller = request({"Authorization": "Bearer t"})
    assert await gradio_auth_dependency(lambda: auth_answering("ann"))(caller) == "ann"
    assert await gradio_auth_dependency(lambda: auth_answering(None))(caller) is None


async def test_gradio_callers_are_refused_before_the_app_has_started() -> None:
    def not_started() -> AuthService:
        raise RuntimeError("services are not started")

    assert await gradio_auth_dependency(not_started)(request({"Authorization": "Bearer t"})) is None
