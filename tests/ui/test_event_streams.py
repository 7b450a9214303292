"""A page's join that comes just as its event stream (`/gradio_api/queue/data`) closes must not
be answered before the page can have read the close: Gradio's JS client opens a new stream
only if it thinks none is open, so such a join left its event's updates on the server (a page
now and then opened on an empty chat instead of its latest conversation)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio
import httpx
from conftest import AppServer
from gradio.data_classes import PredictBodyInternal
from gradio_queue import chat_fn_index, join_request, queue_for
from helpers import http
from inprocess import InProcessServer
from starlette.routing import Mount

from settings import Settings
from ui.event_streams import HOLD_S, PageEventIds


def join(server: AppServer, headers: dict[str, str], session: str, fn_index: int) -> str:
    body: dict[str, Any] = {"data": ["Say hi.", None, None, 0.0, 4, None],
                            "fn_index": fn_index, "session_hash": session}
    response = http.post(f"{server.url}/gradio_api/queue/join", json=body,
                         headers={**headers, "x-gradio-user": "app"})  # as the page sends it
    response.raise_for_status()
    return str(response.json()["event_id"])


def page_event_ids(server: AppServer, session: str) -> PageEventIds:
    """The session's pending ids in the queue of an app served from this process."""
    assert isinstance(server, InProcessServer)
    gradio_app = next(route.app for route in server._app.routes
                      if isinstance(route, Mount) and hasattr(route.app, "get_blocks"))
    ids = gradio_app.get_blocks()._queue.pending_event_ids_session[session]
    assert isinstance(ids, PageEventIds)
    return ids


def messages(stream: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in stream.iter_lines():
        if line.startswith("data:"):
            message = json.loads(line[5:])
            if message["msg"] != "heartbeat":
                yield message


def test_a_join_right_after_the_stream_closed_waits_and_its_updates_come_on_a_new_stream(
        app_server: AppServer) -> None:
    headers = app_server.auth()
    fn_index = chat_fn_index(app_server, headers)
    session = "chained-page"
    first = join(app_server, headers, session, fn_index)
    with httpx.Client(timeout=60) as client:
        with client.stream("GET", f"{app_server.url}/gradio_api/queue/data",
                           params={"session_hash": session}, headers=headers) as stream:
            kinds = [(m["msg"], m.get("event_id")) for m in messages(stream)]
        assert kinds[-2:] == [("process_completed", first), ("close_stream", None)], kinds
        # What a `.then` chain does as the first event's completion is read: the join is
        # answered only once the page can have read the close that followed it.
        closed_at = page_event_ids(app_server, session).closed_at
        assert closed_at is not None, "the route's count of the page's events was not seen"
        second = join(app_server, headers, session, fn_index)
        assert time.monotonic() >= closed_at + HOLD_S
        with client.stream("GET", f"{app_server.url}/gradio_api/queue/data",
                           params={"session_hash": session}, headers=headers) as stream:
            kinds = [(m["msg"], m.get("event_id")) for m in messages(stream)]
        assert ("process_completed", second) in kinds, kinds


async def test_a_join_is_held_until_hold_s_after_the_close_and_no_longer() -> None:
    """As the SSE route does it: it removes a completed event's id, then closes the stream
    if `len()` of the page's ids is 0."""
    queue, chat = queue_for(Settings())
    body = PredictBodyInternal(data=["hi"], fn_index=chat, session_hash="page")
    started = time.monotonic()
    assert (await queue.push(body, join_request(), "ann"))[0]
    assert time.monotonic() - started < HOLD_S, "a page's first join is not held"
    pending = queue.pending_event_ids_session["page"]
    pending.remove(next(iter(pending)))
    assert len(pending) == 0  # the route closes the stream here
    closed = time.monotonic()
    assert (await queue.push(body.model_copy(), join_request(), "ann"))[0]
    assert time.monotonic() - closed >= HOLD_S
    assert len(pending) == 1
    started = time.monotonic()
    assert (await queue.push(body.model_copy(), join_request(), "ann"))[0]
    assert time.monotonic() - started < HOLD_S, "with the stream open, a join is not held"


async def test_an_api_clients_join_is_not_held() -> None:
    """gradio_client opens a new stream itself when it needs one: holding its joins would only
    slow down a script calling the API in a loop."""
    queue, chat = queue_for(Settings())
    body = PredictBodyInternal(data=["hi"], fn_index=chat, session_hash="script")
    assert (await queue.push(body, join_request(sent_by="api"), "ann"))[0]
    pending = queue.pending_event_ids_session["script"]
    pending.remove(next(iter(pending)))
    assert len(pending) == 0  # the route closes the stream here
    started = time.monotonic()
    assert (await queue.push(body.model_copy(), join_request(sent_by="api"), "ann"))[0]
    assert time.monotonic() - started < HOLD_S


def test_the_page_says_its_joins_are_the_apps() -> None:
    """Joins are held only for the page, which Gradio's frontend marks with
    `x-gradio-user: app`: if a Gradio upgrade stops sending it, the hold silently stops."""
    assets = Path(gradio.__file__).parent / "templates" / "frontend" / "assets"
    sent = ["x-gradio-user\":`app`" in path.read_text(errors="replace")
            for path in assets.glob("*.js")]
    assert any(sent)
