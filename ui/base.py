"""What every UI handler needs: the services, and who is calling."""

from __future__ import annotations

import gradio as gr

from errors import AppError, PermissionDenied
from services import Services, ServicesHolder
from storage.users import User
from ui.errors import as_gradio_error


class Handlers:
    def __init__(self, holder: ServicesHolder) -> None:
        self._holder = holder

    @property
    def services(self) -> Services:
        return self._holder.get()

    async def user(self, request: gr.Request) -> User:
        """The signed-in caller, looked up on the server for every event."""
        try:
            return await self.services.auth.user_by_name(request.username)
        except AppError as exc:
            raise as_gradio_error(exc, request) from exc

    async def admin(self, request: gr.Request) -> User:
        """The caller, who must be an admin: hiding a tab is not the protection."""
        user = await self.user(request)
        if not user.is_admin:
            raise as_gradio_error(
                PermissionDenied("This needs an admin account", code="admin_only"), request)
        return user
