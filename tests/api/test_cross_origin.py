"""One CORS policy for the whole app, Gradio's routes included: an unlisted origin (another port
of the same host, `null`, another name) gets no Access-Control-Allow-Origin anywhere, a listed
one (CORS_ORIGINS) gets it on the REST API, and state-changing calls to the UI's functions from
another origin are refused. Gradio's own CORS handling reflected localhost origins with
credentials, which let a page on another port mint an API key through the Keys tab."""

from __future__ import annotations

import httpx
import pytest
from conftest import AppFactory, AppServer
from helpers import cookie, http

from api.cross_origin import same_origin

LISTED = "https://chat-tools.example"
ROUTES = ["/api/keys", "/api/chat", "/v1/chat/completions", "/gradio_api/queue/join",
          "/gradio_api/upload", "/login"]


@pytest.fixture(scope="module")
def server(app_server: AppServer) -> AppServer:
    return app_server


def other_origins(server: AppServer) -> list[str]:
    port = int(server.url.rsplit(":", 1)[1])
    return [f"http://127.0.0.1:{port + 1}", f"http://localhost:{port + 1}", "null",
            "https://attacker.example"]


def preflight(url: str, origin: str) -> httpx.Response:
    return http.options(url, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                       "Access-Control-Request-Headers": "content-type"})


def test_an_unlisted_origin_gets_no_cors_headers_anywhere(server: AppServer) -> None:
    for origin in other_origins(server):
        for path in ROUTES:
            answer = preflight(f"{server.url}{path}", origin)
            assert "access-control-allow-origin" not in answer.headers, (origin, path)
        simple = http.get(f"{server.url}/api/models", headers={"Origin": origin,
                                                                **server.auth()})
        assert "access-control-allow-origin" not in simple.headers, origin


def test_a_state_changing_call_to_the_ui_functions_from_another_origin_is_refused(
    server: AppServer,
) -> None:
    """The browser sends the session cookie to another port of the same host (same site)."""
    signed_in = cookie("vllm_chat_token", server.token())
    body = {"data": ["stolen key"], "fn_index": 0, "session_hash": "attack"}
    for origin in other_origins(server):
        refused = http.post(f"{server.url}/gradio_api/queue/join", json=body,
                            headers={"Origin": origin, **signed_in})
        assert refused.status_code == 403, origin
        assert refused.json()["error"]["code"] == "cross_origin"
        login = http.post(f"{server.url}/login", data={"username": "test", "password": "test"},
                          headers={"Origin": origin})
        assert login.status_code == 403, origin
    same = http.post(f"{server.url}/gradio_api/queue/join", json=body,
                     headers={"Origin": server.url, **signed_in})
    assert same.status_code != 403, "the page's own origin is not another origin"


def test_a_listed_origin_may_use_the_rest_api_but_not_the_ui_functions(
    app_factory: AppFactory,
) -> None:
    server = app_factory({"CORS_ORIGINS": f"{LISTED}, https://other.example"})
    answer = preflight(f"{server.url}/api/chat", LISTED)
    assert answer.headers.get("access-control-allow-origin") == LISTED
    models = http.get(f"{server.url}/api/models", headers={"Origin": LISTED, **server.auth()})
    assert models.headers.get("access-control-allow-origin") == LISTED
    keys = http.post(f"{server.url}/api/keys", json={"name": "from a listed tool"},
                     headers={"Origin": LISTED, **server.auth()})
    assert keys.status_code == 201
    join = http.post(f"{server.url}/gradio_api/queue/join",
                     json={"data": ["x"], "fn_index": 0, "session_hash": "s"},
                     headers={"Origin": LISTED, **cookie("vllm_chat_token", server.token())})
    assert join.status_code == 403
    assert "access-control-allow-origin" not in preflight(
        f"{server.url}/api/chat", "https://unlisted.example").headers


@pytest.mark.parametrize(("origin", "host", "same"), [
    ("http://127.0.0.1:9123", "127.0.0.1:9123", True),
    ("http://127.0.0.1:9124", "127.0.0.1:9123", False),  # another port of the same host
    ("https://chat.example", "chat.example", True),  # behind a TLS proxy the app sees http
    ("http://chat.example", "chat.example:80", True),
    ("http://[::1]:9123", "[::1]:9123", True),
    ("null", "127.0.0.1:9123", False),
    ("http://a.example", "b.example", False),
])
def test_same_origin_compares_host_and_port(origin: str, host: str, same: bool) -> None:
    assert same_origin(origin, host) is same
