"""One chat turn: what a caller asked for, and what came back."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from chat.limits import Slot
from engine.client import EngineClient
from storage.conversations import MessageStatus
from storage.users import User

STATUS_CODES: dict[MessageStatus, int] = {"completed": 200, "cancelled": 499, "failed": 502}


@dataclass
class ChatOptions:
    """What a caller may set for one turn; None means the profile's default."""

    model: str | None = None
    system_prompt: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None


@dataclass
class Delta:
    content: str = ""
    reasoning: str = ""


@dataclass
class ChatTurn:
    """A prepared request: validated, its conversation and user message already stored."""

    request_id: str
    user: User
    conversation_id: int
    user_message_id: int
    model: str
    temperature: float
    max_tokens: int
    messages: list[dict[str, str]]
    # Sent to the engine as they are: top_p always (the profile's unless asked), and the
    # stop, seed and penalties a caller asked for.
    sampling: dict[str, Any] = field(default_factory=dict)
    # Held while the answer streams; released when it ends, however it ends.
    slot: Slot | None = None
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    first_turn: bool = False
    source: str | None = "chat"  # "api" (/v1): such conversations are not listed, so no title
    trimmed: int = 0  # earlier messages left out to fit the context window
    prompt_tokens: int | None = None
    status: MessageStatus = "completed"
    error: str | None = None
    finish_reason: str | None = None
    usage: dict[str, int] | None = None  # as the engine reported it, if it did
    # Counted once the turn is stored (the engine's usage, else its tokenizer).
    input_tokens: int | None = None
    output_tokens: int | None = None
    started: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    client: EngineClient | None = None
    # The last save of the answer so far (storage/drafts.py).
    checkpointed_at: float = field(default_factory=time.monotonic)
    checkpoint: asyncio.Task[None] | None = None

    @property
    def answer(self) -> str:
        return "".join(self.content)

    @property
    def thinking(self) -> str:
        return "".join(self.reasoning)

    @property
    def token_usage(self) -> dict[str, int]:
        """The OpenAI `usage` object, once the turn has been stored."""
        prompt, completion = self.input_tokens or 0, self.output_tokens or 0
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion}

    @property
    def ttft_ms(self) -> int | None:
        if self.first_token_at is None:
            return None
        return int((self.first_token_at - self.started) * 1000)
