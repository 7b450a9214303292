"""The /login page and the redirect in front of the UI, without a running app behind them."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from auth.login_page import LoginRedirectMiddleware, login_router
from auth.service import AuthService


def not_started() -> AuthService:
    raise RuntimeError("services are not started")


def app_with_login() -> FastAPI:
    app = FastAPI()
    app.add_middleware(LoginRedirectMiddleware, auth=not_started)
    app.include_router(login_router(not_started))

    @app.get("/")
    async def home() -> PlainTextResponse:
        return PlainTextResponse("home")

    return app


async def test_the_login_page_never_sends_a_browser_off_the_site() -> None:
    transport = httpx.ASGITransport(app=app_with_login())
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        page = await client.get("/login", params={"next": "https://evil.example/"},
                                headers={"Accept-Language": "ko-KR"})
    assert page.status_code == 200
    assert 'name="next" value="/"' in page.text
    assert "로그인" in page.text


async def test_nothing_is_redirected_before_the_app_has_started() -> None:
    transport = httpx.ASGITransport(app=app_with_login())
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        response = await client.get("/")
    assert response.status_code == 200 and response.text == "home"
