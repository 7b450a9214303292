"""What every UI handler needs: the services, and who is calling."""

from __future__ import annotations

import gradio as gr

from errors import AppError
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
