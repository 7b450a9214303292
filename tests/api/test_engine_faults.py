"""Engine faults, injected with the fake engine test double (tests/doubles/fake_engine.py)."""

from __future__ import annotations

from conftest import AppFactory, free_port
from doubles.fake_engine import running_fake_engine
from helpers import after, chat_then, content_of, http, stored_conversation, stream_chat, usage_rows


def test_engine_down_gives_503_and_stores_a_failed_answer(app_factory: AppFactory) -> None:
    server = app_factory({"ENGINE_BASE_URL": f"http://127.0.0.1:{free_port()}"},
                            wait_for="degraded")
    response = http.get(f"{server.url}/health")
    health = response.json()
    assert response.status_code == 503, "load balancers and HEALTHCHECK must see the outage"
    assert health["status"] == "degraded"
    assert health["services"]["engine"]["status"] == "down"
    assert health["services"]["database"]["status"] == "up"
    live = http.get(f"{server.url}/health/live")
    assert (live.status_code, live.json()["status"]) == (200, "alive")

    headers = server.auth()
    response = http.post(f"{server.url}/api/chat", headers=headers, timeout=30,
                         json={"messages": [{"role": "user", "content": "hello?"}]})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "engine_unavailable" and error["code"] == "engine_waiting"
    assert "Waiting for the model engine at http://127.0.0.1:" in error["message"]

    conv_id = response.headers.get("x-conversation-id") or http.get(
        f"{server.url}/api/conversations", headers=headers).json()["conversations"][0]["id"]
    stored = stored_conversation(server.url, headers, conv_id, 2)
    assert stored["messages"][0]["content"] == "hello?"
    assert (stored["messages"][1]["status"], stored["messages"][1]["content"]) == ("failed", "")
    row = usage_rows(server.url, headers)[0]
    assert (row["status"], row["status_code"]) == ("failed", 503)
    assert "Waiting for the model engine" in row["error"]


def test_engine_crash_mid_answer_keeps_the_partial_answer(app_factory: AppFactory) -> None:
    with running_fake_engine("crash", free_port(), crash_after_chunks=3) as engine:
        server = app_factory({"ENGINE_BASE_URL": engine.base_url})
        headers = server.auth()
        response, events = stream_chat(server.url, headers, {
            "messages": [{"role": "user", "content": "tell me something"}]})
        assert response.status_code == 200
        assert content_of(events) == "word0 word1 word2 "
        errors = [e for e in events if isinstance(e, dict) and "error" in e]
        assert errors and errors[0]["error"]["type"] == "engine_error"
        assert "stopped answering" in errors[0]["error"]["message"]
        assert events[-1] == "[DONE]"

        stored = stored_conversation(server.url, headers, response.headers["x-conversation-id"], 2)
        answer = stored["messages"][1]
        assert (answer["status"], answer["content"]) == ("failed", "word0 word1 word2 ")
        row = usage_rows(server.url, headers)[0]
        assert (row["status"], row["status_code"]) == ("failed", 502)
        assert row["output_tokens"] == 3


def test_engine_refusal_is_reported_with_its_reason(app_factory: AppFactory) -> None:
    with running_fake_engine("refuse", free_port()) as engine:
        server = app_factory({"ENGINE_BASE_URL": engine.base_url})
        response = http.post(f"{server.url}/api/chat", headers=server.auth(), timeout=30,
                             json={"messages": [{"role": "user", "content": "long text"}]})
        assert response.status_code == 503
        assert "maximum context length" in response.json()["error"]["message"]


def test_chat_stop_closes_the_upstream_stream(app_factory: AppFactory) -> None:
    """The gateway hangs up on the engine as soon as its own client goes away."""
    with running_fake_engine("endless", free_port()) as engine:
        server = app_factory({"ENGINE_BASE_URL": engine.base_url})
        headers = server.auth()
        body = {"messages": [{"role": "user", "content": "go on forever"}]}
        conv_id = chat_then(server.url, headers, body, after(3), hang_up=True).conv_id
        assert engine.disconnected.wait(5), "the engine's stream was not closed"
        stored = stored_conversation(server.url, headers, conv_id, 2)
        assert stored["messages"][1]["status"] == "cancelled"
        assert stored["messages"][1]["content"].startswith("word0 ")
        sent = engine.chunks_sent
        assert usage_rows(server.url, headers)[0]["status"] == "cancelled"
        assert engine.chunks_sent == sent
