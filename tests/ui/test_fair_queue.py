"""Gradio's queue is shared by every user: one user may not fill it for everyone (issue 10)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from conftest import AppFactory, AppServer, free_port
from doubles.fake_engine import running_fake_engine
from fastapi import HTTPException, Request
from gradio.data_classes import PredictBodyInternal
from helpers import eventually, http

from services import ServicesHolder
from settings import Settings
from ui.app import build_blocks
from ui.fair_queue import PerUserQueue


def chat_fn_index(server: AppServer, headers: dict[str, str]) -> int:
    config = http.get(f"{server.url}/config", headers=headers).json()
    return next(int(dep["id"]) for dep in config["dependencies"] if dep["api_name"] == "chat")


def join_chat(server: AppServer, headers: dict[str, str], fn_index: int,
              session: str) -> httpx.Response:
    body: dict[str, Any] = {"data": ["hello", None, None, 0.0, 8, None], "fn_index": fn_index,
                            "session_hash": session}
    return http.post(f"{server.url}/gradio_api/queue/join", json=body, headers=headers)


def test_one_user_flooding_the_queue_leaves_room_for_another_users_chat(
        app_factory: AppFactory) -> None:
    # The engine never answers and one chat runs at a time: once the first chat runs, nothing
    # leaves the queue, so every join accepted after it stays there, waiting.
    with running_fake_engine("stall", free_port()) as engine:
        server = app_factory({"ENGINE_BASE_URL": engine.base_url, "CHAT_CONCURRENCY": "1",
                                 "QUEUE_PER_USER": "3", "ENGINE_FIRST_TOKEN_TIMEOUT_S": "600"})
        flooder, other = server.auth("test", "test"), server.auth("admin", "admin123")
        fn_index = chat_fn_index(server, flooder)
        assert join_chat(server, flooder, fn_index, "first").status_code == 200
        eventually(lambda: engine.requests >= 1)  # it runs, so it has left the queue

        floods = [join_chat(server, flooder, fn_index, f"flood-{n}") for n in range(20)]
        answer = join_chat(server, other, fn_index, "other-user")
        assert answer.status_code == 200, answer.text
        assert answer.json()["event_id"]

        assert [r.status_code for r in floods] == [200] * 3 + [429] * 17
        detail = floods[3].json()["detail"]
        assert detail.startswith("You already have 3 requests waiting in the queue"), detail
        assert floods[3].headers["retry-after"] == "5"


def queue_for(settings: Settings) -> tuple[PerUserQueue, int]:
    blocks = build_blocks(ServicesHolder(), settings)
    chat = next(fn for fn in blocks.fns.values() if fn.api_name == "chat")
    assert isinstance(blocks._queue, PerUserQueue)
    return blocks._queue, chat._id


def join_request(language: str = "en") -> Request:
    return Request({"type": "http", "method": "POST", "path": "/gradio_api/queue/join",
                    "headers": [(b"accept-language", language.encode())]})


async def push(queue: PerUserQueue, fn_index: int, username: str, language: str = "en") -> bool:
    body = PredictBodyInternal(data=["hi"], fn_index=fn_index, session_hash=username)
    ok, _, _ = await queue.push(body, join_request(language), username)
    return ok


async def test_the_bound_counts_the_users_own_events_that_have_not_started() -> None:
    """Gradio's queue, unstarted (nothing leaves it but what the test takes out)."""
    queue, chat = queue_for(Settings(chat_concurrency=1, queue_per_user=2))
    assert [await push(queue, chat, "ann") for _ in range(2)] == [True, True]
    with pytest.raises(HTTPException) as refused:
        await push(queue, chat, "ann")
    assert refused.value.status_code == 429 and refused.value.headers == {"Retry-After": "5"}
    assert refused.value.detail.startswith("You already have 2 requests waiting in the queue")
    assert await push(queue, chat, "bob"), "another user still joins"
    assert queue.waiting_for("ann") == 2 and queue.waiting_for("bob") == 1

    taken = queue.get_events()  # what the processing loop does when an event starts
    assert taken is not None and taken[0][0].username == "ann"
    assert queue.waiting_for("ann") == 1
    assert await push(queue, chat, "ann"), "a started event no longer counts"


async def test_a_refused_join_is_explained_in_the_callers_language() -> None:
    queue, chat = queue_for(Settings(queue_per_user=1))
    await push(queue, chat, "ann")
    with pytest.raises(HTTPException, match="대기열") as refused:
        await push(queue, chat, "ann", language="ko-KR,ko;q=0.9")
    assert refused.value.status_code == 429


def test_the_queue_is_sized_from_the_settings() -> None:
    queue, _ = queue_for(Settings(chat_concurrency=3, queue_per_user=5, queue_max_size=40))
    assert (queue.per_user, queue.max_size) == (5, 40)
    assert queue.max_thread_count >= 6 and queue.default_concurrency_limit == 4


async def test_an_idle_queue_sleeps_until_something_wakes_it() -> None:
    queue, _ = queue_for(Settings())
    loop = asyncio.create_task(queue.start_processing())
    try:
        await asyncio.sleep(0.3)
        # Gradio's own loop would have looked ~300 times (every millisecond).
        assert queue.idle_waits <= 2
        looked = queue.idle_waits
        queue.wake()  # as a push or a job's end does
        await asyncio.sleep(0.01)
        assert queue.idle_waits == looked + 1
    finally:
        queue.stopped = True
        queue.wake()
        await asyncio.wait_for(loop, 2)


async def test_progress_updates_sleep_while_no_job_runs() -> None:
    queue, _ = queue_for(Settings())
    progress = asyncio.create_task(queue.start_progress_updates())
    try:
        await asyncio.sleep(0.2)
        assert not progress.done()
        queue.stopped = True
        queue._jobs_running.set()
        await asyncio.wait_for(progress, 2)  # it was waiting, not polling, and ends at once
    finally:
        progress.cancel()
