"""The official openai SDK against /v1, with personal API keys and JWTs."""

from __future__ import annotations

import openai
import pytest
from conftest import AppServer
from helpers import eventually, http, usage_rows


def new_key(server: AppServer, headers: dict[str, str], name: str = "laptop") -> dict[str, object]:
    response = http.post(f"{server.url}/api/keys", headers=headers, json={"name": name})
    assert response.status_code == 201
    return dict(response.json())


def sdk(server: AppServer, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)


def test_the_openai_sdk_streams_with_a_personal_key(app_server: AppServer) -> None:
    headers = app_server.auth()
    created = new_key(app_server, headers)
    key = str(created["key"])
    assert key.startswith("vck_") and str(created["prefix"]) == key[:12]

    client = sdk(app_server, key)
    assert "smollm2-135m-instruct" in [m.id for m in client.models.list()]
    stream = client.chat.completions.create(
        model="smollm2-135m-instruct", stream=True, max_tokens=24,
        messages=[{"role": "user", "content": "Name a planet."}])
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert len([p for p in pieces if p]) >= 2 and "".join(pieces).strip()

    completion = client.chat.completions.create(
        model="smollm2", max_tokens=12, messages=[{"role": "user", "content": "Say yes."}])
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason in {"stop", "length"}

    rows = eventually(lambda: (r := usage_rows(app_server.url, headers)) and len(r) >= 2 and r)
    assert {row["status"] for row in rows[:2]} == {"completed"}
    listed = http.get(f"{app_server.url}/api/conversations", headers=headers).json()
    assert all(c["title"] != "Say yes." for c in listed["conversations"]), \
        "API calls stay out of the chat sidebar"


def test_a_jwt_also_works_on_v1(app_server: AppServer) -> None:
    completion = sdk(app_server, app_server.token()).chat.completions.create(
        model="smollm2-135m-instruct", max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
    assert completion.choices[0].message.content is not None


@pytest.mark.parametrize("key", ["vck_not-a-real-key", "not-even-a-jwt"])
def test_a_bad_key_is_refused(app_server: AppServer, key: str) -> None:
    with pytest.raises(openai.AuthenticationError):
        sdk(app_server, key).models.list()


def test_a_revoked_key_stops_working_and_others_keys_are_not_yours(app_server: AppServer) -> None:
    headers = app_server.auth()
    created = new_key(app_server, headers, "to revoke")
    key, key_id = str(created["key"]), created["id"]
    assert len(sdk(app_server, key).models.list().data) >= 1
    admin = app_server.auth("admin", "admin123")
    assert http.delete(f"{app_server.url}/api/keys/{key_id}", headers=admin).status_code == 404
    assert http.delete(f"{app_server.url}/api/keys/{key_id}", headers=headers).status_code == 204
    with pytest.raises(openai.AuthenticationError):
        sdk(app_server, key).models.list()
    keys = http.get(f"{app_server.url}/api/keys", headers=headers).json()["keys"]
    listed = next(k for k in keys if k["id"] == key_id)
    assert listed["revoked_at"] is not None and "key" not in listed and "key_hash" not in listed


def test_bad_input_on_v1_is_an_openai_style_error(app_server: AppServer) -> None:
    client = sdk(app_server, app_server.token())
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    assert info.value.code == "model_not_found"


def test_v1_reports_usage_streamed_on_request_and_always_without_streaming(
    app_server: AppServer,
) -> None:
    headers = app_server.auth()
    client = sdk(app_server, app_server.token())
    chunks = list(client.chat.completions.create(
        model="smollm2", stream=True, max_tokens=12, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Count to three."}]))
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert all(c.usage is None for c in chunks[:-1])
    streamed_id = last.id.removeprefix("chatcmpl-")

    completion = client.chat.completions.create(
        model="smollm2", max_tokens=12, messages=[{"role": "user", "content": "Say yes."}])
    assert completion.usage is not None
    plain_id = completion.id.removeprefix("chatcmpl-")

    rows = {r["request_id"]: r for r in eventually(lambda: usage_rows(app_server.url, headers))}
    for usage, request_id in [(last.usage, streamed_id), (completion.usage, plain_id)]:
        row = rows[request_id]
        assert usage.prompt_tokens == row["input_tokens"] > 0
        assert usage.completion_tokens == row["output_tokens"] > 0
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
