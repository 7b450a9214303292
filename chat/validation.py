"""Checking what a caller asked for, before anything is stored or sent to the engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chat.messages import flatten_content
from chat.turn import ChatOptions
from engine.profiles import SamplingDefaults
from errors import InvalidInput

ROLES = ("system", "user", "assistant")


def validate_messages(messages: Sequence[Mapping[str, Any]], max_chars: int) -> None:
    if not messages or messages[-1].get("role") != "user":
        raise InvalidInput("The last message must come from the user", code="no_user_message")
    for message in messages:
        if message.get("role") not in ROLES:
            raise InvalidInput("A message's role must be system, user or assistant",
                               code="invalid_role")
        if len(flatten_content(message.get("content"))) > max_chars:
            raise InvalidInput(f"A message may have at most {max_chars} characters",
                               code="message_too_long")
    if not flatten_content(messages[-1].get("content")).strip():
        raise InvalidInput("The message is empty", code="empty_message")


def validate_options(options: ChatOptions, model_ids: list[str], sampling: SamplingDefaults,
                     max_tokens_limit: int) -> tuple[float, int]:
    """The temperature and max_tokens to use: the caller's, else the profile's defaults."""
    if options.model is not None and options.model not in model_ids:
        raise InvalidInput(
            f"Unknown model {options.model!r}; available: {', '.join(model_ids)}",
            code="model_not_found",
        )
    temperature = sampling.temperature if options.temperature is None else options.temperature
    if not 0.0 <= temperature <= 2.0:
        raise InvalidInput("temperature must be between 0 and 2", code="invalid_temperature")
    max_tokens = min(sampling.max_tokens, max_tokens_limit)
    if options.max_tokens is not None:
        max_tokens = options.max_tokens
    if not 1 <= max_tokens <= max_tokens_limit:
        raise InvalidInput(f"max_tokens must be between 1 and {max_tokens_limit}",
                           code="invalid_max_tokens")
    return temperature, max_tokens
