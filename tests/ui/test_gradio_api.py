"""The Gradio API (`/chat`) through gradio_client, against the real app and engine."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import AppFactory, AppServer, free_port
from doubles.fake_engine import running_fake_engine
from helpers import broken_profiles_dir, gradio_client, http, stored_conversation, usage_rows

from auth.web import TOKEN_COOKIE
from services import ServicesHolder
from settings import Settings
from ui.app import build_blocks


def bearer(token: str | None, language: str | None = None) -> dict[str, str] | None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if language:
        headers["Accept-Language"] = language
    return headers or None


def test_gradio_chat_streams_the_growing_answer_with_its_conversation(
        app_server: AppServer) -> None:
    client = gradio_client(app_server.url, bearer(app_server.token()))
    job = client.submit("Name three colors.", None, None, 0.0, 40, api_name="/chat")
    updates = [update for update in job if update[0]]
    answer, conv_id = job.result()
    texts = [text for text, _ in updates]
    assert len(set(texts)) >= 2, "the answer arrives in pieces"
    assert all(b.startswith(a) for a, b in pairwise(texts))
    assert answer == texts[-1] and answer.strip()
    assert {update_id for _, update_id in updates} == {conv_id}

    headers = app_server.auth()
    stored = stored_conversation(app_server.url, headers, str(conv_id), 2)
    assert stored["messages"][0]["content"] == "Name three colors."
    assert stored["messages"][1]["content"] == answer


def test_gradio_chat_continues_a_conversation_with_its_system_prompt(app_server: AppServer) -> None:
    client = gradio_client(app_server.url, bearer(app_server.token()))
    _, conv_id = client.predict("Hello there", None, "Answer in one sentence.", 0.2, 20,
                                api_name="/chat")
    headers = app_server.auth()
    stored_conversation(app_server.url, headers, conv_id, 2)
    _, again = client.predict("And again", conv_id, None, 0.2, 20, api_name="/chat")
    assert again == conv_id
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
        for n, (_, conv_id) in enumerate(job):  # noqa: B007 (the id is the one used below)
            if n >= 3:
                break
        listed = client.predict(api_name="/conversations")
        assert [(c["id"], c["running"]) for c in listed] == [(conv_id, True)]
        job.cancel()
        assert engine.disconnected.wait(10), "cancelling the job did not close the engine stream"
        headers = server.auth()
        stored = stored_conversation(server.url, headers, conv_id, 2)
        assert stored["messages"][1]["status"] == "cancelled"
        assert usage_rows(server.url, headers)[0]["status"] == "cancelled"
        assert client.predict(api_name="/conversations")[0]["running"] is False


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


ENDPOINTS = {"/chat", "/conversations", "/conversation", "/models", "/usage_summary",
             "/engine_status", "/switch_profile"}


def test_the_api_page_lists_exactly_the_endpoints_with_descriptions(app_server: AppServer) -> None:
    info = http.get(f"{app_server.url}/gradio_api/info", headers=app_server.auth()).json()
    assert set(info["named_endpoints"]) == ENDPOINTS and not info["unnamed_endpoints"]
    for name, endpoint in info["named_endpoints"].items():
        assert len(endpoint["description"]) > 80, name  # what "Use via API" shows
        for parameter in endpoint["parameters"]:  # shown under each argument
            assert parameter["label"] == parameter["parameter_name"], name
            assert parameter["python_type"]["description"], (name, parameter["parameter_name"])
        assert all(result["python_type"]["description"] for result in endpoint["returns"]), name
    chat = info["named_endpoints"]["/chat"]
    assert [p["parameter_name"] for p in chat["parameters"]] == [
        "message", "conversation_id", "system_prompt", "temperature", "max_tokens", "model"]
    assert [(r["label"], r["python_type"]["type"]) for r in chat["returns"]] == [
        ("answer", "str"), ("conversation_id", "int")]
    assert "Admins only" in info["named_endpoints"]["/switch_profile"]["description"]


def test_conversations_and_a_conversation_are_what_rest_gives(app_server: AppServer) -> None:
    token = app_server.token()
    client = gradio_client(app_server.url, bearer(token))
    answer, conv_id = client.predict("Name a river in Korea.", None, "Be brief.", 0.0, 12,
                                     api_name="/chat")
    headers = bearer(token) or {}
    stored = stored_conversation(app_server.url, headers, conv_id, 2)
    listed = client.predict(None, 500, api_name="/conversations")
    assert listed == http.get(f"{app_server.url}/api/conversations", params={"limit": 500},
                              headers=headers).json()["conversations"]
    mine = next(c for c in listed if c["id"] == conv_id)
    assert mine["running"] is False and mine["updated_at"] and mine["message_count"] == 2
    found = client.predict("river in Korea", 50, api_name="/conversations")
    assert conv_id in [c["id"] for c in found]
    assert client.predict("no conversation says this", 50, api_name="/conversations") == []

    conversation = client.predict(conv_id, api_name="/conversation")
    assert conversation == http.get(f"{app_server.url}/api/conversations/{conv_id}",
                                    headers=headers).json() == stored
    assert conversation["system_prompt"] == "Be brief."
    assert [(m["role"], m["status"]) for m in conversation["messages"]] == [
        ("user", "completed"), ("assistant", "completed")]
    assert conversation["messages"][1]["content"] == answer


@pytest.mark.parametrize(("args", "message"), [
    ((999999,), "Conversation 999999 not found"), (("abc",), "conversation_id must be a whole"),
    ((None,), "conversation_id must be a whole")])
def test_opening_a_conversation_that_is_not_yours_or_not_a_number_is_refused(
        app_server: AppServer, args: tuple[object], message: str) -> None:
    client = gradio_client(app_server.url, bearer(app_server.token()))
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name="/conversation")


def test_another_users_conversation_is_not_found_over_gradio(app_server: AppServer) -> None:
    admin = gradio_client(app_server.url, bearer(app_server.token("admin", "admin123")))
    _, conv_id = admin.predict("Hi", None, None, 0.0, 4, api_name="/chat")
    user = gradio_client(app_server.url, bearer(app_server.token()))
    with pytest.raises(Exception, match=f"Conversation {conv_id} not found"):
        user.predict(conv_id, api_name="/conversation")
    assert conv_id not in [c["id"] for c in user.predict(None, 500, api_name="/conversations")]


def test_models_over_gradio_are_get_api_models(app_server: AppServer) -> None:
    client = gradio_client(app_server.url, bearer(app_server.token()))
    models = client.predict(api_name="/models")
    assert models == http.get(f"{app_server.url}/api/models", headers=app_server.auth()).json()
    assert models["models"][0]["state"] == "active"


def test_chat_with_an_inactive_model_over_gradio_names_the_profile_in_korean(
        app_server: AppServer) -> None:
    client = gradio_client(app_server.url, bearer(app_server.token(), "ko-KR,ko;q=0.9"))
    with pytest.raises(Exception, match=r"deepseek-r1-distill-qwen-14b 프로필.*관리자"):
        client.predict("hi", None, None, None, None, "r1-14b", api_name="/chat")


def test_engine_status_tells_users_the_state_and_admins_more(app_server: AppServer) -> None:
    user = gradio_client(app_server.url, bearer(app_server.token())).predict(
        api_name="/engine_status")
    assert (user["state"], user["profile"], user["model"], user["fits"]) == (
        "ready", "smollm2-135m-cpu", "smollm2-135m-instruct", True)
    assert user["fit"] and isinstance(user["events"], list)
    assert "last_error" not in user and "in_flight" not in user
    admin = gradio_client(app_server.url, bearer(app_server.token("admin", "admin123"))).predict(
        api_name="/engine_status")
    assert {"last_error", "restarts", "in_flight", "replicas"} <= set(admin)
    assert admin["state"] == "ready"


def test_a_user_calling_switch_profile_is_refused(app_server: AppServer) -> None:
    client = gradio_client(app_server.url, bearer(app_server.token()))
    with pytest.raises(Exception, match="This needs an admin account"):
        client.predict("smollm2-135m-cpu-precise", api_name="/switch_profile")
    status = client.predict(api_name="/engine_status")
    assert (status["state"], status["profile"]) == ("ready", "smollm2-135m-cpu")


def test_switch_profile_refuses_what_cannot_start(app_server: AppServer) -> None:
    admin = gradio_client(app_server.url, bearer(app_server.token("admin", "admin123")))
    with pytest.raises(Exception, match="Unknown profile 'nope'"):
        admin.predict("nope", api_name="/switch_profile")
    with pytest.raises(Exception, match="no GPU here"):
        admin.predict("deepseek-r1-distill-qwen-14b", True, api_name="/switch_profile")


def test_an_admin_switch_streams_its_progress_until_the_new_profile_answers(
        app_factory: AppFactory) -> None:
    server = app_factory(own_engine=True)
    admin = gradio_client(server.url, bearer(server.token("admin", "admin123")))
    updates = list(admin.submit("smollm2-135m-cpu-precise", api_name="/switch_profile"))
    last = updates[-1]
    assert (last["done"], last["outcome"], last["error"]) == (True, "switched", None)
    assert (last["state"], last["active_profile"]) == ("ready", "smollm2-135m-cpu-precise")
    assert not any(update["done"] for update in updates[:-1])
    messages = [event["message"] for event in last["events"]]
    assert messages[0].startswith("switching to smollm2-135m-cpu-precise")
    assert messages[-1] == "smollm2-135m-cpu-precise is ready"
    models = admin.predict(api_name="/models")["models"]
    assert (models[0]["profile"], models[0]["state"]) == ("smollm2-135m-cpu-precise", "active")
    answer, _ = admin.predict("Say hello.", None, None, 0.0, 8, "smollm2-precise", api_name="/chat")
    assert answer.strip()
    with pytest.raises(Exception, match="which is not active"):
        admin.predict("Say hello.", None, None, 0.0, 8, "smollm2", api_name="/chat")


def test_a_failed_switch_streams_until_the_old_profile_is_back(app_factory: AppFactory,
                                                               tmp_path: Path) -> None:
    server = app_factory({"PROFILES_DIR": str(broken_profiles_dir(tmp_path))}, own_engine=True)
    admin = gradio_client(server.url, bearer(server.token("admin", "admin123")))
    last = list(admin.submit("broken-cpu", api_name="/switch_profile"))[-1]
    assert (last["done"], last["outcome"], last["active_profile"]) == (
        True, "rolled_back", "smollm2-135m-cpu")
    assert "engine exited with code 1" in last["error"]
    assert last["events"][-1]["message"] == "rolled back: smollm2-135m-cpu is ready"


def test_the_endpoints_take_the_pages_cookie_too(app_server: AppServer) -> None:
    """The page's own session: a script run beside a signed-in browser may reuse its cookie."""
    client = gradio_client(app_server.url, {"Cookie": f"{TOKEN_COOKIE}={app_server.token()}"})
    assert client.predict(api_name="/models")["models"][0]["state"] == "active"
    answer, conv_id = client.predict("Hi", None, None, 0.0, 4, api_name="/chat")
    assert client.predict(conv_id, api_name="/conversation")["messages"][-1]["content"] == answer


