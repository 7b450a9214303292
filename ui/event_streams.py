"""A join that comes just after its page's event stream was closed waits until the page has
read the close.

Gradio (6.31) sends a page's event updates on one SSE stream (`/queue/data`) and closes it the
moment none of the page's events is pending; its JS client opens a new stream when a join
returns only if it thinks none is open. The next step of a `.then` chain (or a click) joins
right after a completion, so under load its join was now and then answered before the client
had read the `close_stream` sent a moment earlier: the client kept waiting on a closed stream,
and the event's updates stayed on the server until the person did something else (a page
opened on an empty chat instead of its latest conversation).

So a page's join that comes within HOLD_S of its stream closing is answered once HOLD_S has
passed since the close, by when the page has read the close and opens a new stream for it.
Joins of pages with a stream open, or closed a while ago, are not held, nor those of API
clients (gradio_client says `x-gradio-user: api`), which would only be slowed down.

Written against gradio 6.31: it relies on the SSE route asking `len()` of
`Queue.pending_event_ids_session[session]` only to decide to close (when it is 0, right after
a completion) and on `Queue.push` keeping a set it finds there.
tests/ui/test_event_streams.py fails if that changes.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from gradio.queueing import Queue

HOLD_S = 0.5


class PageEventIds(set[str]):
    """A page's pending event ids, remembering when the SSE route last found none (and so
    closed the stream)."""

    closed_at: float | None = None

    def __len__(self) -> int:
        pending = super().__len__()
        if not pending:
            self.closed_at = time.monotonic()
        return pending

    def __bool__(self) -> bool:  # what the queue's clean-up asks: no close
        return super().__len__() > 0


def from_page(request: Request) -> bool:
    """A join sent by the app's own page (Gradio's JS client, as the page uses it)."""
    return request.headers.get("x-gradio-user") == "app"


async def hold_join(queue: Queue, session: str) -> None:
    """Before a page's join: wait until HOLD_S after its stream's close, if that was just
    now, and keep the page's ids where the SSE route will count them."""
    ids = queue.pending_event_ids_session.get(session)
    if not isinstance(ids, PageEventIds):
        queue.pending_event_ids_session[session] = PageEventIds(ids or ())
    elif ids.closed_at is not None:
        await asyncio.sleep(max(0.0, ids.closed_at + HOLD_S - time.monotonic()))
