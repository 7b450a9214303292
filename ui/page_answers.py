"""What each open chat page shows and has asked to be answered, so that its Stop ends the
answer whether it runs already, is starting, or still waits in Gradio's queue, and so that New
chat or another conversation takes the place of whatever was streaming into the chat.

Neither uses Gradio's `cancels=`: cancelling an event the server has not finished makes the
server send the page an empty completion for it, on which Gradio 6.31's page throws and leaves
that event's outputs (the chat, the conversation list) as red "Error" pills unless another
update of them happens to land later. CI saw it when Stop's own update landed first. Instead
the events end from the inside (their answer stops, they never start, or they stop streaming
into a chat that shows something else) and complete like any other.

A page is Gradio's session (`gr.Request.session_hash`): one tab, until it is reloaded.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

# How long a move to another chat waits for the streams into the chat it leaves to end (each
# ends at its next update). One still going after this waits for its answer's next token:
# what it sent before has long reached the page, so nothing of it lands after the move.
MOVE_WAIT_S = 2.0


@dataclass
class _Page:
    asked: int = 0  # answers asked for by a send (text, suggestion or Continue)
    started: int = 0  # of those, how many began (events of one page start in order)
    stopped_upto: int = 0  # Stop ends every answer asked for up to this one
    running: dict[int, int] = field(default_factory=dict)  # number -> conversation
    view: int = 0  # what the chat shows: a new number each time it shows something else
    streams: Counter[int] = field(default_factory=Counter)  # streams into the chat, by view
    # (views without streams are dropped)
    moving: int = 0  # moves waiting for the streams they replace
    stream_ended: asyncio.Event = field(default_factory=asyncio.Event)

    def idle(self) -> bool:
        return (self.started >= self.asked and not self.running and not self.streams
                and not self.moving)

    def streams_before(self, view: int) -> bool:
        return any(shown < view for shown in self.streams)


def page_of(request: Any) -> str:
    """The page an event comes from (a Gradio request): its user's, whatever session id a
    crafted request names, so that no one can stop or move another user's page."""
    return f"{request.username}\n{request.session_hash}"


class PageAnswers:
    def __init__(self) -> None:
        self._pages: dict[str, _Page] = {}

    def asked(self, page: str) -> None:
        """A send: its answer is queued behind it."""
        self._pages.setdefault(page, _Page()).asked += 1

    def starting(self, page: str) -> int | None:
        """The answer asked for first and not begun yet begins: its number, or None when the
        page pressed Stop after asking for it (it must not start)."""
        state = self._pages.setdefault(page, _Page())
        state.started += 1
        number = state.started
        if number <= state.stopped_upto:
            self._forget_if_idle(page)
            return None
        return number

    def running(self, page: str, number: int, conversation_id: int) -> bool:
        """The answer `number` now runs in this conversation; False when Stop came while it
        was starting (before anyone knew its conversation): the caller stops it."""
        state = self._pages.setdefault(page, _Page())
        state.running[number] = conversation_id
        return number > state.stopped_upto

    def ended(self, page: str, number: int) -> None:
        state = self._pages.get(page)
        if state is not None:
            state.running.pop(number, None)
            self._forget_if_idle(page)

    def stop(self, page: str) -> set[int]:
        """Stop pressed: every answer the page asked for so far ends. The conversations whose
        answers run now, to be stopped by the caller; the rest will not start."""
        state = self._pages.get(page)
        if state is None:
            return set()
        state.stopped_upto = state.asked
        return set(state.running.values())

    def closed(self, page: str) -> None:
        """The page is gone (closed or reloaded): Gradio drops its queued events, so what it
        asked for and did not start never will; answers running go on until they end."""
        state = self._pages.get(page)
        if state is not None:
            state.asked = min(state.asked, state.started)
            self._forget_if_idle(page)

    @contextmanager
    def showing(self, page: str) -> Iterator[Callable[[], bool]]:
        """A stream into the page's chat (an answer, a conversation opened on a running one):
        it goes on while the function it is given says the chat still shows its view."""
        state = self._pages.setdefault(page, _Page())
        view = state.view
        state.streams[view] += 1
        try:
            yield lambda: state.view == view
        finally:
            state.streams[view] -= 1
            if not state.streams[view]:
                del state.streams[view]
            ended, state.stream_ended = state.stream_ended, asyncio.Event()
            ended.set()
            self._forget_if_idle(page)

    async def move(self, page: str) -> Callable[[], bool]:
        """The chat is to show something else (a new chat, another conversation): the streams
        into what it showed end, and this returns once they have (or after MOVE_WAIT_S), so
        that what the caller shows reaches the page after their last update. The function
        returned says whether the chat is still to show it (no later move came meanwhile)."""
        state = self._pages.setdefault(page, _Page())
        state.view += 1
        view = state.view
        state.moving += 1
        try:
            with suppress(TimeoutError):
                async with asyncio.timeout(MOVE_WAIT_S):
                    while state.streams_before(view):
                        await state.stream_ended.wait()
        finally:
            state.moving -= 1
            self._forget_if_idle(page)
        return lambda: state.view == view

    def _forget_if_idle(self, page: str) -> None:
        state = self._pages.get(page)
        if state is not None and state.idle():
            del self._pages[page]

    def __len__(self) -> int:
        """Pages with an answer waiting or running, a stream into their chat or a move under
        way (for tests: nothing is kept after)."""
        return len(self._pages)
