"""Checking what a caller asked for, before anything is stored or sent to the engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from chat.messages import flatten_content
from chat.turn import ChatOptions
from engine.profiles import SamplingDefaults
from errors import InvalidInput

ROLES = ("system", "user", "assistant")
MAX_TEMPERATURE = 2.0


class Params(NamedTuple):
    """What the engine is asked with. `sampling` is sent as it is: top_p always (the
    profile's unless asked), and the stop, seed and penalties a caller asked for."""

    temperature: float
    max_tokens: int
    sampling: dict[str, Any]


def validate_params(options: ChatOptions, model_ids: list[str], defaults: SamplingDefaults,
                    max_tokens_limit: int) -> Params:
    temperature, max_tokens = validate_options(options, model_ids, defaults, max_tokens_limit)
    return Params(temperature, max_tokens, validate_sampling(options, defaults))


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
    if not 0.0 <= temperature <= MAX_TEMPERATURE:
        raise InvalidInput(f"temperature must be between 0 and {MAX_TEMPERATURE:g}",
                           code="invalid_temperature")
    max_tokens = min(sampling.max_tokens, max_tokens_limit)
    if options.max_tokens is not None:
        max_tokens = options.max_tokens
    if not 1 <= max_tokens <= max_tokens_limit:
        raise InvalidInput(f"max_tokens must be between 1 and {max_tokens_limit}",
                           code="invalid_max_tokens")
    return temperature, max_tokens


MAX_STOPS, MAX_STOP_CHARS = 4, 100
SEED_RANGE = (-(2**63), 2**63 - 1)  # OpenAI's: a 64-bit signed integer


def validate_sampling(options: ChatOptions, sampling: SamplingDefaults) -> dict[str, Any]:
    """The further sampling parameters for the engine: top_p always (the profile's unless the
    caller gave one), the others only when asked for. Bounds written so that NaN fails them."""
    top_p = sampling.top_p if options.top_p is None else options.top_p
    if not 0.0 < top_p <= 1.0:
        raise InvalidInput("top_p must be above 0 and at most 1", code="invalid_top_p")
    chosen: dict[str, Any] = {"top_p": top_p}
    if (stop := _stops(options.stop)) is not None:
        chosen["stop"] = stop
    if options.seed is not None:
        if not SEED_RANGE[0] <= options.seed <= SEED_RANGE[1]:
            raise InvalidInput("seed must be a 64-bit signed integer", code="invalid_seed")
        chosen["seed"] = options.seed
    for name in ("presence_penalty", "frequency_penalty"):
        value = getattr(options, name)
        if value is None:
            continue
        if not -2.0 <= value <= 2.0:
            raise InvalidInput(f"{name} must be between -2 and 2", code=f"invalid_{name}")
        chosen[name] = value
    return chosen


def _stops(stop: str | list[str] | None) -> list[str] | None:
    stops = [stop] if isinstance(stop, str) else stop
    if not stops:
        return None
    if len(stops) > MAX_STOPS or not all(0 < len(s) <= MAX_STOP_CHARS for s in stops):
        raise InvalidInput(f"stop takes up to {MAX_STOPS} strings of 1 to {MAX_STOP_CHARS}"
                           " characters", code="invalid_stop")
    return list(stops)
