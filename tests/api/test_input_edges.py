"""Text that is not valid Unicode is refused at the edge with a 400, on every JSON entry point,
before anything is stored (it used to fail inside DuckDB with a 500)."""

from __future__ import annotations

import httpx
import pytest
from conftest import AppServer
from helpers import http, stored_conversation

LONE = '"x\\ud800y"'  # JSON text: a high surrogate with no low half after it
PAIR = '"smile \\ud83d\\ude00"'  # JSON text: an emoji written as a surrogate pair


def post_json(server: AppServer, path: str, body: str, headers: dict[str, str]) -> httpx.Response:
    return http.post(f"{server.url}{path}", content=body.encode(), timeout=60,
                     headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize(("path", "body"), [
    ("/api/chat", '{"messages": [{"role": "user", "content": TEXT}]}'),
    ("/v1/chat/completions",
     '{"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": TEXT}]}'),
    ("/api/presets", '{"name": TEXT}'),
    ("/api/keys", '{"name": TEXT}'),
    ("/api/conversations", '{"title": TEXT}'),
    ("/gradio_api/queue/join", '{"data": [TEXT], "fn_index": 0, "session_hash": "abc"}'),
])
def test_a_lone_surrogate_is_refused_with_a_400_and_nothing_is_stored(
    app_server: AppServer, path: str, body: str,
) -> None:
    headers = app_server.auth()
    before = http.get(f"{app_server.url}/api/conversations", headers=headers).json()
    response = post_json(app_server, path, body.replace("TEXT", LONE), headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_text"
    assert http.get(f"{app_server.url}/api/conversations", headers=headers).json() == before


def test_a_surrogate_pair_is_an_ordinary_character(app_server: AppServer) -> None:
    headers = app_server.auth()
    response = post_json(app_server, "/api/presets", '{"name": TEXT}'.replace("TEXT", PAIR), headers)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "smile \U0001F600"
    body = '{"messages": [{"role": "user", "content": TEXT}], "max_tokens": 4}'
    chat = post_json(app_server, "/api/chat", body.replace("TEXT", PAIR), headers)
    assert chat.status_code == 200
    stored = stored_conversation(app_server.url, headers, chat.headers["x-conversation-id"], 2)
    assert stored["messages"][0]["content"] == "smile \U0001F600"


def test_a_raw_surrogate_in_the_bytes_is_refused_too(app_server: AppServer) -> None:
    """Python's json decodes raw UTF-8-encoded surrogates (surrogatepass) into the same text."""
    response = http.post(f"{app_server.url}/api/presets", content=b'{"name": "x\xed\xa0\x80y"}',
                         headers={**app_server.auth(), "Content-Type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_text")


def test_gradio_uploads_are_bounded(app_server: AppServer) -> None:
    """No part of the UI takes files; Gradio's upload route accepted any size before."""
    url, headers = f"{app_server.url}/gradio_api/upload", app_server.auth()
    big = http.post(url, headers=headers, files={"files": ("big.bin", b"x" * 2_000_000)})
    assert big.status_code == 413
    small = http.post(url, headers=headers, files={"files": ("small.txt", b"hello")})
    assert small.status_code == 200
