"""The chat settings' presets and default system prompt: wiring to the preset service."""

from __future__ import annotations

from typing import Any

import gradio as gr

from chat.presets import PresetService
from chat.turn import ChatOptions
from chat.validation import validate_options
from errors import InvalidInput
from services import Services
from ui.base import Handlers, ui_errors
from ui.errors import Refusal
from ui.i18n import request_language, text


class PresetHandlers(Handlers):
    @property
    def presets(self) -> PresetService:
        return self.services.presets

    @ui_errors
    async def load(self, request: gr.Request) -> tuple[Any, str]:
        """The presets menu and the user's default system prompt."""
        user = await self.user(request)
        rows = await self.presets.list(user)
        default = await self.presets.default_prompt(user) or ""
        return gr.Dropdown(choices=[(r["name"], r["id"]) for r in rows], value=None), default

    @ui_errors
    async def apply(self, preset_id: int | None, request: gr.Request) -> tuple[Any, Any, Any]:
        if preset_id is None:
            return gr.skip(), gr.skip(), gr.skip()
        rows = await self.presets.list(await self.user(request))
        preset = next((r for r in rows if r["id"] == preset_id), None)
        if preset is None:
            raise Refusal("preset_gone")
        return (preset["system_prompt"] or "",
                preset["temperature"] if preset["temperature"] is not None else gr.skip(),
                preset["max_tokens"] if preset["max_tokens"] is not None else gr.skip())

    @ui_errors
    async def save(self, name: str, system_prompt: str, temperature: float, max_tokens: float,
                   request: gr.Request) -> tuple[Any, str]:
        user = await self.user(request)
        saved = await self.presets.save(user, name, system_prompt, temperature, int(max_tokens))
        rows = await self.presets.list(user)
        gr.Info(text("preset_saved", request_language(request), name=saved["name"]))
        return gr.Dropdown(choices=[(r["name"], r["id"]) for r in rows], value=saved["id"]), ""

    @ui_errors
    async def delete_preset(self, preset_id: int | None, request: gr.Request) -> Any:
        """Delete the chosen preset: the menu loses it (the settings on screen stay)."""
        if preset_id is None:
            raise Refusal("choose_preset")
        user = await self.user(request)
        await self.presets.delete(user, int(preset_id))
        rows = await self.presets.list(user)
        gr.Info(text("preset_deleted", request_language(request)))
        return gr.Dropdown(choices=[(r["name"], r["id"]) for r in rows], value=None)

    @ui_errors
    async def make_default(self, system_prompt: str, request: gr.Request) -> None:
        await self.presets.set_default_prompt(await self.user(request), system_prompt)
        gr.Info(text("default_saved", request_language(request)))

    @ui_errors
    async def fresh_settings(self, request: gr.Request) -> tuple[str, float, int, Any]:
        """A new chat's settings: the user's default prompt, the model's own sampling
        defaults, no preset picked."""
        prompt = await self.presets.default_prompt(await self.user(request)) or ""
        temperature, max_tokens = starting_sampling(self.services)
        return prompt, temperature, max_tokens, gr.Dropdown(value=None)


def page_sampling(services: Services, saved: Any) -> tuple[str, float, int]:
    """The model, temperature and max tokens a page starts from: what this browser's last page
    showed (`saved`, kept across reloads), each where the chat would accept it (a model still
    served, values in range), else the active profile's. `saved` comes from the browser."""
    profile = services.engine.profile
    kept = saved if isinstance(saved, dict) else {}

    def accepted(**asked: Any) -> bool:
        try:
            validate_options(ChatOptions(**asked), profile.model_names, profile.sampling,
                             services.settings.max_tokens_limit)
        except (InvalidInput, TypeError):  # out of range, or not even a number
            return False
        return True

    model, temperature, max_tokens = (kept.get(k) for k in ("model", "temperature", "max_tokens"))
    default_temperature, default_max_tokens = starting_sampling(services)
    if model is None or not accepted(model=model):
        model = profile.model_names[0]
    if temperature is None or not accepted(temperature=temperature):
        temperature = default_temperature
    if max_tokens is None or not accepted(max_tokens=max_tokens):
        max_tokens = default_max_tokens
    return str(model), float(temperature), int(max_tokens)


def starting_sampling(services: Services) -> tuple[float, int]:
    """The temperature and max tokens a page and a new chat start from: the active profile's,
    within the app's max tokens limit."""
    sampling = services.engine.profile.sampling
    return sampling.temperature, min(sampling.max_tokens, services.settings.max_tokens_limit)
