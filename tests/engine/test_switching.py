"""Switching profiles from the web, rollback, crash recovery: the real app managing its own
real engine, as `./start` runs it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from conftest import AppFactory, AppServer
from helpers import (
    after,
    broken_profiles_dir,
    chat_then,
    content_of,
    eventually,
    gradio_client,
    http,
    sse_events,
    stored_conversation,
    stream_chat,
    usage_rows,
)

CPU_PROFILE = "smollm2-135m-cpu"
PRECISE_PROFILE = "smollm2-135m-cpu-precise"


def engine_status(server: AppServer, headers: dict[str, str]) -> dict[str, Any]:
    response = http.get(f"{server.url}/api/engine", headers=headers)
    response.raise_for_status()
    return dict(response.json())


def ask(server: AppServer, headers: dict[str, str], text: str = "Say hello.") -> str:
    response, events = stream_chat(server.url, headers, {
        "messages": [{"role": "user", "content": text}], "max_tokens": 16})
    assert response.status_code == 200, response.text
    assert events[-1] == "[DONE]" and not any("error" in e for e in events if isinstance(e, dict))
    return content_of(events)


def wait_for_switch(server: AppServer, admin: dict[str, str], marker: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        status = engine_status(server, admin)
        messages = [e["message"] for e in status["events"]]
        return status if any(marker in m for m in messages) and status["state"] == "ready" else None
    return eventually(done, timeout=90, interval=0.5)


def test_switch_between_cpu_profiles_keeps_answering(app_factory: AppFactory) -> None:
    server = app_factory(own_engine=True)
    admin = server.auth("admin", "admin123")
    assert ask(server, admin).strip()

    response = http.post(f"{server.url}/api/engine/switch", headers=admin,
                         json={"profile": PRECISE_PROFILE})
    assert response.status_code == 202
    status = wait_for_switch(server, admin, f"{PRECISE_PROFILE} is ready")
    assert status["profile"] == PRECISE_PROFILE
    models = http.get(f"{server.url}/api/models", headers=admin).json()["models"]
    assert models[0]["id"] == "smollm2-135m-precise"
    assert "smollm2-precise" in models[0]["aliases"]
    assert ask(server, admin).strip()
    assert (server.data_dir / "active_profile").read_text() == PRECISE_PROFILE
    messages = [e["message"] for e in status["events"]]
    assert any("stopping smollm2-135m-cpu" in m for m in messages)


def test_switch_to_a_broken_profile_rolls_back(app_factory: AppFactory, tmp_path: Path) -> None:
    server = app_factory({"PROFILES_DIR": str(broken_profiles_dir(tmp_path))}, own_engine=True)
    admin = server.auth("admin", "admin123")
    response = http.post(f"{server.url}/api/engine/switch", headers=admin,
                         json={"profile": "broken-cpu"})
    assert response.status_code == 202
    status = wait_for_switch(server, admin, f"rolled back: {CPU_PROFILE} is ready")
    assert status["profile"] == CPU_PROFILE
    assert "switch to broken-cpu failed: the engine exited with code 1 while starting" in status[
        "last_error"]
    assert ask(server, admin).strip(), "the old profile keeps answering"
    assert not (server.data_dir / "active_profile").exists()


def test_switch_requests_that_cannot_start_are_refused(app_factory: AppFactory) -> None:
    server = app_factory()
    admin = server.auth("admin", "admin123")
    unknown = http.post(f"{server.url}/api/engine/switch", headers=admin, json={"profile": "nope"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "profile_not_found")
    gpu = http.post(f"{server.url}/api/engine/switch", headers=admin,
                    json={"profile": "deepseek-r1-distill-qwen-14b", "override_fit": True})
    assert (gpu.status_code, gpu.json()["error"]["code"]) == (400, "does_not_fit")
    assert "no GPU" in gpu.json()["error"]["message"]
    profiles = http.get(f"{server.url}/api/profiles", headers=admin).json()["profiles"]
    by_id = {p["id"]: p for p in profiles}
    assert by_id[CPU_PROFILE]["active"] and by_id[CPU_PROFILE]["fits"]
    assert not by_id["deepseek-r1-distill-qwen-14b"]["fits"]


def test_a_non_admin_cannot_switch_by_rest_or_gradio(app_factory: AppFactory) -> None:
    server = app_factory()
    user = server.auth()
    response = http.post(f"{server.url}/api/engine/switch", headers=user,
                         json={"profile": PRECISE_PROFILE})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "admin_only")
    assert http.get(f"{server.url}/api/engine", headers=user).status_code == 403

    # The Gradio switch event is private, but a direct queue call still reaches the server:
    # it must refuse the caller, not rely on the hidden tab.
    config = http.get(f"{server.url}/config", headers=user).json()
    fn_index = next(i for i, d in enumerate(config["dependencies"]) if d["api_name"] == "switch")
    join = http.post(f"{server.url}/gradio_api/queue/join", headers=user, json={
        "data": [PRECISE_PROFILE, False], "fn_index": fn_index, "session_hash": "nonadmin",
        "event_data": None, "trigger_id": None})
    assert join.status_code == 200
    messages = []
    with http.stream("GET", f"{server.url}/gradio_api/queue/data?session_hash=nonadmin",
                     headers=user, timeout=30) as stream:
        for message in sse_events(stream):
            messages.append(message)
            if message.get("msg") == "process_completed":
                break
    refusals = [m["log"] for m in messages if m.get("msg") == "log" and m["level"] == "warning"]
    assert refusals == ["This needs an admin account"], messages  # the page's toast
    admin = server.auth("admin", "admin123")
    time.sleep(1)
    assert engine_status(server, admin)["profile"] == CPU_PROFILE


def test_engine_killed_mid_answer_is_restarted(app_factory: AppFactory) -> None:
    server = app_factory({"ENGINE_RESTART_BACKOFF_S": "0.2"}, own_engine=True)
    user, admin = server.auth(), server.auth("admin", "admin123")
    engine_pid = server.engine_pid()
    assert engine_pid is not None
    body = {"messages": [{"role": "user", "content": "Write a long story about the sea."}],
            "max_tokens": 1000}
    answer = chat_then(server.url, user, body, after(6), lambda: os.kill(engine_pid, signal.SIGKILL))
    conv_id = answer.conv_id
    assert answer.errors and "stopped answering" in answer.errors[0]["message"]
    partial = answer.content
    assert partial

    stored = stored_conversation(server.url, user, conv_id, 2)
    assert (stored["messages"][1]["status"], stored["messages"][1]["content"]) == ("failed", partial)
    assert usage_rows(server.url, user)[0]["status"] == "failed"

    status = eventually(lambda: (s := engine_status(server, admin))["state"] == "ready" and s,
                        timeout=60, interval=0.5)
    assert status["restarts"] == 1
    assert "the engine crashed (SIGKILL) while serving" in [e["message"] for e in status["events"]]
    assert server.engine_pid() not in (None, engine_pid)
    assert http.get(f"{server.url}/health").json()["status"] == "healthy"
    assert ask(server, user).strip(), "the next chat after recovery works"


def test_a_switch_cuts_off_answers_after_the_grace_period_and_holds_new_chats(
    app_factory: AppFactory,
) -> None:
    server = app_factory({"DRAIN_GRACE_S": "2"}, own_engine=True)
    user, admin = server.auth(), server.auth("admin", "admin123")
    body = {"messages": [{"role": "user", "content": "Write a very long story."}], "max_tokens": 1500}
    started: list[Any] = []

    def switch_and_ask() -> None:
        switch = http.post(f"{server.url}/api/engine/switch", headers=admin,
                           json={"profile": PRECISE_PROFILE})
        assert switch.status_code == 202
        started.append(gradio_client(server.url, user).submit("Hello", None, None, 0.0, 16,
                                                             api_name="/chat"))

    answer = chat_then(server.url, user, body, after(3), switch_and_ask)
    conv_id, waiting = answer.conv_id, started[0]
    assert answer.errors and "being switched" in answer.errors[0]["message"]
    stored = stored_conversation(server.url, user, conv_id, 2)
    assert stored["messages"][1]["status"] == "failed"

    outputs = [text for text, _ in waiting]
    assert outputs[0].startswith("⏳ The model is being switched")
    assert outputs[-1].strip() and not outputs[-1].startswith("⏳")
    assert engine_status(server, admin)["profile"] == PRECISE_PROFILE
