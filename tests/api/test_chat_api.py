"""POST /api/chat and the stored conversation, against the real llama.cpp engine."""

from __future__ import annotations

import time

import pytest
from conftest import AppServer
from helpers import content_of, cpu_seconds, http, stored_conversation, stream_chat, usage_rows


def test_chat_streams_openai_chunks_and_stores_the_answer(app_server: AppServer) -> None:
    headers = app_server.auth()
    response, events = stream_chat(app_server.url, headers, {
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "max_tokens": 40, "temperature": 0,
    })
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert events[0]["object"] == "chat.completion.chunk"
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert events[-1] == "[DONE]"
    assert events[-2]["choices"][0]["finish_reason"] in {"stop", "length"}
    text = content_of(events)
    content_chunks = [e for e in events[1:-2] if e["choices"][0]["delta"].get("content")]
    assert len(content_chunks) >= 2, "the answer arrives token by token"
    assert text.strip()

    conv_id = response.headers["x-conversation-id"]
    stored = stored_conversation(app_server.url, headers, conv_id, 2)
    user_msg, answer = stored["messages"]
    assert (user_msg["role"], user_msg["content"]) == ("user", "What is the capital of France?")
    assert user_msg["token_in"] > 0
    assert (answer["role"], answer["content"], answer["status"]) == ("assistant", text, "completed")
    assert answer["token_out"] > 0 and answer["token_in"] >= user_msg["token_in"]
    # The first words title it until the model's own title (written in the background) arrives.
    assert stored["title_source"] == "model" or stored["title"] == "What is the capital of France?"

    row = next(r for r in usage_rows(app_server.url, headers)
               if r["request_id"] == response.headers["x-request-id"])
    assert row["status"] == "completed" and row["status_code"] == 200
    assert row["conv_id"] == int(conv_id)
    assert row["output_tokens"] == answer["token_out"]
    assert 0 <= row["ttft_ms"] <= row["latency_ms"]
    assert row["model"] == "smollm2-135m-instruct"


def test_chat_continues_a_stored_conversation(app_server: AppServer) -> None:
    headers = app_server.auth()
    first, _ = stream_chat(app_server.url, headers, {
        "messages": [{"role": "system", "content": "You are terse."},
                     {"role": "user", "content": "My name is Ada."}], "max_tokens": 20})
    conv_id = int(first.headers["x-conversation-id"])
    stored_conversation(app_server.url, headers, conv_id, 2)
    second, events = stream_chat(app_server.url, headers, {
        "messages": [{"role": "user", "content": "What is my name?"}],
        "conversation_id": conv_id, "max_tokens": 20})
    assert second.status_code == 200 and events[-1] == "[DONE]"
    assert int(second.headers["x-conversation-id"]) == conv_id
    stored = stored_conversation(app_server.url, headers, conv_id, 4)
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant", "user", "assistant"]
    assert stored["system_prompt"] == "You are terse."
    assert stored["messages"][2]["content"] == "What is my name?"
    # The second request's prompt held the first turn, so it counted more input tokens.
    assert stored["messages"][3]["token_in"] > stored["messages"][1]["token_in"]


def test_non_streaming_chat_returns_one_completion(app_server: AppServer) -> None:
    response = http.post(f"{app_server.url}/api/chat", headers=app_server.auth(), timeout=60, json={
        "messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 10, "stream": False})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"].strip()
    assert body["conversation_id"] == int(response.headers["x-conversation-id"])


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"messages": [{"role": "user", "content": "   "}]}, 400, "empty_message"),
    ({"messages": [{"role": "assistant", "content": "hi"}]}, 400, "no_user_message"),
    ({"messages": []}, 422, "invalid_input"),
    ({"messages": [{"role": "user", "content": "hi"}], "temperature": 3}, 422, "invalid_input"),
    ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, 422, "invalid_input"),
    ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100000}, 400, "invalid_max_tokens"),
    ({"messages": [{"role": "user", "content": "hi"}], "model": "gpt-9"}, 400, "model_not_found"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, 422, "invalid_input"),
    ({"messages": [{"role": "user", "content": "x" * 40_000}]}, 400, "message_too_long"),
])
def test_bad_chat_input_is_refused_and_nothing_is_stored(
    app_server: AppServer, body: dict[str, object], status: int, code: str
) -> None:
    headers = app_server.auth("admin", "admin123")
    def conversation_ids() -> list[int]:
        listed = http.get(f"{app_server.url}/api/conversations", headers=headers).json()
        return [c["id"] for c in listed["conversations"]]
    before = conversation_ids()
    response = http.post(f"{app_server.url}/api/chat", json=body, headers=headers)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert conversation_ids() == before


