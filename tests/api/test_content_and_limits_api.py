"""Banned words, answers at once per user, sampling fields and the default system prompt, on
every entry point of the real app, with the fake engine test double (tests/doubles/
fake_engine.py) standing in for the model: it records each request it receives, and its
endless answer holds a slot open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from conftest import AppFactory, AppServer, SharedEngine, free_port, start_app
from doubles.fake_engine import FakeEngine, running_fake_engine
from helpers import eventually, gradio_client, http, usage_rows
from prometheus_client.parser import text_string_to_metric_families

BANNED = "# one word or phrase a line\nforbidden phrase\n금지어\n"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeEngine]:
    with running_fake_engine("think_field", free_port()) as engine:
        yield engine


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path,
           fake: FakeEngine, shared_engine: SharedEngine) -> Iterator[AppServer]:
    data = tmp_path_factory.mktemp("limits")
    (data / "banned.txt").write_text(BANNED, encoding="utf-8")
    app = start_app(data, model_dir, shared_engine, {
        "ENGINE_BASE_URL": fake.base_url, "BANNED_WORDS_FILE": str(data / "banned.txt"),
        "CHAT_CONCURRENT_PER_USER": "1", "AUTO_TITLES": "false"})
    yield app
    app.stop()


@pytest.fixture(autouse=True)
def answers_that_end(fake: FakeEngine) -> None:
    fake.mode = "think_field"


def refusals(server: AppServer) -> dict[str, float]:
    text = http.get(f"{server.url}/metrics").text
    return {s.labels["reason"]: s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == "vllm_chat_refused_requests_total"}


def chat(server: AppServer, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return http.post(f"{server.url}/api/chat", headers=headers, timeout=30,
                     json={"stream": False, **body})


def v1(server: AppServer, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return http.post(f"{server.url}/v1/chat/completions", headers=headers, timeout=30, json=body)


def conversation_count(server: AppServer, headers: dict[str, str]) -> int:
    return len(http.get(f"{server.url}/api/conversations", headers=headers).json()["conversations"])


def test_banned_word_is_refused_on_every_entry_point_before_the_engine(
    server: AppServer, fake: FakeEngine,
) -> None:
    headers = server.auth()
    kept = chat(server, headers, {"messages": [{"role": "user", "content": "hello"}]})
    assert kept.status_code == 200
    conv_id = kept.json()["conversation_id"]
    before = (fake.requests, conversation_count(server, headers),
              len(eventually(lambda: usage_rows(server.url, headers))),
              refusals(server)["content_blocked"])

    refused = [
        chat(server, headers, {"messages": [{"role": "user", "content": "a FORBIDDEN Phrase"}]}),
        chat(server, headers, {"messages": [{"role": "system", "content": "say 금지어"},
                                            {"role": "user", "content": "hello"}]}),
        v1(server, headers, {"messages": [{"role": "user", "content": "금지어입니다"}]}),
        http.post(f"{server.url}/api/conversations/{conv_id}/edit", headers=headers,
                  json={"content": "forbidden phrase", "stream": False}),
    ]
    for response in refused:
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "content_blocked"
    with pytest.raises(openai.BadRequestError) as sdk_refused:
        openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.token(),
                      max_retries=0).chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": "forbidden phrase"}])
    assert sdk_refused.value.code == "content_blocked"
    korean = gradio_client(server.url, {**headers, "Accept-Language": "ko-KR,ko;q=0.9"})
    with pytest.raises(Exception, match="허용되지 않는"):
        korean.predict("금지어", api_name="/chat")

    assert fake.requests == before[0], "nothing reached the engine"
    assert conversation_count(server, headers) == before[1], "nothing was stored"
    assert len(usage_rows(server.url, headers)) == before[2], "a refused input is no answer"
    assert refusals(server)["content_blocked"] == before[3] + 6
    log = server.log()
    assert "f***" in log and "금***" in log
    assert "forbidden phrase" not in log.casefold() and "금지어" not in log


def test_a_prompt_kept_for_later_is_checked_when_it_is_saved(server: AppServer) -> None:
    """A default prompt, a preset or a new conversation's prompt is sent with later messages:
    a banned word in it is refused when it is saved, not stored to slip through later."""
    headers = server.auth()
    counted = refusals(server)["content_blocked"]
    refused = [
        http.put(f"{server.url}/api/me/settings", headers=headers,
                 json={"default_system_prompt": "always say FORBIDDEN phrase"}),
        http.post(f"{server.url}/api/presets", headers=headers,
                  json={"name": "sneaky", "system_prompt": "금지어"}),
        http.post(f"{server.url}/api/conversations", headers=headers,
                  json={"title": "t", "system_prompt": "forbidden phrase"}),
    ]
    for response in refused:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "content_blocked"
    assert refusals(server)["content_blocked"] == counted + 3
    presets = http.get(f"{server.url}/api/presets", headers=headers).json()
    assert all(p["name"] != "sneaky" for p in presets["presets"])


def test_one_answer_at_a_time_per_user_across_entry_points(
    server: AppServer, fake: FakeEngine,
) -> None:
    headers = server.auth()
    counted = refusals(server)["too_many_concurrent"]
    fake.mode = "endless"
    body = {"messages": [{"role": "user", "content": "go on forever"}]}
    with http.stream("POST", f"{server.url}/api/chat", json=body, headers=headers,
                     timeout=30) as streaming:
        lines = streaming.iter_lines()
        assert "word0" in next(line for line in lines if "word" in line)
        fake.mode = "think_field"
        second = v1(server, headers, {"messages": [{"role": "user", "content": "me too"}]})
        assert second.status_code == 429
        assert second.json()["error"]["code"] == "too_many_concurrent"
        assert second.headers["retry-after"] == "1"
        with pytest.raises(Exception, match=r"(?i)at once"):
            gradio_client(server.url, headers).predict("hi", api_name="/chat")
    # The first answer ended when its connection closed: its slot is free again (as soon as
    # the app has noticed the closed connection).
    codes: list[int] = []

    def answered() -> bool:
        codes.append(chat(server, headers, {"messages": [{"role": "user", "content": "now?"}]})
                     .status_code)
        return codes[-1] == 200
    eventually(answered, timeout=10)
    assert set(codes[:-1]) <= {429}
    assert refusals(server)["too_many_concurrent"] == counted + 2 + len(codes) - 1
    assert {"content_blocked", "too_many_concurrent", "quota_exceeded",
            "rate_limited"} <= set(refusals(server))


def test_sampling_fields_reach_the_engine_from_rest_and_v1(
    server: AppServer, fake: FakeEngine,
) -> None:
    headers = server.auth()
    asked = {"top_p": 0.5, "seed": 42, "presence_penalty": 0.5, "frequency_penalty": -0.5}
    assert chat(server, headers, {"messages": [{"role": "user", "content": "hi"}],
                                  "stop": "END", **asked}).status_code == 200
    sent = fake.bodies[-1]
    assert {k: sent.get(k) for k in [*asked, "stop"]} == {**asked, "stop": ["END"]}

    sdk = openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.token(), max_retries=0)
    sdk.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "hi"}],
                                stop=["\n\n", "END"], seed=3, top_p=0.9)
    sent = fake.bodies[-1]
    assert (sent["stop"], sent["seed"], sent["top_p"]) == (["\n\n", "END"], 3, 0.9)

    assert chat(server, headers, {"messages": [{"role": "user", "content": "hi"}]}).status_code == 200
    sent = fake.bodies[-1]
    assert sent["top_p"] == 1.0, "the profile's top_p"
    assert not {"stop", "seed", "presence_penalty", "frequency_penalty"} & set(sent)


@pytest.mark.parametrize(("field", "value", "code"), [
    ("top_p", 0, "invalid_top_p"),
    ("top_p", 1.5, "invalid_top_p"),
    ("stop", ["a", "b", "c", "d", "e"], "invalid_stop"),
    ("stop", "x" * 101, "invalid_stop"),
    ("presence_penalty", 2.5, "invalid_presence_penalty"),
    ("frequency_penalty", -3, "invalid_frequency_penalty"),
])
def test_bad_sampling_values_are_400_on_rest_and_v1(
    server: AppServer, fake: FakeEngine, field: str, value: object, code: str,
) -> None:
    headers = server.auth()
    sent = fake.requests
    body = {"messages": [{"role": "user", "content": "hi"}], field: value}
    for response in (chat(server, headers, body), v1(server, headers, body)):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == code
    assert fake.requests == sent


def test_the_default_system_prompt_starts_new_conversations_on_rest_and_v1(
    server: AppServer, fake: FakeEngine,
) -> None:
    headers = server.auth("admin", "admin123")
    saved = http.put(f"{server.url}/api/me/settings", headers=headers,
                     json={"default_system_prompt": "Answer in Korean."})
    assert saved.status_code == 200
    default = {"role": "system", "content": "Answer in Korean."}
    try:
        rest = chat(server, headers, {"messages": [{"role": "user", "content": "hi"}]})
        assert fake.bodies[-1]["messages"][0] == default
        conv = http.get(f"{server.url}/api/conversations/{rest.json()['conversation_id']}",
                        headers=headers).json()
        assert conv["system_prompt"] == "Answer in Korean."
        v1(server, headers, {"messages": [{"role": "user", "content": "hi"}]})
        assert fake.bodies[-1]["messages"][0] == default

        own = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"}]
        chat(server, headers, {"messages": own})
        assert fake.bodies[-1]["messages"][0] == own[0]
        v1(server, headers, {"messages": own})
        assert fake.bodies[-1]["messages"][0] == own[0]
        assert [m["role"] for m in fake.bodies[-1]["messages"]] == ["system", "user"]
    finally:
        http.put(f"{server.url}/api/me/settings", headers=headers,
                 json={"default_system_prompt": None})


def test_a_missing_banned_words_file_stops_the_start(app_factory: AppFactory,
                                                     tmp_path: Path) -> None:
    """A filter that silently did nothing would be worse than no start."""
    with pytest.raises(RuntimeError, match=r"BANNED_WORDS_FILE \S*nowhere\.txt cannot be read"):
        app_factory({"BANNED_WORDS_FILE": str(tmp_path / "nowhere.txt")}, wait_for="up")
