"""FastAPI dependencies: the services a route uses, and the calling user.

Routes take the one service they use (AuthDep, ChatDep, ...) rather than the whole Services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, Request

from auth import ops_token
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

T = TypeVar("T")


def serve_services(app: FastAPI, holder: ServicesHolder) -> None:
    """REST routes reach the services through the same holder as the Gradio UI: one way in."""
    app.state.services_holder = holder


def get_services(request: Request) -> Services:
    holder: ServicesHolder = request.app.state.services_holder
    return holder.get()


ServicesDep = Annotated[Services, Depends(get_services)]


def _one(pick: Callable[[Services], T]) -> Callable[[Request], T]:
    """A dependency that hands a route one of the services."""
    def dependency(request: Request) -> T:
        return pick(get_services(request))
    return dependency


AuthDep = Annotated[AuthService, Depends(_one(lambda s: s.auth))]
AccountsDep = Annotated[AccountService, Depends(_one(lambda s: s.accounts))]
ChatDep = Annotated[ChatService, Depends(_one(lambda s: s.chat))]
ConversationsDep = Annotated[ConversationService, Depends(_one(lambda s: s.conversations))]
EngineDep = Annotated[EngineManager, Depends(_one(lambda s: s.engine))]
PresetsDep = Annotated[PresetService, Depends(_one(lambda s: s.presets))]
SettingsDep = Annotated[Settings, Depends(_one(lambda s: s.settings))]
MetricsDep = Annotated[AppMetrics, Depends(_one(lambda s: s.metrics))]
DatabaseDep = Annotated[Database, Depends(_one(lambda s: s.db))]
UsageDep = Annotated[UsageService, Depends(_one(lambda s: s.usage))]
SnapshotsDep = Annotated[SnapshotWriter, Depends(_one(lambda s: s.snapshots))]


async def current_user(request: Request, auth: AuthDep) -> User:
    user, _ = await auth.user_for_token(token_from(request))
    return user


UserDep = Annotated[User, Depends(current_user)]


async def admin_user(user: UserDep) -> User:
    if not user.is_admin:
        raise PermissionDenied("This needs an admin account", code="admin_only")
    return user


AdminDep = Annotated[User, Depends(admin_user)]


async def operator(request: Request, settings: SettingsDep, auth: AuthDep) -> None:
    """The server's own scripts (the operator token only the app's OS user can read), or an
    admin."""
    if not ops_token.matches(settings.data_dir, token_from(request)):
        await admin_user(await current_user(request, auth))


OperatorDep = Depends(operator)
