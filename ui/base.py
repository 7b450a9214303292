"""What every UI handler needs: the services, who is calling, and one way to refuse."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from contextvars import ContextVar
from typing import Any, TypeVar, cast

import gradio as gr

from auth.service import AuthService
from errors import AppError, PermissionDenied
from services import Services, ServicesHolder
from storage.users import User
from ui.errors import as_gradio_error, show_refusal

H = TypeVar("H", bound=Callable[..., Any])
# Set while a decorated coroutine handler runs (one event's task): a decorated handler it
# calls, such as a table refreshed after a change, lets the refusal rise to the event's own
# handler. Streaming handlers call only undecorated helpers: Gradio may step them in copies
# of the context, where a value set here would not be seen.
_in_handler: ContextVar[bool] = ContextVar("in_ui_handler", default=False)


def _request_in(args: tuple[Any, ...], kwargs: dict[str, Any]) -> gr.Request | None:
    """The caller's request, wherever Gradio put it among the handler's arguments."""
    return next((a for a in (*args, *kwargs.values()) if isinstance(a, gr.Request)), None)


def _refusals(show: Callable[[AppError, gr.Request | None], Any]) -> Callable[[Any], Any]:
    """A decorator for handlers (plain or streaming) that hands a domain refusal to `show`
    with the caller's request: what `show` returns replaces the handler's result.

    functools.wraps keeps the signature and annotations visible (through __wrapped__): Gradio
    reads them to inject the gr.Request, and to tell a stream from a single answer."""
    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isasyncgenfunction(handler):
            @functools.wraps(handler)
            async def stream(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                try:
                    # aclosing: a page that goes away closes the handler's stream at once.
                    async with aclosing(handler(*args, **kwargs)) as updates:
                        async for update in updates:
                            yield update
                except AppError as exc:
                    yield show(exc, _request_in(args, kwargs))
            return stream

        @functools.wraps(handler)
        async def call(*args: Any, **kwargs: Any) -> Any:
            if _in_handler.get():  # called by another handler, which shows the refusal
                return await handler(*args, **kwargs)
            token = _in_handler.set(True)
            try:
                return await handler(*args, **kwargs)
            except AppError as exc:
                return show(exc, _request_in(args, kwargs))
            finally:
                _in_handler.reset(token)
        return call
    return decorate


def _toast(exc: AppError, request: gr.Request | None) -> Any:
    show_refusal(exc, request)
    return gr.skip()  # every output keeps what it shows


def _raise(exc: AppError, request: gr.Request | None) -> Any:
    raise as_gradio_error(exc, request) from exc


_toasting = _refusals(_toast)
_raising = _refusals(_raise)


def ui_errors(handler: H) -> H:
    """For a page's events: a domain refusal becomes a toast in the caller's language, and the
    outputs keep what they showed."""
    return cast(H, _toasting(handler))


def api_errors(handler: H) -> H:
    """For Gradio API endpoints: a domain refusal becomes the event's error (gradio_client
    raises it), in the caller's language."""
    return cast(H, _raising(handler))


def returns(*types: Any) -> Callable[[H], H]:
    """Gradio takes an endpoint's outputs from its return annotation, unevaluated (this code's
    annotations are strings), and a stream's `AsyncIterator[...]` as one output: this gives it
    the types themselves, one per output (a client gets a tuple for several)."""
    def mark(handler: H) -> H:
        annotation = types[0] if len(types) == 1 else tuple.__class_getitem__(types)
        signature = inspect.signature(handler).replace(return_annotation=annotation)
        setattr(handler, "__signature__", signature)  # noqa: B010 (read by inspect)
        return handler
    return mark


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

    async def user(self, request: gr.Request) -> User:
        """The signed-in caller, looked up on the server for every event. Helpers like this
        one raise; the event's handler (decorated) decides how a refusal is shown."""
        return await self.auth.user_by_name(request.username)

    async def admin(self, request: gr.Request) -> User:
        """The caller, who must be an admin: hiding a tab is not the protection."""
        user = await self.user(request)
        if not user.is_admin:
            raise PermissionDenied("This needs an admin account", code="admin_only")
        return user
