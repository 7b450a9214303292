"""The login page in front of the Gradio app, and the session cookie it sets.

Gradio's auth_dependency answers 401 JSON to a browser without a session, so
unauthenticated page loads are redirected here instead.
"""

from __future__ import annotations

import contextlib
import html
import time
from urllib.parse import quote, urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.service import AuthService
from auth.tokens import TokenClaims
from auth.web import TOKEN_COOKIE, AuthSource, set_session_cookie, token_from
from errors import AppError, AuthenticationFailed, RateLimited
from languages import language
from storage.users import User

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vLLM Chat · {sign_in}</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f4f5f7; display: flex;
        align-items: center; justify-content: center; min-height: 100vh; margin: 0; }}
 form {{ background: #fff; padding: 2rem 2.2rem; border-radius: 12px; width: 320px;
        box-shadow: 0 4px 24px rgba(0,0,0,.08); }}
 h1 {{ font-size: 1.4rem; margin: 0 0 1.2rem; }}
 label {{ display: block; font-size: .9rem; margin: .8rem 0 .3rem; color: #333; }}
 input {{ width: 100%; box-sizing: border-box; padding: .6rem; border: 1px solid #ccc;
         border-radius: 8px; font-size: 1rem; }}
 button {{ margin-top: 1.2rem; width: 100%; padding: .7rem; border: 0; border-radius: 8px;
          background: #ea580c; color: #fff; font-size: 1rem; cursor: pointer; }}
 .error {{ background: #fde8e8; color: #9b1c1c; padding: .6rem; border-radius: 8px;
          font-size: .9rem; }}
</style></head>
<body><form method="post" action="/login">
<h1>vLLM Chat</h1>
{error}
<input type="hidden" name="next" value="{next}">
<label for="username">{username}</label>
<input id="username" name="username" value="{typed}" autocomplete="username" required{focus_user}>
<label for="password">{password}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required{focus_password}>
<button type="submit" id="sign-in">{sign_in}</button>
</form>
<script>/* the browser's time zone, for "Today" in the conversation list (ui/sidebar.py) */
document.cookie = "tz=" + encodeURIComponent(Intl.DateTimeFormat().resolvedOptions().timeZone)
  + "; path=/; SameSite=Lax";</script>
</body></html>"""


WORDS = {
    "en": {"sign_in": "Sign in", "username": "Username", "password": "Password",
           "missing": "Enter your username and password.", "wrong": "Wrong username or password.",
           "too_many": "Too many failed sign-ins. Try again in a little while."},
    "ko": {"sign_in": "로그인", "username": "아이디", "password": "비밀번호",
           "missing": "아이디와 비밀번호를 입력하세요.",
           "wrong": "아이디 또는 비밀번호가 올바르지 않습니다.",
           "too_many": "로그인 실패가 너무 많습니다. 잠시 후 다시 시도하세요."},
}


def _page(request: Request, error: str | None = None, next_path: str = "/",
          status_code: int = 200, typed: str = "") -> HTMLResponse:
    """The form; after a failed try it keeps the username typed, with the cursor in the
    password box."""
    lang = language(request.headers.get("accept-language"))
    words = WORDS[lang]
    block = f'<p class="error" role="alert">{html.escape(words[error])}</p>' if error else ""
    focus = " autofocus"
    return HTMLResponse(PAGE.format(error=block, next=html.escape(next_path), lang=lang,
                                    sign_in=words["sign_in"], username=words["username"],
                                    password=words["password"], typed=html.escape(typed),
                                    focus_user="" if typed else focus,
                                    focus_password=focus if typed else ""), status_code)


def _safe_next(next_path: str) -> str:
    """Only same-site paths, so the login page cannot be used as an open redirect."""
    parsed = urlparse(next_path)
    if parsed.scheme or parsed.netloc or not next_path.startswith("/"):
        return "/"
    return next_path


def login_router(auth: AuthSource) -> APIRouter:
    """GET and POST /login, GET /logout; kept out of the API reference."""
    page = LoginPage(auth)
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/login", page.show, methods=["GET"])
    router.add_api_route("/login", page.submit, methods=["POST"])
    router.add_api_route("/logout", page.logout, methods=["GET"])
    return router


class LoginPage:
    def __init__(self, auth: AuthSource) -> None:
        self._auth = auth

    async def show(self, request: Request, next: str = "/") -> HTMLResponse:
        return _page(request, next_path=_safe_next(next))

    async def submit(
        self,
        request: Request,
        username: str = Form(default=""),
        password: str = Form(default=""),
        next: str = Form(default="/"),
    ) -> Response:
        auth = self._auth()
        if not username or not password:
            return _page(request, "missing", _safe_next(next), 400, username)
        try:
            client = request.client.host if request.client else ""
            _, token = await auth.login(username, password, client)
        except AuthenticationFailed:
            return _page(request, "wrong", _safe_next(next), 401, username)
        except RateLimited as exc:
            page = _page(request, "too_many", _safe_next(next), 429, username)
            page.headers["Retry-After"] = str(exc.retry_after_s)
            return page
        response = RedirectResponse(_safe_next(next), status_code=303)
        set_session_cookie(response, request, token, auth.tokens.lifetime_s)
        return response

    async def logout(self, request: Request) -> Response:
        with contextlib.suppress(AppError):  # a session that already ended has nothing to sign out
            await self._auth().logout(token_from(request))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(TOKEN_COOKIE, path="/")
        return response


class LoginRedirectMiddleware:
    """Send a browser without a valid session to /login; renew a session past half its life.

    Pure ASGI (not BaseHTTPMiddleware) so streamed answers and disconnects pass through untouched.
    Development mode has no sign-in, so the app leaves this out there.
    """

    def __init__(self, app: ASGIApp, auth: AuthSource) -> None:
        self.app = app
        self._auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        auth = self._started_auth() if scope["type"] == "http" else None
        if auth is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        token = token_from(request)
        claims = _claims(auth, token)
        page_load = request.method == "GET" and request.url.path == "/"
        renew = (
            claims is not None
            and request.cookies.get(TOKEN_COOKIE) == token
            and claims.expires_at - time.time() < auth.tokens.lifetime_s / 2
        )
        # Only a page load or a renewal asks the database: whether a signature-valid token
        # was signed out or its account disabled is checked by every handler anyway.
        user = await _session_user(auth, token) if claims and (page_load or renew) else None
        if user is None and page_load:
            target = "/" + (f"?{request.url.query}" if request.url.query else "")
            await RedirectResponse(f"/login?next={quote(target)}", status_code=303)(
                scope, receive, send
            )
            return
        if not renew or user is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _with_cookie(send, _fresh_cookie(auth, request, user)))

    def _started_auth(self) -> AuthService | None:
        try:
            return self._auth()
        except RuntimeError:  # not started yet: there is nothing to check a session against
            return None


def _fresh_cookie(auth: AuthService, request: Request, user: User) -> bytes:
    """The Set-Cookie header value of a renewed session."""
    cookie_holder = Response()
    set_session_cookie(cookie_holder, request, auth.issue(user), auth.tokens.lifetime_s)
    return cookie_holder.headers["set-cookie"].encode("latin-1")


def _with_cookie(send: Send, set_cookie: bytes) -> Send:
    async def send_with_cookie(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []),
                                              (b"set-cookie", set_cookie)]}
        await send(message)

    return send_with_cookie


async def _session_user(auth: AuthService, token: str | None) -> User | None:
    try:
        user, _ = await auth.user_for_token(token)
    except AppError:
        return None
    return user


def _claims(auth: AuthService, token: str | None) -> TokenClaims | None:
    if not token:
        return None
    try:
        return auth.tokens.decode(token)
    except AppError:
        return None
