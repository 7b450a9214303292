"""Gradio's queue, woken by what it waits for instead of polling for it.

Gradio's queue loop looks for work every millisecond on Linux (`sleep_when_free`), and its
progress loop every 10 ms, whether or not anything waits: a steady ~4 % of a core in an app
that does nothing (python -m benchmarks.compare's machine: 5.3 % idle, 1.1 % with the loops
slowed), paid again during every answer. Here the loop sleeps until an event is pushed or a
job ends (the only two things that let it start a job), with a one-second check in case
something else ever does; the progress loop polls only while jobs run.

Written against gradio 6.31: `start_processing` is its loop with each poll replaced by
`_idle()`; `push` and `process_events` are wrapped. Every UI and Gradio API test runs its
events through it; tests/ui/test_fair_queue.py checks that the idle loops sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from gradio.queueing import Queue
from gradio.utils import run_coro_in_background, set_task_name

IDLE_CHECK_S = 1.0  # the longest a job could wait if a wake-up were ever missed


class WakingQueue(Queue):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake = asyncio.Event()
        self._jobs_running = asyncio.Event()
        self.idle_waits = 0  # how often the loop slept with nothing to do (for tests)

    def wake(self) -> None:
        self._wake.set()

    async def push(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().push(*args, **kwargs)
        finally:
            self.wake()

    async def process_events(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().process_events(*args, **kwargs)
        finally:
            self.wake()  # a worker and a concurrency slot are free again

    async def _idle(self) -> None:
        self.idle_waits += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), IDLE_CHECK_S)
        self._wake.clear()  # before the loop looks again: a wake from now on is not lost

    async def start_processing(self) -> None:
        try:
            while not self.stopped:
                if len(self) == 0 or None not in self.active_jobs:
                    await self._idle()
                    continue
                async with self.delete_lock:
                    event_batch = self.get_events()
                if event_batch:
                    self._start(*event_batch)
                else:
                    await self._idle()
        finally:
            self.stopped = True
            self._cancel_asyncio_tasks()

    def _start(self, events: list[Any], batch: bool, concurrency_id: str) -> None:
        """Gradio's start of a job, as its own loop does it."""
        self.active_jobs[self.active_jobs.index(None)] = events
        event_queue = self.event_queue_per_concurrency_id[concurrency_id]
        event_queue.current_concurrency += 1
        start_time = time.time()
        fn = events[0].fn
        event_queue.start_times_per_fn[fn].add(start_time)
        for event in events:
            if (a := self.event_analytics.get(event._id)) is not None:
                a["status"] = "processing"
        task = run_coro_in_background(self.process_events, events, batch, start_time, fn)
        set_task_name(task, events[0].session_hash, fn._id, events[0]._id, batch)
        self._asyncio_tasks.add(task)
        task.add_done_callback(self._asyncio_tasks.discard)
        self._jobs_running.set()
        if self.live_updates:
            self.broadcast_estimations(concurrency_id)

    async def start_progress_updates(self) -> None:
        while not self.stopped:
            self._jobs_running.clear()  # before looking: a job started from now on wakes it
            events = [evt for job in self.active_jobs if job is not None for evt in job]
            if not events:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._jobs_running.wait(), IDLE_CHECK_S)
                continue
            for event in events:
                if event.progress_pending and event.progress:
                    event.progress_pending = False
                    self.send_message(event, event.progress)
            await asyncio.sleep(self.progress_update_sleep_when_free)
