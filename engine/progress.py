"""Following a switch or restart as it happens, for whoever started it: the Models tab shows
the lines, the Gradio API's /switch_profile streams them as data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.manager import EngineManager


def timeline(events: Iterable[tuple[float, str]]) -> list[dict[str, str]]:
    """Engine events as callers get them: [{at: ISO 8601 in UTC, message}]."""
    return [{"at": datetime.fromtimestamp(at, UTC).isoformat(), "message": message}
            for at, message in events]


@dataclass(frozen=True)
class Progress:
    events: list[tuple[float, str]]  # (time, message) since following began
    done: bool
    error: BaseException | None  # why it failed, once done


async def follow(engine: EngineManager, task: asyncio.Task[None],
                 interval_s: float) -> AsyncIterator[Progress]:
    """The progress each `interval_s` until `task` ends, the last one with `done` set. Start
    following before the task's first step (right after begin_switch) to miss nothing."""
    _, seen = engine.events_since(0)  # only what happens from now on
    events: list[tuple[float, str]] = []
    while True:
        fresh, seen = engine.events_since(seen)
        events += fresh
        if task.done():
            error = None if task.cancelled() else task.exception()
            yield Progress(list(events), True, error)
            return
        yield Progress(list(events), False, None)
        await asyncio.sleep(interval_s)
