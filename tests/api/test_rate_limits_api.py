"""429 with Retry-After past the limits, over REST, /v1, the login page and the Gradio API;
a refused request stores nothing."""

from __future__ import annotations

import openai
import pytest
from conftest import AppFactory, AppServer
from helpers import gradio_client, http


@pytest.fixture
def limited(app_factory: AppFactory) -> AppServer:
    return app_factory({"CHAT_RATE_LIMIT": "2/minute", "LOGIN_RATE_LIMIT": "2/minute"})


def conversation_count(server: AppServer, headers: dict[str, str]) -> int:
    listed = http.get(f"{server.url}/api/conversations", headers=headers).json()
    return len(listed["conversations"])


def test_answers_past_the_limit_are_429_on_every_entry_point(limited: AppServer) -> None:
    headers = limited.auth()
    body = {"messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 4, "stream": False}
    for _ in range(2):
        assert http.post(f"{limited.url}/api/chat", headers=headers, json=body,
                         timeout=60).status_code == 200
    stored = conversation_count(limited, headers)

    refused = http.post(f"{limited.url}/api/chat", headers=headers, json=body, timeout=60)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    with pytest.raises(openai.RateLimitError):
        openai.OpenAI(base_url=f"{limited.url}/v1", api_key=limited.token(),
                      max_retries=0).chat.completions.create(
            model="smollm2", max_tokens=4, messages=[{"role": "user", "content": "Hi"}])
    client = gradio_client(limited.url, headers)
    with pytest.raises(Exception, match=r"(?i)too many"):
        client.predict("Hi", api_name="/chat")
    assert conversation_count(limited, headers) == stored, "a refused request stores nothing"

    admin = limited.auth("admin", "admin123")
    assert http.post(f"{limited.url}/api/chat", headers=admin, json=body,
                     timeout=60).status_code == 200, "each user has their own count"


def test_failed_sign_ins_past_the_limit_are_refused_even_with_the_right_password(
    limited: AppServer,
) -> None:
    wrong = {"username": "test", "password": "nope"}
    for _ in range(2):
        assert http.post(f"{limited.url}/api/auth/login", json=wrong).status_code == 401
    refused = http.post(f"{limited.url}/api/auth/login",
                        json={"username": "test", "password": "test"})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    page = http.post(f"{limited.url}/login", data={"username": "test", "password": "test"},
                     headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert page.status_code == 429 and "로그인 실패가 너무 많습니다" in page.text
    assert "retry-after" in page.headers
    assert http.post(f"{limited.url}/api/auth/login", json={
        "username": "admin", "password": "admin123"}).status_code == 200


def test_rotating_x_forwarded_for_does_not_dodge_the_sign_in_limit(limited: AppServer) -> None:
    """Forwarded headers count only from configured proxies (FORWARDED_ALLOW_IPS, none by
    default): a client on loopback cannot pose as a new address for every guess."""
    wrong = {"username": "xff-target", "password": "nope"}
    codes = [http.post(f"{limited.url}/api/auth/login", json=wrong,
                       headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
             for n in range(1, 4)]
    assert codes == [401, 401, 429]


def test_a_configured_proxy_passes_on_the_client_address(app_factory: AppFactory) -> None:
    proxied = app_factory({"LOGIN_RATE_LIMIT": "2/minute", "FORWARDED_ALLOW_IPS": "127.0.0.1"})
    wrong = {"username": "test", "password": "nope"}
    codes = [http.post(f"{proxied.url}/api/auth/login", json=wrong,
                       headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
             for n in range(1, 4)]
    assert codes == [401, 401, 401], "each real client has its own count behind the proxy"
