"""The app's resources, built once in the lifespan and handed to REST routes and the UI."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from auth.passwords import PasswordHasher
from auth.service import AuthService
from auth.tokens import TokenService
from chat.service import ChatService
from engine.client import EngineClient
from engine.manager import EngineManager
from engine.profiles import ProfileError, load_profiles
from settings import Settings
from storage.db import Database

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """A configuration that must not run; the message says what to change."""


@dataclass
class Services:
    settings: Settings
    db: Database
    auth: AuthService
    engine: EngineManager
    engine_client: EngineClient
    chat: ChatService

    @classmethod
    def build(cls, settings: Settings) -> Services:
        check_exposure(settings)
        profiles = load_profiles(settings.profiles_dir)
        if settings.active_profile not in profiles:
            raise ProfileError(
                f"ACTIVE_PROFILE {settings.active_profile!r} is not in {settings.profiles_dir}"
                f" (found: {', '.join(profiles) or 'none'})"
            )
        db = Database(settings.db_path)
        auth = AuthService(
            db,
            PasswordHasher(settings.bcrypt_rounds),
            TokenService(settings.resolve_jwt_secret(), settings.jwt_expire_minutes),
            settings,
        )
        auth.seed_accounts()
        if not settings.bound_to_loopback and (demo := auth.demo_passwords_in_use()):
            db.close()
            raise StartupError(
                f"Demo accounts {demo} still have their published passwords and the service is"
                f" bound to {settings.host}. Change or remove them, or bind to 127.0.0.1."
            )
        engine = EngineManager(
            profiles[settings.active_profile],
            port=settings.vllm_port,
            model_dir=settings.resolved_model_dir,
            log_path=settings.log_dir / "engine.log",
            start_timeout_s=settings.engine_start_timeout_s,
            external_base_url=settings.engine_base_url,
        )
        client = EngineClient(
            engine.base_url, settings.engine_api_key, settings.engine_request_timeout_s
        )
        chat = ChatService(settings, db, engine, client)
        return cls(settings, db, auth, engine, client, chat)

    async def start(self) -> None:
        try:
            await self.engine.start()
        except Exception:
            # The app still serves logins, history and /health (degraded) without an engine.
            log.exception("engine did not start")

    async def stop(self) -> None:
        await self.chat.drain()
        await self.engine.stop()
        await self.engine_client.close()
        self.db.close()


def check_exposure(settings: Settings) -> None:
    """Nothing insecure by default may be reachable from another machine."""
    if settings.bound_to_loopback:
        return
    if settings.development_mode:
        raise StartupError("DEVELOPMENT_MODE bypasses login; it only runs bound to 127.0.0.1")
    if not settings.jwt_secret:
        raise StartupError(f"Set JWT_SECRET before binding to {settings.host}")


class ServicesHolder:
    """Lets the Gradio Blocks, built before the lifespan runs, reach the services later."""

    def __init__(self) -> None:
        self._services: Services | None = None

    def set(self, services: Services | None) -> None:
        self._services = services

    def get(self) -> Services:
        if self._services is None:
            raise RuntimeError("services are not started")
        return self._services
