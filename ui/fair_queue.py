"""Gradio's queue with a bound on the events one user may have waiting in it.

Gradio's queue is one list of waiting events per concurrency id, shared by every user, and it
refuses everyone once `max_size` events wait: one signed-in user sending joins could lock all
others out of the UI (issue 10). Every queued event carries the username that our
auth_dependency gave its join, so the bound counts the caller's waiting events in the queue
itself: there is no second count to keep in step with Gradio's. Events already running are
not counted: how many of them run at once is for the concurrency limits (and
CHAT_CONCURRENT_PER_USER) to say; this bound is about room in the queue.

Written against gradio 6.31: it relies on `Queue.push(body, request, username)` being the one
way into the queue (queue/join and call/{api_name} both use it), on `Event.username` and on
`Queue.event_queue_per_concurrency_id[...].queue` holding the events not yet started.
tests/ui/test_fair_queue.py fails if any of that changes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

import fastapi
import gradio as gr
from gradio.data_classes import PredictBodyInternal

from errors import RateLimited
from settings import Settings
from ui.errors import as_http_exception
from ui.waking_queue import WakingQueue

DEFAULT_CONCURRENCY_LIMIT = 4
RETRY_AFTER_S = 5  # a hint only: how soon the user's earlier events end is not known here

PushResult = tuple[bool, str | list[dict[str, Any]],
                   Literal["success", "error", "queue_full", "validator_error"]]


class PerUserQueue(WakingQueue):
    """Refuses a join (HTTP 429) while its user already has `per_user` events waiting."""

    def __init__(self, blocks: gr.Blocks, *, per_user: int, max_size: int) -> None:
        # As Blocks.queue(status_update_rate="auto") builds gradio's own queue.
        super().__init__(live_updates=True, concurrency_count=blocks.max_threads,
                         update_intervals=1, max_size=max_size, blocks=blocks,
                         default_concurrency_limit=DEFAULT_CONCURRENCY_LIMIT)
        self.per_user = per_user
        # Joins between our check and Gradio's append (push may await inside): counted too,
        # so that concurrent joins cannot all pass the check at once.
        self._joining: Counter[str | None] = Counter()

    def waiting_for(self, username: str | None) -> int:
        """The user's events in the queue that have not started yet."""
        return sum(1 for events in self.event_queue_per_concurrency_id.values()
                   for event in events.queue if event.username == username)

    async def push(self, body: PredictBodyInternal, request: fastapi.Request,
                   username: str | None) -> PushResult:
        if self.waiting_for(username) + self._joining[username] >= self.per_user:
            refusal = RateLimited(
                f"You already have {self.per_user} requests waiting in the queue; "
                "try again when one of them has started.",
                retry_after_s=RETRY_AFTER_S, code="queue_per_user")
            # Gradio's join routes do not catch what push raises: FastAPI answers with it.
            raise as_http_exception(refusal, request)
        self._joining[username] += 1
        try:
            result: PushResult = await super().push(body, request, username)
            return result
        finally:
            self._joining[username] -= 1
            if self._joining[username] <= 0:
                del self._joining[username]


def install_queue(demo: gr.Blocks, settings: Settings) -> PerUserQueue:
    """Turn on the queue for `demo`, bounded per user and sized from the settings. Set
    `demo.max_threads` first: it is the queue's number of workers. Not through demo.queue(),
    which builds gradio's own queue and a whole throwaway app to go with it (a tenth of a
    second per start)."""
    queue = PerUserQueue(demo, per_user=settings.resolved_queue_per_user,
                         max_size=settings.resolved_queue_max_size)
    demo._queue = queue  # nothing has used gradio's own queue yet: the app has not started
    return queue