def test_malformed_json_is_a_clear_422(app_server: AppServer) -> None:
    response = http.post(f"{app_server.url}/api/chat", content=b"{not json",
                         headers={**app_server.auth(), "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "The request body is not valid JSON"


def test_another_users_conversation_cannot_be_read_or_continued(app_server: AppServer) -> None:
    admin = app_server.auth("admin", "admin123")
    created = http.post(f"{app_server.url}/api/conversations", headers=admin,
                        json={"title": "admin only"})
    assert created.status_code == 201
    conv_id = created.json()["id"]
    user = app_server.auth()
    assert http.get(f"{app_server.url}/api/conversations/{conv_id}", headers=user).status_code == 404
    response = http.post(f"{app_server.url}/api/chat", headers=user, json={
        "messages": [{"role": "user", "content": "hi"}], "conversation_id": conv_id})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "conversation_not_found"
    listed = http.get(f"{app_server.url}/api/conversations", headers=user).json()["conversations"]
    assert conv_id not in [c["id"] for c in listed]


def test_chat_stop_aborts_upstream(app_server: AppServer) -> None:
    """Closing the SSE connection ends the answer: stored as cancelled, and the engine goes idle."""
    headers = app_server.auth()
    engine_pid = app_server.engine_pid()
    assert engine_pid is not None
    body = {"messages": [{"role": "user", "content": "Write a very long story about a dragon."}],
            "max_tokens": 1500, "temperature": 0.8}
    with http.stream("POST", f"{app_server.url}/api/chat", json=body, headers=headers,
                     timeout=60) as response:
        conv_id = response.headers["x-conversation-id"]
        lines = 0
        for line in response.iter_lines():
            lines += bool(line.startswith("data: "))
            if lines >= 5:
                break
    stored = stored_conversation(app_server.url, headers, conv_id, 2)
    answer = stored["messages"][1]
    assert answer["status"] == "cancelled"
    assert 0 < answer["token_out"] < 200
    row = next(r for r in usage_rows(app_server.url, headers) if r["conv_id"] == int(conv_id))
    assert (row["status"], row["status_code"]) == ("cancelled", 499)

    # Generating 1500 tokens would keep the engine busy for many seconds; after the
    # disconnect it must use (almost) no CPU.
    time.sleep(0.5)
    before = cpu_seconds(engine_pid)
    time.sleep(1.0)  # generating, it would use a whole core
    assert cpu_seconds(engine_pid) - before < 0.3


def test_stop_ends_the_answer_where_the_stop_string_begins(app_server: AppServer) -> None:
    """`stop` reaches the real engine: the same greedy answer, cut before the stop string."""
    headers = app_server.auth()
    body = {"messages": [{"role": "user", "content": "Count from one to ten in words."}],
            "max_tokens": 20, "temperature": 0, "seed": 1, "stream": False}
    free = http.post(f"{app_server.url}/api/chat", headers=headers, json=body, timeout=60)
    text = free.json()["choices"][0]["message"]["content"]
    words = text.split()
    assert len(words) >= 4, text
    stop = words[2]
    stopped = http.post(f"{app_server.url}/api/chat", headers=headers, timeout=60,
                        json={**body, "stop": [stop]})
    assert stopped.status_code == 200
    choice = stopped.json()["choices"][0]
    assert choice["message"]["content"].rstrip() == text[: text.index(stop)].rstrip()
    assert choice["finish_reason"] == "stop"


def test_an_answer_cut_off_at_the_length_limit_is_stored_as_such(app_server: AppServer) -> None:
    """Issue 12: the chat says when an answer stopped at max_tokens, so the reason is stored."""
    headers = app_server.auth()
    cut, events = stream_chat(app_server.url, headers, {
        "messages": [{"role": "user", "content": "Tell me a very long story about a dragon."}],
        "max_tokens": 3})
    assert events[-2]["choices"][0]["finish_reason"] == "length"
    answer = stored_conversation(app_server.url, headers, cut.headers["x-conversation-id"],
                                 2)["messages"][1]
    assert (answer["status"], answer["finish_reason"]) == ("completed", "length")

    whole, events = stream_chat(app_server.url, headers, {
        "messages": [{"role": "user", "content": "Say yes."}], "max_tokens": 60,
        "temperature": 0})
    reason = events[-2]["choices"][0]["finish_reason"]
    answer = stored_conversation(app_server.url, headers, whole.headers["x-conversation-id"],
                                 2)["messages"][1]
    assert answer["finish_reason"] == reason
