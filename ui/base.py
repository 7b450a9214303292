"""What every UI handler needs: the services, who is calling, and one way to refuse."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import aclosing
from typing import Any, ParamSpec, TypeVar, overload

import gradio as gr

from auth.service import AuthService
from errors import AppError, PermissionDenied
from services import Services, ServicesHolder
from storage.users import User
from ui.errors import as_gradio_error

P = ParamSpec("P")
T = TypeVar("T")


def _request_in(args: tuple[Any, ...], kwargs: dict[str, Any]) -> gr.Request | None:
    """The caller's request, wherever Gradio put it among the handler's arguments."""
    return next((a for a in (*args, *kwargs.values()) if isinstance(a, gr.Request)), None)


@overload
def ui_errors(handler: Callable[P, AsyncIterator[T]]) -> Callable[P, AsyncIterator[T]]: ...


@overload
def ui_errors(
    handler: Callable[P, Coroutine[Any, Any, T]]
) -> Callable[P, Coroutine[Any, Any, T]]: ...


def ui_errors(handler: Callable[P, Any]) -> Callable[P, Any]:
    """Turn a domain refusal into a Gradio error in the caller's language.

    functools.wraps keeps the signature and annotations visible (through __wrapped__): Gradio
    reads them to inject the gr.Request, and to tell a stream from a single answer."""
    if inspect.isasyncgenfunction(handler):
        @functools.wraps(handler)
        async def stream(*args: P.args, **kwargs: P.kwargs) -> AsyncIterator[Any]:
            try:
                # aclosing: a page that goes away closes the handler's stream at once.
                async with aclosing(handler(*args, **kwargs)) as updates:
                    async for update in updates:
                        yield update
            except AppError as exc:
                raise as_gradio_error(exc, _request_in(args, kwargs)) from exc
        return stream

    @functools.wraps(handler)
    async def call(*args: P.args, **kwargs: P.kwargs) -> Any:
        try:
            return await handler(*args, **kwargs)
        except AppError as exc:
            raise as_gradio_error(exc, _request_in(args, kwargs)) from exc
    return call


class Handlers:
    def __init__(self, holder: ServicesHolder) -> None:
        self._holder = holder

    @property
    def services(self) -> Services:
        """Looked up at event time: the Blocks are built before the lifespan starts them."""
        return self._holder.get()

    @property
    def auth(self) -> AuthService:
        return self.services.auth

    @ui_errors
    async def user(self, request: gr.Request) -> User:
        """The signed-in caller, looked up on the server for every event."""
        return await self.auth.user_by_name(request.username)

    @ui_errors
    async def admin(self, request: gr.Request) -> User:
        """The caller, who must be an admin: hiding a tab is not the protection."""
        user = await self.user(request)
        if not user.is_admin:
            raise PermissionDenied("This needs an admin account", code="admin_only")
        return user
