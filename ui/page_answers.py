"""What each open chat page has asked to be answered, so that its Stop ends the answer whether
it runs already, is starting, or still waits in Gradio's queue.

Stop does not use Gradio's `cancels=`: cancelling an event the server has not finished makes
the server send the page an empty completion for it, on which Gradio 6.31's page throws and
leaves that event's outputs (the chat, the conversation list) as red "Error" pills unless
another update of them happens to land later. CI saw it when Stop's own update landed first.
Instead the answering event is ended from the inside: its answer stops, or it never starts,
and the event completes like any other.

A page is Gradio's session (`gr.Request.session_hash`): one tab, until it is reloaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Page:
    asked: int = 0  # answers asked for by a send (text, suggestion or Continue)
    started: int = 0  # of those, how many began (events of one page start in order)
    stopped_upto: int = 0  # Stop ends every answer asked for up to this one
    running: dict[int, int] = field(default_factory=dict)  # number -> conversation


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

    def _forget_if_idle(self, page: str) -> None:
        state = self._pages[page]
        if state.started >= state.asked and not state.running:
            del self._pages[page]

    def __len__(self) -> int:
        """Pages with an answer waiting or running (for tests: nothing is kept after)."""
        return len(self._pages)
