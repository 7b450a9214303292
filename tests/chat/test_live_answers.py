"""Answers cut off by a crash are marked when the app comes back."""

from __future__ import annotations

import json

import httpx
from conftest import ServerFactory
from helpers import stored_conversation


def test_an_answer_cut_off_by_a_crash_is_marked_after_restart(server_factory: ServerFactory) -> None:
    server = server_factory(name="data")
    headers = server.auth()
    body = {"messages": [{"role": "user", "content": "Write a long story about a lighthouse."}],
            "max_tokens": 800}
    with httpx.stream("POST", f"{server.url}/api/chat", json=body, headers=headers,
                      timeout=60) as response:
        conv_id = response.headers["x-conversation-id"]
        for n, line in enumerate(response.iter_lines()):
            if line.startswith("data: ") and n > 8:
                server.process.kill()  # no clean shutdown: nothing of the answer is stored
                break
    server.process.wait()

    again = server_factory(name="data")
    headers = again.auth()
    messages = stored_conversation(again.url, headers, conv_id, 2)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["status"] == "failed" and messages[1]["content"] == ""
    assert "interrupted" in messages[1]["note"]
    assert "cut off by the last shutdown" in again.log()
    # Marked once: a second start finds nothing more to mark.
    assert json.dumps(messages).count("interrupted") == 1
