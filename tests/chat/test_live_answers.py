"""Answers cut off by a crash are marked when the app comes back."""

from __future__ import annotations

import json
import time

from conftest import AppFactory, ServerFactory, SharedEngine
from helpers import chat_then, content_of, stored_conversation, usage_rows


def test_an_answer_cut_off_by_a_crash_keeps_its_text_so_far_after_restart(
    server_factory: ServerFactory, app_factory: AppFactory, shared_engine: SharedEngine,
) -> None:
    server = server_factory({**shared_engine.env, "ANSWER_CHECKPOINT_S": "0.2"}, name="data")
    headers = server.auth()
    body = {"messages": [{"role": "user", "content": "Write a long story about a lighthouse."}],
            "max_tokens": 800}
    first_text: list[float] = []

    def drafted(events: list[object]) -> bool:
        """Text has streamed for several checkpoint periods, so a draft of it was saved."""
        if not first_text and content_of(events).strip():
            first_text.append(time.monotonic())
        return bool(first_text) and time.monotonic() - first_text[0] > 1.0

    # Killed: no clean shutdown, so only the saved draft survives.
    answer = chat_then(server.url, headers, body, drafted, server.process.kill, hang_up=True)
    conv_id, request_id, received = answer.conv_id, answer.request_id, answer.content
    server.process.wait()

    again = app_factory(name="data")  # the restart need not be a process of its own
    headers = again.auth()
    messages = stored_conversation(again.url, headers, conv_id, 2)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    answer = messages[1]
    assert answer["status"] == "failed" and "interrupted" in answer["note"]
    assert answer["content"].strip(), "the text written before the crash is kept"
    assert received.startswith(answer["content"]) or answer["content"].startswith(received)
    assert "cut off by the last shutdown" in again.log()
    row = next(r for r in usage_rows(again.url, headers) if r["request_id"] == request_id)
    assert (row["status"], row["status_code"]) == ("failed", 500)
    # Marked once: a second start finds nothing more to mark.
    assert json.dumps(messages).count("interrupted") == 1


def test_an_answer_whose_done_was_sent_survives_a_crash_right_after(
    server_factory: ServerFactory, app_factory: AppFactory, shared_engine: SharedEngine,
) -> None:
    """[DONE] promises the answer is kept: it is committed before [DONE] is sent."""
    server = server_factory(shared_engine.env, name="data")
    headers = server.auth()
    body = {"messages": [{"role": "user", "content": "Name three colours."}], "max_tokens": 40}
    # Killed at [DONE]: no clean shutdown, no time to catch up.
    answer = chat_then(server.url, headers, body, lambda events: events[-1] == "[DONE]",
                       server.process.kill, hang_up=True)
    conv_id = answer.conv_id
    server.process.wait()
    received = answer.content
    assert received.strip()

    again = app_factory(name="data")  # the restart need not be a process of its own
    messages = stored_conversation(again.url, again.auth(), conv_id, 2)["messages"]
    assert (messages[1]["status"], messages[1]["content"]) == ("completed", received)
