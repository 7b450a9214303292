"""The Gradio API (`/chat`) through gradio_client, against the real app and engine."""

from __future__ import annotations

from itertools import pairwise

import pytest
from conftest import AppFactory, AppServer, free_port
from doubles.fake_engine import running_fake_engine
from helpers import gradio_client, http, stored_conversation, usage_rows

from services import ServicesHolder
from settings import Settings
from ui.app import build_blocks


def bearer(token: str | None) -> dict[str, str] | None:
    return {"Authorization": f"Bearer {token}"} if token else None


def newest_conversation(server: AppServer, headers: dict[str, str]) -> dict[str, object]:
    listed = http.get(f"{server.url}/api/conversations", headers=headers).json()
    return dict(listed["conversations"][0])


def test_gradio_chat_streams_the_growing_answer(app_server: AppServer) -> None:
    client = gradio_client(app_server.url, bearer(app_server.token()))
    job = client.submit("Name three colors.", None, None, 0.0, 40, api_name="/chat")
    updates = [text for text in job if text]
    final = job.result()
    assert len(set(updates)) >= 2, "the answer arrives in pieces"
    assert all(b.startswith(a) for a, b in pairwise(updates))
    assert final == updates[-1] and final.strip()

    headers = app_server.auth()
    conv = newest_conversation(app_server, headers)  # its title may already be the model's
    stored = stored_conversation(app_server.url, headers, str(conv["id"]), 2)
    assert stored["messages"][0]["content"] == "Name three colors."
    assert stored["messages"][1]["content"] == final


def test_gradio_chat_continues_a_conversation_with_its_system_prompt(app_server: AppServer) -> None:
    client = gradio_client(app_server.url, bearer(app_server.token()))
    client.predict("Hello there", None, "Answer in one sentence.", 0.2, 20, api_name="/chat")
    headers = app_server.auth()
    conv_id = int(str(newest_conversation(app_server, headers)["id"]))
    stored_conversation(app_server.url, headers, conv_id, 2)
    client.predict("And again", conv_id, None, 0.2, 20, api_name="/chat")
    stored = stored_conversation(app_server.url, headers, conv_id, 4)
    assert stored["system_prompt"] == "Answer in one sentence."
    assert [m["content"] for m in stored["messages"] if m["role"] == "user"] == [
        "Hello there", "And again"]


@pytest.mark.parametrize("token", [None, "not-a-valid-token"])
def test_gradio_api_refuses_callers_without_a_valid_token(app_server: AppServer, token: str | None) -> None:
    with pytest.raises(Exception, match=r"(?i)credentials|login|401|unauthorized"):
        gradio_client(app_server.url, bearer(token)).predict("hi", api_name="/chat")
    response = http.post(f"{app_server.url}/gradio_api/queue/join",
                         json={"data": ["hi"], "fn_index": 0, "session_hash": "x"})
    assert response.status_code == 401


def test_gradio_empty_message_is_a_clear_error(app_server: AppServer) -> None:
    client = gradio_client(app_server.url, bearer(app_server.token()))
    with pytest.raises(Exception, match="The message is empty"):
        client.predict("   ", api_name="/chat")


def test_gradio_cancel_closes_the_upstream_stream(app_factory: AppFactory) -> None:
    with running_fake_engine("endless", free_port()) as engine:
        server = app_factory({"ENGINE_BASE_URL": engine.base_url})
        client = gradio_client(server.url, bearer(server.token()))
        job = client.submit("go on forever", api_name="/chat")
        for n, _ in enumerate(job):
            if n >= 3:
                break
        job.cancel()
        assert engine.disconnected.wait(10), "cancelling the job did not close the engine stream"
        headers = server.auth()
        conv = newest_conversation(server, headers)
        stored = stored_conversation(server.url, headers, str(conv["id"]), 2)
        assert stored["messages"][1]["status"] == "cancelled"
        assert usage_rows(server.url, headers)[0]["status"] == "cancelled"


def test_chat_events_are_not_limited_to_one_user_at_a_time() -> None:
    settings = Settings(chat_concurrency=7)
    blocks = build_blocks(ServicesHolder(), settings)
    chat_fns = [fn for fn in blocks.fns.values() if fn.name in {"chat_api", "respond"}]
    assert {fn.api_name for fn in chat_fns} == {"chat", "respond", "respond_1", "respond_2",
                                                "respond_3"}
    assert all(fn.concurrency_limit == 7 for fn in chat_fns)
    assert blocks.max_threads >= 14


def test_the_app_phones_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    """Self-hosted: Gradio's version check and usage telemetry (both on by default) would call
    Hugging Face's servers each time the app starts, from a team's private network."""
    import gradio.analytics

    calls: list[str] = []
    monkeypatch.delenv("GRADIO_ANALYTICS_ENABLED", raising=False)
    monkeypatch.setattr(gradio.analytics, "version_check", lambda: calls.append("version"))
    monkeypatch.setattr(gradio.analytics, "initiated_analytics",
                        lambda data: calls.append("telemetry"))
    blocks = build_blocks(ServicesHolder(), Settings())
    assert calls == [] and not blocks.analytics_enabled
