"""The Gradio API: the named endpoints a developer calls with gradio_client, and nothing else.

Each endpoint looks up its caller on the server (Bearer header or cookie) and calls the same
service as the page and REST do; each returns plain data (strings, numbers, lists, dicts). A
handler's docstring is its entry on the page's "Use via API": the text before Args is the
description, and `documented` puts its Args and Returns lines under each argument and result.
The page's own events are private.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import gradio as gr
from gradio.components.api_component import Api
from gradio.events import Dependency
from gradio.utils import get_function_description

from engine.catalog import engine_status, model_catalog
from engine.manager import EngineManager, EngineState
from engine.progress import Progress, follow, timeline
from errors import InvalidInput
from services import ServicesHolder
from settings import Settings
from ui.base import Handlers, api_errors, returns
from ui.chat_handlers import ChatHandlers
from ui.usage import UsageHandlers


class ApiHandlers(Handlers):
    poll_interval_s = 0.5  # how often a switch's progress is looked at

    @property
    def engine(self) -> EngineManager:
        return self.services.engine

    @returns(list)
    @api_errors
    async def conversations(self, search: str | None = None, limit: int = 50,
                            request: gr.Request | None = None) -> list[dict[str, Any]]:
        """Your conversations, newest first, or those whose title or messages contain a search
        text. Open one with /conversation, continue it with /chat.

        Args:
            search: The text to look for in titles and messages; empty: every conversation.
            limit: How many, 1 to 500 (default 50).

        Returns:
            conversations: [{id, title, model, created_at, updated_at (ISO 8601, UTC), message_count,
            running}]; running: an answer is being written.
        """
        assert request is not None
        user = await self.user(request)
        return await self.services.conversations.listing(user, search, whole(limit, "limit"))

    @returns(dict)
    @api_errors
    async def conversation(self, conversation_id: int,
                           request: gr.Request | None = None) -> dict[str, Any]:
        """One of your conversations with all its messages. Continue it with /chat and its id.

        Args:
            conversation_id: The conversation's id (from /chat or /conversations).

        Returns:
            conversation: {id, title, system_prompt, model, created_at, updated_at, messages: [{id, role,
            content, reasoning, status, note, token_in, token_out, finish_reason, created_at}]}
        """
        assert request is not None
        user = await self.user(request)
        conv_id = whole(conversation_id, "conversation_id")
        return await self.services.conversations.transcript(user, conv_id)

    @returns(dict)
    @api_errors
    async def models(self, request: gr.Request | None = None) -> dict[str, Any]:
        """Every profile's model, the active one first, as GET /api/models. Only the active one
        answers now; an admin can switch to an available one (/switch_profile).

        Returns:
            models: {"models": [{id, name, profile, aliases, state: active | available | does_not_fit
            (with reason), engine, max_model_len}]}
        """
        assert request is not None
        await self.user(request)
        return {"models": model_catalog(self.engine)}

    @returns(dict)
    @api_errors
    async def engine_status(self, request: gr.Request | None = None) -> dict[str, Any]:
        """What the engine is doing now: its state, the active profile and model, whether that
        fits this machine, and the recent events of switches and restarts.

        Returns:
            status: {state: starting | waiting | ready | draining | switching | failed | stopped,
            profile, model, engine, fits, fit, events: [{at, message}]}; admins also get
            last_error, restarts, in_flight, replicas.
        """
        assert request is not None
        user = await self.user(request)
        return engine_status(self.engine, user.is_admin)

    @returns(dict)
    @api_errors
    async def switch_profile(self, profile: str, override_fit: bool = False,
                             request: gr.Request | None = None) -> AsyncIterator[dict[str, Any]]:
        """Admins only: switch the engine to another profile, streaming the progress until the
        new profile is ready or the old one is back. Answers in flight get DRAIN_GRACE_S to
        finish. Cancelling the job stops following the switch, not the switch.

        Args:
            profile: The profile's id (the profile field of /models).
            override_fit: Try a profile estimated not to fit these GPUs (GPU machines only).

        Returns:
            progress: {profile, active_profile, state, events: [{at, message}], done, outcome, error};
            the last update has done true and outcome switched, rolled_back or failed.
        """
        assert request is not None
        await self.admin(request)
        engine = self.engine
        task = engine.begin_switch(profile, override_fit=override_fit)
        async for progress in follow(engine, task, self.poll_interval_s):
            yield switch_update(engine, profile, progress)


def whole(value: object, name: str) -> int:
    """An integer argument as JSON gave it (Gradio does not check an endpoint's types)."""
    try:
        number = math.nan if isinstance(value, bool) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not number.is_integer():  # NaN and infinities are not
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
        "events": timeline(progress.events),
        "done": progress.done,
        "outcome": outcome,
        "error": None if progress.error is None else str(progress.error),
    }


def register_api(demo: gr.Blocks, holder: ServicesHolder, settings: Settings,
                 chat: ChatHandlers) -> None:
    """The named endpoints, inside the Blocks being built."""
    handlers, usage = ApiHandlers(holder), UsageHandlers(holder)

    def endpoint(handler: Callable[..., Any], name: str, **options: Any) -> None:
        documented(demo, handler, gr.api(handler, api_name=name, **options))

    endpoint(chat.chat_api, "chat", concurrency_limit=settings.chat_concurrency,
             concurrency_id="chat")
    reads: dict[str, Any] = {"concurrency_limit": 8, "concurrency_id": "api_reads"}
    endpoint(handlers.conversations, "conversations", **reads)
    endpoint(handlers.conversation, "conversation", **reads)
    endpoint(handlers.models, "models", **reads)
    endpoint(usage.summary_api, "usage_summary", concurrency_limit=2, concurrency_id="usage")
    endpoint(handlers.engine_status, "engine_status", **reads)
    endpoint(handlers.switch_profile, "switch_profile", concurrency_limit=1,
             concurrency_id="switch")


def documented(demo: gr.Blocks, handler: Callable[..., Any], dependency: Dependency) -> None:
    """The API page describes each argument from the handler's docstring (its Args lines;
    Gradio itself shows them only to MCP clients) and names each argument and result where it
    would say "the 1st Api component"; /gradio_api/info has the results' descriptions too."""
    _, arguments, results = get_function_description(handler)
    names = [name for name in arguments if name != "request"]
    for name, component_id in zip(names, dependency["inputs"], strict=True):
        component = demo.blocks[component_id]
        assert isinstance(component, Api)
        component.label = name
        component.api_info()["additional_description"] = arguments[name]
    outputs = [demo.blocks[component_id] for component_id in dependency["outputs"]]
    assert all(isinstance(component, Api) for component in outputs)
    # One "name: text" line per result; one result's text may go on over several lines.
    described = results if len(outputs) > 1 else [" ".join(results)]
    for component, line in zip(cast(list[Api], outputs), described, strict=True):
        component.label, _, text = line.partition(": ")
        component.api_info()["description"] = text
