"""A clean shutdown stores every answer that ended: nothing queued is lost."""

from __future__ import annotations

import threading

import duckdb
from conftest import ServerFactory, SharedEngine
from helpers import stream_chat


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
