"""The chat settings' presets and default system prompt: wiring to the preset service."""

from __future__ import annotations

from typing import Any

import gradio as gr

from errors import AppError
from ui.base import Handlers
from ui.errors import as_gradio_error


class PresetHandlers(Handlers):
    async def load(self, request: gr.Request) -> tuple[Any, str]:
        """The presets menu and the user's default system prompt."""
        user = await self.user(request)
        rows = await self.services.presets.list(user)
        default = await self.services.presets.default_prompt(user) or ""
        return gr.Dropdown(choices=[(r["name"], r["id"]) for r in rows], value=None), default

    async def apply(self, preset_id: int | None, request: gr.Request) -> tuple[Any, Any, Any]:
        if preset_id is None:
            return gr.skip(), gr.skip(), gr.skip()
        rows = await self.services.presets.list(await self.user(request))
        preset = next((r for r in rows if r["id"] == preset_id), None)
        if preset is None:
            raise gr.Error("That preset no longer exists.")
        return (preset["system_prompt"] or "",
                preset["temperature"] if preset["temperature"] is not None else gr.skip(),
                preset["max_tokens"] if preset["max_tokens"] is not None else gr.skip())

    async def save(self, name: str, system_prompt: str, temperature: float, max_tokens: float,
                   request: gr.Request) -> tuple[Any, str]:
        user = await self.user(request)
        try:
            saved = await self.services.presets.save(user, name, system_prompt, temperature,
                                                     int(max_tokens))
        except AppError as exc:
            raise as_gradio_error(exc, request) from exc
        rows = await self.services.presets.list(user)
        gr.Info(f"Saved preset “{saved['name']}”.")
        return gr.Dropdown(choices=[(r["name"], r["id"]) for r in rows], value=saved["id"]), ""

    async def make_default(self, system_prompt: str, request: gr.Request) -> None:
        try:
            await self.services.presets.set_default_prompt(await self.user(request), system_prompt)
        except AppError as exc:
            raise as_gradio_error(exc, request) from exc
        gr.Info("This system prompt now starts every new chat.")

    async def default_prompt(self, request: gr.Request) -> str:
        return await self.services.presets.default_prompt(await self.user(request)) or ""
