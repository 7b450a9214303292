"""One CORS policy for the whole app, Gradio's routes included.

Starlette's CORSMiddleware answers for every route with the origins in CORS_ORIGINS (Gradio's
own CORS handling steps aside when the parent app has it; it reflected any localhost origin with
credentials). Browsers send the session cookie to another port of the same host (same site), so
a state-changing request from another origin is refused here too: from a listed origin only on
the REST API (/api, /v1), never on the UI's functions or the login form.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_body

REST_PREFIXES = ("/api/", "/v1/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def listed_origins(setting: str) -> list[str]:
    """CORS_ORIGINS: comma-separated origins such as https://tools.example.com."""
    return [origin.strip().rstrip("/") for origin in setting.split(",") if origin.strip()]


def _endpoint(scheme: str, netloc: str) -> tuple[str | None, int | None]:
    """(host, port) with the scheme's default port filled in; `null` and junk give no host."""
    parts = urlsplit(f"{scheme}://{netloc}")
    try:
        return parts.hostname, parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number
        return None, None


def same_origin(origin: str, host: str | None) -> bool:
    """The Origin names the Host the request came to. Ports default by the Origin's scheme: behind
    a TLS-terminating proxy the app itself sees http while the page is https."""
    parts = urlsplit(origin)
    theirs = _endpoint(parts.scheme, parts.netloc)
    return bool(host) and theirs[0] is not None and theirs == _endpoint(parts.scheme, host or "")


class RefuseOtherOrigins:
    def __init__(self, app: ASGIApp, listed: list[str]) -> None:
        self.app = app
        self.listed = frozenset(listed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self._allowed(origin, headers, scope):
                refusal = error_body("A request from another site may not change anything here",
                                     "permission_error", "cross_origin")
                await JSONResponse(refusal, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _allowed(self, origin: str, headers: Headers, scope: Scope) -> bool:
        if same_origin(origin, headers.get("host")):
            return True
        return origin.rstrip("/") in self.listed and scope["path"].startswith(REST_PREFIXES)


def install_cross_origin_policy(app: FastAPI, cors_origins: str) -> None:
    listed = listed_origins(cors_origins)
    app.add_middleware(RefuseOtherOrigins, listed=listed)
    app.add_middleware(CORSMiddleware, allow_origins=listed, allow_credentials=True,
                       allow_methods=["*"], allow_headers=["*"])
