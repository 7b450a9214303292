"""A clean shutdown stores every answer that ended: nothing queued is lost."""

from __future__ import annotations

import signal
import threading

import duckdb
from conftest import ServerFactory, SharedEngine
from helpers import eventually, http, stream_chat


def test_clean_shutdown_keeps_every_usage_row(server_factory: ServerFactory,
                                              shared_engine: SharedEngine) -> None:
    server = server_factory(shared_engine.env)
    headers = server.auth()
    body = {"messages": [{"role": "user", "content": "Count from one to five."}], "max_tokens": 24}
    results: list[int] = []

    def chat() -> None:
        response, _ = stream_chat(server.url, headers, body)
        results.append(response.status_code)

    threads = [threading.Thread(target=chat) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert results == [200, 200, 200]
    server.stop()  # SIGTERM right after the answers: their rows may still be queued
    # uvicorn shuts down, then re-raises the signal so the exit status tells what ended it.
    assert server.process.returncode in (0, -15)
    assert "Application shutdown complete" in server.log()

    conn = duckdb.connect(str(server.data_dir / "vllm_chat.duckdb"), read_only=True)
    try:
        rows = conn.execute("SELECT status, output_tokens FROM requests").fetchall()
        answers = conn.execute("SELECT count(*) FROM messages WHERE role = 'assistant'").fetchone()
    finally:
        conn.close()
    assert len(rows) == 3 and all(status == "completed" and out for status, out in rows)
    assert answers == (3,)


def test_an_open_browser_tab_does_not_hold_the_shutdown(server_factory: ServerFactory,
                                                        shared_engine: SharedEngine) -> None:
    """Every open tab keeps Gradio's heartbeat stream; uvicorn waits for open streams for up to
    its grace period (15 s), so the app must end these when it starts shutting down."""
    server = server_factory(shared_engine.env)
    ended = threading.Event()

    def open_tab() -> None:
        with http.stream("GET", f"{server.url}/gradio_api/heartbeat/tab-1", headers=server.auth(),
                         timeout=60) as heartbeat:
            for _ in heartbeat.iter_lines():
                pass
        ended.set()

    tab = threading.Thread(target=open_tab, daemon=True)
    tab.start()
    eventually(lambda: "/gradio_api/heartbeat/tab-1" in server.log())
    server.process.send_signal(signal.SIGTERM)
    assert ended.wait(5), "the tab's heartbeat stream was still open 5 s into the shutdown"
    server.process.wait(10)
    assert "timeout graceful shutdown exceeded" not in server.log()
