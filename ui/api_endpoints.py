"""The Gradio API: the named endpoints a developer calls with gradio_client, and nothing else.

Each endpoint looks up its caller on the server (Bearer header or cookie) and calls the same
service as the page and REST do; each returns plain data (strings, numbers, lists, dicts). The
first paragraph of a handler's docstring is its description on the page's "Use via API" (Gradio
shows no more of it), so it says what the arguments mean. The page's own events are private.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import gradio as gr

from engine.catalog import engine_status, model_catalog
from engine.manager import EngineManager, EngineState
from engine.progress import Progress, follow
from errors import InvalidInput
from services import ServicesHolder
from settings import Settings
from ui.base import Handlers, api_errors, returns
from ui.chat_handlers import ChatHandlers
from ui.usage import UsageHandlers

# The endpoints, in the order the API page lists them.
ENDPOINTS = ("chat", "conversations", "conversation", "models", "usage_summary",
             "engine_status", "switch_profile")


class ApiHandlers(Handlers):
    poll_interval_s = 0.5  # how often a switch's progress is looked at

    @property
    def engine(self) -> EngineManager:
        return self.services.engine

    @returns(list)
    @api_errors
    async def conversations(self, search: str | None = None, limit: int = 50,
                            request: gr.Request | None = None) -> list[dict[str, Any]]:
        """Your conversations, newest first (`limit`, 1 to 500, default 50), or with `search`
        those whose title or messages contain it. Each: id, title, model, created_at,
        updated_at (ISO 8601, UTC), message_count, and running (an answer is being written)."""
        assert request is not None
        user = await self.user(request)
        return await self.services.conversations.listing(user, search, whole(limit, "limit"))

    @returns(dict)
    @api_errors
    async def conversation(self, conversation_id: int,
                           request: gr.Request | None = None) -> dict[str, Any]:
        """One of your conversations with its messages: id, title, system_prompt, model and
        messages [{id, role, content, reasoning, status, note, token_in, token_out,
        finish_reason, created_at}]. Continue it with /chat and its id."""
        assert request is not None
        user = await self.user(request)
        conv_id = whole(conversation_id, "conversation_id")
        return await self.services.conversations.transcript(user, conv_id)

    @returns(dict)
    @api_errors
    async def models(self, request: gr.Request | None = None) -> dict[str, Any]:
        """Every profile's model, the active one first, as GET /api/models: {"models": [{id,
        name, profile, aliases, state (active, available, does_not_fit with reason), engine,
        max_model_len}]}. Chat with a model only while its state is active (an admin switches)."""
        assert request is not None
        await self.user(request)
        return {"models": model_catalog(self.engine)}

    @returns(dict)
    @api_errors
    async def engine_status(self, request: gr.Request | None = None) -> dict[str, Any]:
        """The engine now: state (starting, ready, draining, switching, failed...), the active
        profile and model, whether it fits this machine (fit), and the recent events of
        switches and restarts ({at: ISO 8601, message}). Admins also get last_error, restarts,
        in_flight and replicas."""
        assert request is not None
        user = await self.user(request)
        return engine_status(self.engine, user.is_admin)

    @returns(dict)
    @api_errors
    async def switch_profile(self, profile: str, override_fit: bool = False,
                             request: gr.Request | None = None) -> AsyncIterator[dict[str, Any]]:
        """Admins only: switch the engine to `profile` (an id from /models), streaming its
        progress until the new profile is ready or the old one is back. Answers in flight get
        DRAIN_GRACE_S to finish. `override_fit` tries a profile that is estimated not to fit
        (GPU machines only). The last update has done true and outcome switched, rolled_back
        or failed. Cancelling the job stops following, not the switch."""
        assert request is not None
        await self.admin(request)
        engine = self.engine
        task = engine.begin_switch(profile, override_fit=override_fit)
        async for progress in follow(engine, task, self.poll_interval_s):
            yield switch_update(engine, profile, progress)


def whole(value: object, name: str) -> int:
    """An integer argument as JSON gave it (Gradio does not check an endpoint's types)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(f"{name} must be a whole number", code="invalid_number")
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number", code="invalid_number") from None
    if not number.is_integer():
        raise InvalidInput(f"{name} must be a whole number", code="invalid_number")
    return int(number)


def switch_update(engine: EngineManager, target: str, progress: Progress) -> dict[str, Any]:
    """One update of /switch_profile's stream."""
    outcome = None
    if progress.done:
        outcome = ("switched" if progress.error is None
                   else "rolled_back" if engine.state is EngineState.READY else "failed")
    return {
        "profile": target,
        "active_profile": engine.profile.id,
        "state": engine.state.value,
        "events": [{"at": datetime.fromtimestamp(at, UTC).isoformat(), "message": message}
                   for at, message in progress.events],
        "done": progress.done,
        "outcome": outcome,
        "error": None if progress.error is None else str(progress.error),
    }


def register_api(holder: ServicesHolder, settings: Settings, chat: ChatHandlers) -> None:
    """The named endpoints, inside the Blocks being built."""
    handlers, usage = ApiHandlers(holder), UsageHandlers(holder)
    gr.api(chat.chat_api, api_name="chat", concurrency_limit=settings.chat_concurrency,
           concurrency_id="chat")
    reads: dict[str, Any] = {"concurrency_limit": 8, "concurrency_id": "api_reads"}
    gr.api(handlers.conversations, api_name="conversations", **reads)
    gr.api(handlers.conversation, api_name="conversation", **reads)
    gr.api(handlers.models, api_name="models", **reads)
    gr.api(usage.summary_api, api_name="usage_summary", concurrency_limit=2,
           concurrency_id="usage")
    gr.api(handlers.engine_status, api_name="engine_status", **reads)
    gr.api(handlers.switch_profile, api_name="switch_profile", concurrency_limit=1,
           concurrency_id="switch")
