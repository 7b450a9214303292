"""Thinking kept apart from the answer, and generated titles: fake engine where the small
model cannot think, the real engine for titles."""

from __future__ import annotations

import time

import pytest
from conftest import AppFactory, free_port
from doubles.fake_engine import ANSWER, THINKING, TITLE, running_fake_engine
from helpers import content_of, eventually, http, stored_conversation, stream_chat, usage_rows


def reasoning_of(events: list[object]) -> str:
    return "".join(e["choices"][0]["delta"].get("reasoning_content", "")  # type: ignore[index]
                   for e in events if isinstance(e, dict) and e.get("choices"))


@pytest.mark.parametrize("mode", ["think_field", "think_tags"])
def test_thinking_is_streamed_and_stored_apart_and_not_sent_back(
    app_factory: AppFactory, mode: str
) -> None:
    with running_fake_engine(mode, free_port()) as engine:  # type: ignore[arg-type]
        server = app_factory({"ENGINE_BASE_URL": engine.base_url})
        headers = server.auth()
        response, events = stream_chat(server.url, headers, {
            "messages": [{"role": "user", "content": "What is six times seven?"}]})
        assert content_of(events) == "".join(ANSWER)
        assert reasoning_of(events) == "".join(THINKING)

        conv_id = response.headers["x-conversation-id"]
        stored = stored_conversation(server.url, headers, conv_id, 2)
        answer = stored["messages"][1]
        assert (answer["content"], answer["reasoning"]) == ("".join(ANSWER), "".join(THINKING))

        stream_chat(server.url, headers, {"conversation_id": int(conv_id),
                                          "messages": [{"role": "user", "content": "Why?"}]})
        sent = next(b for b in reversed(engine.bodies) if b not in engine.title_bodies)
        assert sent["messages"][1] == {"role": "assistant", "content": "".join(ANSWER)}
        assert all("think" not in m["content"] for m in sent["messages"])


def test_a_first_answer_gets_a_generated_title(app_factory: AppFactory) -> None:
    with running_fake_engine("think_field", free_port()) as engine:
        server = app_factory({"ENGINE_BASE_URL": engine.base_url, "AUTO_TITLES": "true"})
        headers = server.auth()
        long_question = "Plan a trip to Busan for three days. " * 50
        response, _ = stream_chat(server.url, headers, {
            "messages": [{"role": "user", "content": long_question}]})
        conv_id = response.headers["x-conversation-id"]

        def titled() -> dict[str, object] | None:
            conv = http.get(f"{server.url}/api/conversations/{conv_id}", headers=headers).json()
            return conv if conv["title"] == TITLE else None
        eventually(titled)
        prompt = engine.title_bodies[0]["messages"][0]["content"]
        assert "Plan a trip to Busan for three days" in prompt
        assert len(prompt) < 900, "only the opening of a long first message goes into the prompt"

        # /v1 conversations are not listed anywhere a title shows: no engine time for one.
        completion = http.post(f"{server.url}/v1/chat/completions", headers=headers, json={
            "messages": [{"role": "user", "content": "Name a city."}]})
        request_id = completion.json()["id"].removeprefix("chatcmpl-")
        eventually(lambda: any(r["request_id"] == request_id
                               for r in usage_rows(server.url, headers)))
        time.sleep(0.5)
        assert len(engine.title_bodies) == 1


def test_the_real_model_titles_a_new_conversation(app_factory: AppFactory) -> None:
    app_server = app_factory({"AUTO_TITLES": "true"})
    headers = app_server.auth()
    response, _ = stream_chat(app_server.url, headers, {
        "messages": [{"role": "user", "content": "How do I bake sourdough bread at home?"}],
        "max_tokens": 40})
    conv_id = response.headers["x-conversation-id"]

    def model_titled() -> dict[str, object] | None:
        conv = http.get(f"{app_server.url}/api/conversations/{conv_id}", headers=headers).json()
        return conv if conv["title_source"] == "model" else None
    conv = eventually(model_titled, timeout=60)
    assert 0 < len(str(conv["title"])) <= 60
    assert "\n" not in str(conv["title"])
