"""The /login page and the redirect in front of the UI, without a running app behind them."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from auth.login_page import LoginRedirectMiddleware, login_router
from auth.service import AuthService
from errors import AuthenticationFailed


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


class WrongPassword:
    """Test double of AuthService: every sign-in fails."""

    async def login(self, username: str, password: str, client: str) -> None:
        raise AuthenticationFailed("wrong username or password")


async def test_a_wrong_password_keeps_the_username_typed() -> None:
    """Issue 12: the form came back empty; the username stays (escaped), the password goes."""
    app = FastAPI()
    app.include_router(login_router(lambda: WrongPassword()))  # type: ignore[arg-type, return-value]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        page = await client.post("/login", data={"username": 'kim"><b>', "password": "nope"})
        missing = await client.post("/login", data={"username": "kim", "password": ""})
    assert page.status_code == 401
    assert 'id="username" name="username" value="kim&quot;&gt;&lt;b&gt;"' in page.text
    assert "nope" not in page.text
    assert 'value="kim"' in missing.text
    assert 'id="password" name="password" type="password" autocomplete="current-password"' \
        ' required autofocus' in page.text, "the cursor waits in the password box"
