"""FastAPI dependencies: the services a route uses, and the calling user.

Routes take the one service they use (AuthDep, ChatDep, ...) rather than the whole Services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from auth.accounts import AccountService
from auth.service import AuthService
from auth.web import token_from
from chat.conversations import ConversationService
from chat.presets import PresetService
from chat.service import ChatService
from engine.manager import EngineManager
from errors import PermissionDenied
from observability.metrics import AppMetrics
from services import Services, ServicesHolder
from settings import Settings
from storage.db import Database
from storage.exports import SnapshotWriter
from storage.users import User
from usage import UsageService


def serve_services(app: FastAPI, holder: ServicesHolder) -> None:
    """REST routes reach the services through the same holder as the Gradio UI: one way in."""
    app.state.services_holder = holder


def get_services(request: Request) -> Services:
    holder: ServicesHolder = request.app.state.services_holder
    return holder.get()


ServicesDep = Annotated[Services, Depends(get_services)]


def _auth(services: ServicesDep) -> AuthService:
    return services.auth


def _accounts(services: ServicesDep) -> AccountService:
    return services.accounts


def _chat(services: ServicesDep) -> ChatService:
    return services.chat


def _conversations(services: ServicesDep) -> ConversationService:
    return services.conversations


def _engine(services: ServicesDep) -> EngineManager:
    return services.engine


def _presets(services: ServicesDep) -> PresetService:
    return services.presets


def _settings(services: ServicesDep) -> Settings:
    return services.settings


def _metrics(services: ServicesDep) -> AppMetrics:
    return services.metrics


def _database(services: ServicesDep) -> Database:
    return services.db


def _usage(services: ServicesDep) -> UsageService:
    return services.usage


def _snapshots(services: ServicesDep) -> SnapshotWriter:
    return services.snapshots


AuthDep = Annotated[AuthService, Depends(_auth)]
AccountsDep = Annotated[AccountService, Depends(_accounts)]
ChatDep = Annotated[ChatService, Depends(_chat)]
ConversationsDep = Annotated[ConversationService, Depends(_conversations)]
EngineDep = Annotated[EngineManager, Depends(_engine)]
PresetsDep = Annotated[PresetService, Depends(_presets)]
SettingsDep = Annotated[Settings, Depends(_settings)]
MetricsDep = Annotated[AppMetrics, Depends(_metrics)]
DatabaseDep = Annotated[Database, Depends(_database)]
UsageDep = Annotated[UsageService, Depends(_usage)]
SnapshotsDep = Annotated[SnapshotWriter, Depends(_snapshots)]


async def current_user(request: Request, auth: AuthDep) -> User:
    user, _ = await auth.user_for_token(token_from(request))
    return user


UserDep = Annotated[User, Depends(current_user)]


async def admin_user(user: UserDep) -> User:
    if not user.is_admin:
        raise PermissionDenied("This needs an admin account", code="admin_only")
    return user


AdminDep = Annotated[User, Depends(admin_user)]
