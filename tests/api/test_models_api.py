"""GET /api/models lists every profile's model with its state; chat with a model that a profile
serves but that is not active is a conflict naming the profile, an unknown model a bad request."""

from __future__ import annotations

import pytest
from conftest import AppServer
from helpers import SHIPPED_PROFILES, http

from engine.profiles import load_profiles

R1 = "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"  # the plan's own chat example


def test_models_lists_every_profile_with_its_state(app_server: AppServer) -> None:
    response = http.get(f"{app_server.url}/api/models", headers=app_server.auth())
    assert response.status_code == 200
    models = response.json()["models"]
    shipped = load_profiles(SHIPPED_PROFILES)
    assert sorted(m["profile"] for m in models) == sorted(shipped)
    active = models[0]  # first, for clients that read the plan's one-entry list
    assert (active["id"], active["profile"], active["state"], active["engine_state"]) == (
        "smollm2-135m-instruct", "smollm2-135m-cpu", "active", "ready")
    assert active["name"] and active["engine"] == "llama.cpp" and active["max_model_len"] > 0
    assert "smollm2" in active["aliases"] and "smollm2-135m-cpu" in active["aliases"]
    by_profile = {m["profile"]: m for m in models}
    precise = by_profile["smollm2-135m-cpu-precise"]
    assert (precise["id"], precise["state"]) == ("smollm2-135m-precise", "available")
    assert "reason" not in precise and "engine_state" not in precise
    r1 = by_profile["deepseek-r1-distill-qwen-14b"]
    assert (r1["id"], r1["state"], r1["engine"]) == (R1, "does_not_fit", "vllm")
    assert r1["reason"].startswith("does not fit") and r1["max_model_len"] == shipped[
        "deepseek-r1-distill-qwen-14b"].max_model_len
    states = [m["state"] for m in models]
    assert states == sorted(states, key=["active", "available", "does_not_fit"].index)


@pytest.mark.parametrize(("model", "profile"), [(R1, "deepseek-r1-distill-qwen-14b"),
                                                ("smollm2-precise", "smollm2-135m-cpu-precise")])
def test_chat_with_an_inactive_profiles_model_is_a_conflict(app_server: AppServer, model: str,
                                                           profile: str) -> None:
    headers = app_server.auth()
    before = http.get(f"{app_server.url}/api/conversations", headers=headers).json()
    body = {"messages": [{"role": "user", "content": "hi"}], "model": model}
    for path in ("/api/chat", "/v1/chat/completions"):
        response = http.post(f"{app_server.url}{path}", headers=headers, json=body)
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "model_not_active"
        assert f"profile {profile!r}" in error["message"] and "admin can switch" in error["message"]
    assert http.get(f"{app_server.url}/api/conversations", headers=headers).json() == before


def test_chat_with_an_unknown_model_stays_model_not_found(app_server: AppServer) -> None:
    response = http.post(f"{app_server.url}/api/chat", headers=app_server.auth(), json={
        "messages": [{"role": "user", "content": "hi"}], "model": "gpt-9"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "model_not_found")


def test_chat_with_an_alias_of_the_active_profile_is_answered(app_server: AppServer) -> None:
    response = http.post(f"{app_server.url}/api/chat", headers=app_server.auth(), json={
        "messages": [{"role": "user", "content": "hi"}], "model": "smollm2", "max_tokens": 4,
        "stream": False})
    assert response.status_code == 200, response.text