@pytest.mark.parametrize(("args", "message"), [
    ((None, 0), "limit must be between 1 and 500"), ((None, 501), "limit must be between 1"),
    ((None, "ten"), "limit must be a whole number"), (("x" * 201, 10), "at most 200 characters")])
def test_a_conversation_list_out_of_bounds_is_refused(app_server: AppServer,
                                                      args: tuple[object, object],
                                                      message: str) -> None:
    client = gradio_client(app_server.url, bearer(app_server.token()))
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name="/conversations")


def call_over_http(server: AppServer, name: str, body: dict[str, object],
                   headers: dict[str, str]) -> tuple[str, object]:
    """Gradio's plain HTTP route, as "Use via API" shows it for cURL: POST the arguments, then
    read the event's stream; (last event, its data)."""
    posted = http.post(f"{server.url}/gradio_api/call/v2/{name}", json=body, headers=headers)
    assert posted.status_code == 200, posted.text
    event_id = posted.json()["event_id"]
    event, data = "", None
    with http.stream("GET", f"{server.url}/gradio_api/call/{name}/{event_id}", headers=headers,
                     timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
    return event, data


def test_the_http_route_of_the_api_page_checks_the_caller_too(app_server: AppServer) -> None:
    for name in ("models", "switch_profile"):
        refused = http.post(f"{app_server.url}/gradio_api/call/v2/{name}", json={})
        assert refused.status_code == 401, name
    user = app_server.auth()
    event, data = call_over_http(app_server, "models", {}, user)
    assert event == "complete" and data == [http.get(f"{app_server.url}/api/models",
                                                     headers=user).json()]
    event, data = call_over_http(app_server, "switch_profile",
                                 {"profile": "smollm2-135m-cpu-precise"}, user)
    assert event == "error" and "This needs an admin account" in json.dumps(data)
    status = http.get(f"{app_server.url}/api/engine", headers=app_server.auth("admin", "admin123"))
    assert status.json()["profile"] == "smollm2-135m-cpu"


def test_the_endpoints_take_a_personal_api_key(app_server: AppServer) -> None:
    key = http.post(f"{app_server.url}/api/keys", headers=app_server.auth(),
                    json={"name": "notebook"}).json()["key"]
    client = gradio_client(app_server.url, bearer(key))
    assert client.predict(api_name="/models")["models"][0]["state"] == "active"
