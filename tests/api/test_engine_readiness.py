"""The app and its engine as operators and load balancers see them: waiting for an external
engine, /v1 in ENGINE_BASE_URL, a stalled engine, /health's status code, the admin's restart.
Faults come from the fake engine test double (tests/doubles/fake_engine.py)."""

from __future__ import annotations

import time

import pytest
from conftest import AppFactory, free_port
from doubles.fake_engine import Mode, running_fake_engine
from helpers import content_of, eventually, http, stored_conversation, stream_chat, usage_rows


def engine_state(url: str) -> dict[str, str]:
    return dict(http.get(f"{url}/health", timeout=10).json()["services"]["engine"])


def test_an_external_engine_that_is_not_up_yet_is_waited_for(app_factory: AppFactory) -> None:
    port = free_port()
    server = app_factory({"ENGINE_BASE_URL": f"http://127.0.0.1:{port}",
                             "ENGINE_WAIT_INTERVAL_S": "0.2"}, wait_for="degraded")
    engine = engine_state(server.url)
    assert engine["state"] == "waiting"
    assert engine["error"] == f"waiting for the engine at http://127.0.0.1:{port} to answer"
    with running_fake_engine("think_field", port) as fake:
        eventually(lambda: http.get(f"{server.url}/health").status_code == 200)
        assert fake.warmups == 1, "ready after a first token"
        response, events = stream_chat(server.url, server.auth(), {
            "messages": [{"role": "user", "content": "hello"}]})
        assert response.status_code == 200 and content_of(events) == "The answer is 42."


def test_engine_base_url_may_end_in_v1(app_factory: AppFactory) -> None:
    """OpenAI tools write base URLs with /v1; the app takes both forms."""
    with running_fake_engine("think_field", free_port()) as fake:
        server = app_factory({"ENGINE_BASE_URL": f"{fake.base_url}/v1/"})
        response, events = stream_chat(server.url, server.auth(), {
            "messages": [{"role": "user", "content": "hello"}]})
        assert response.status_code == 200 and content_of(events) == "The answer is 42."


@pytest.mark.parametrize("stall", ["stall", "silent"],
                         ids=["headers-then-nothing", "not-even-headers"])
def test_a_stalled_engine_gives_a_clear_error_within_the_first_token_timeout(
    app_factory: AppFactory, stall: Mode,
) -> None:
    with running_fake_engine(stall, free_port()) as fake:
        server = app_factory({"ENGINE_BASE_URL": fake.base_url,
                                 "ENGINE_FIRST_TOKEN_TIMEOUT_S": "2"})
        headers = server.auth()
        started = time.monotonic()
        response = http.post(f"{server.url}/api/chat", headers=headers, timeout=60,
                             json={"messages": [{"role": "user", "content": "hello?"}]})
        waited = time.monotonic() - started
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "engine_timeout"
        assert error["message"] == ("The model engine did not start answering within 2 s. It may"
                                    " be overloaded or stuck.")
        assert waited < 30, f"the user waited {waited:.0f} s"
        if stall == "stall":  # a handler that never answered cannot see the hang-up
            assert fake.disconnected.wait(5), "the app hung up on the stalled request"
        conv_id = http.get(f"{server.url}/api/conversations",
                           headers=headers).json()["conversations"][0]["id"]
        stored = stored_conversation(server.url, headers, conv_id, 2)
        assert stored["messages"][1]["status"] == "failed"
        row = usage_rows(server.url, headers)[0]
        assert (row["status"], row["status_code"]) == ("failed", 503)


def test_an_admin_restarts_the_engine_and_a_user_may_not(app_factory: AppFactory) -> None:
    with running_fake_engine("think_field", free_port()) as fake:
        server = app_factory({"ENGINE_BASE_URL": fake.base_url})
        refused = http.post(f"{server.url}/api/engine/restart", headers=server.auth())
        assert refused.status_code == 403
        admin = server.auth("admin", "admin123")
        response = http.post(f"{server.url}/api/engine/restart", headers=admin)
        assert response.status_code == 202
        assert response.json() == {"status": "restarting", "profile": "smollm2-135m-cpu"}
        eventually(lambda: fake.warmups == 2 and engine_state(server.url)["state"] == "ready")
        events = http.get(f"{server.url}/api/engine", headers=admin).json()["events"]
        assert [e["message"] for e in events][-2:] == ["starting smollm2-135m-cpu",
                                                        "smollm2-135m-cpu is ready"]
