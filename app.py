"""vLLM Chat: FastAPI with REST under /api and the Gradio Blocks mounted at "/".

`python app.py` serves on GATEWAY_HOST:GATEWAY_PORT with settings from the environment.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import gradio as gr
import uvicorn
from fastapi import FastAPI
from gradio.routes import App as GradioApp
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Mount

from api import auth as auth_routes
from api import backup as backup_routes
from api import chat as chat_routes
from api import conversations as conversation_routes
from api import docs as docs_routes
from api import engine as engine_routes
from api import health as health_routes
from api import keys as key_routes
from api import metrics as metrics_routes
from api import models as model_routes
from api import openai_compat as openai_routes
from api import presets as preset_routes
from api import usage as usage_routes
from api import users as user_routes
from api.cross_origin import install_cross_origin_policy
from api.deps import serve_services
from api.errors import install_error_handlers
from api.request_id import RequestIdMiddleware
from api.unicode_guard import RejectLoneSurrogates
from auth.login_page import LoginRedirectMiddleware, login_router
from auth.service import AuthService
from auth.web import AuthSource, gradio_auth_dependency
from observability.logs import configure_logging
from observability.responses import ResponseCounter
from services import Services, ServicesHolder
from settings import LOOPBACK_HOST_NAMES, Settings
from ui.app import CSS, JS, build_blocks
from ui.i18n import I18N

log = logging.getLogger("vllm_chat")
MAX_UPLOAD = "1mb"


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """Build the app. Services are created in the lifespan unless a test hands its own in."""
    holder = ServicesHolder()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services or Services.build(settings)
        holder.set(owned)
        await owned.start()
        try:
            yield
        finally:
            holder.set(None)
            await owned.stop()

    # The API reference is served by api/docs.py, to signed-in callers only.
    app = FastAPI(title="vLLM Chat", version=settings.app_version, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    serve_services(app, holder)

    def auth() -> AuthService:
        return holder.get().auth

    def responded(status: int) -> None:
        if (started := holder.started()) is not None:
            started.metrics.responded(status)

    _install_routes(app, settings, auth, responded)
    blocks = build_blocks(holder, settings)
    # Gradio pages and Gradio API calls are authenticated like REST calls.
    return gr.mount_gradio_app(app, blocks, path="/", auth_dependency=gradio_auth_dependency(auth),
                               footer_links=["api"], css=CSS, js=JS, i18n=I18N,
                               # No part of the UI takes files; Gradio's upload route still
                               # exists, unbounded by default.
                               max_file_size=MAX_UPLOAD,
                               # Gradio's /monitoring/summary showed any user every function's
                               # timings; /metrics and the Usage tab are the app's monitoring.
                               enable_monitoring=False)


def _install_routes(app: FastAPI, settings: Settings, auth: AuthSource,
                    responded: Callable[[int], None]) -> None:
    """REST routes and the login page, and the middleware in front of them and the UI."""
    install_error_handlers(app)
    if settings.development_mode:
        # Login is skipped, so only loopback names may reach it: a page on attacker.example
        # whose name resolves to 127.0.0.1 (DNS rebinding) must not act as the admin.
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(LOOPBACK_HOST_NAMES))
    app.add_middleware(RejectLoneSurrogates)
    install_cross_origin_policy(app, settings.cors_origins)
    if not settings.development_mode:  # there is no sign-in to send anyone to
        app.add_middleware(LoginRedirectMiddleware, auth=auth)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(ResponseCounter, count=responded)  # outermost: it sees every answer
    for module in (health_routes, auth_routes, chat_routes, model_routes, conversation_routes,
                   usage_routes, engine_routes, metrics_routes, key_routes, openai_routes,
                   backup_routes, preset_routes, user_routes, docs_routes):
        app.include_router(module.router)
    app.include_router(login_router(auth))


def server_config(app: FastAPI, settings: Settings,
                  graceful_shutdown_s: float = 15) -> uvicorn.Config:
    """How uvicorn serves the app (tests serve it in process with the same options)."""
    # uvicorn trusts forwarded headers from 127.0.0.1 unless told otherwise, which let a local
    # client rotate X-Forwarded-For past the sign-in limit: only configured proxies count.
    proxies = settings.forwarded_allow_ips.strip()
    return uvicorn.Config(app, host=settings.host, port=settings.gateway_port,
                          log_level="info", log_config=None,
                          timeout_graceful_shutdown=int(graceful_shutdown_s),
                          proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)


class Server(uvicorn.Server):
    """uvicorn, ending Gradio's heartbeat streams as its shutdown starts: every open browser tab
    holds one, and uvicorn waits for open streams (running answers too) for its whole grace
    period. Gradio ends them on its stop event, which only its own launch() sets."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for route in getattr(self.config.app, "routes", []):
            if isinstance(route, Mount) and isinstance(route.app, GradioApp):
                route.app.stop_event.set()
        await super().shutdown(sockets)


def main() -> None:
    # Conversations, logs, keys and exports are for this user's eyes only (files 0600, folders 0700).
    os.umask(0o077)
    settings = Settings()
    configure_logging(settings.log_file, settings.log_max_bytes, settings.log_backups)
    Server(server_config(create_app(settings), settings)).run()


if __name__ == "__main__":
    main()
