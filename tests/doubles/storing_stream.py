"""TEST DOUBLE: ChatService.stream for code that runs answers (chat/live.py and the chat
page's handlers), streaming until stopped and storing the turn however it ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

USER = SimpleNamespace(id=7)


class StoringStream:
    """Streams "word"s until stopped and, however it ends, stores the turn's status (as the
    real stream does in its `finally`)."""

    def __init__(self) -> None:
        self.stored: list[str] = []

    async def stream(self, turn: Any) -> AsyncIterator[None]:
        try:
            while True:
                turn.answer += "word "
                yield None
                await asyncio.sleep(0.01)
        except (GeneratorExit, asyncio.CancelledError):
            turn.status = "cancelled"
            raise
        finally:
            self.stored.append(turn.status)


def new_turn() -> Any:
    """A turn of USER's in conversation 1."""
    return SimpleNamespace(conversation_id=1, user=USER, answer="", thinking="",
                           status="streaming", request_id="r1", trimmed=0)
