"""Accounts over HTTP: admins manage users, users change their password, and sessions end at
once when they should (sign-out, disable, password change), for Bearer tokens, cookies and keys.

The engine is a fake OpenAI-compatible server (a test double): these tests are about accounts,
and a fresh app per test must start fast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import AppServer, SharedEngine, free_port, start_app
from doubles.fake_engine import running_fake_engine
from helpers import cookie as cookie_header
from helpers import http

STRONG = "correct-horse-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path,
           shared_engine: SharedEngine) -> Iterator[AppServer]:
    # Short answers that end (think_tags): the content of answers does not matter here.
    with running_fake_engine("think_tags", free_port()) as engine:
        app = start_app(tmp_path_factory.mktemp("users"), model_dir, shared_engine,
                           {"ENGINE_BASE_URL": engine.base_url, "BCRYPT_ROUNDS": "4"})
        yield app
        app.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_user(server: AppServer, username: str, role: str = "user") -> int:
    response = http.post(f"{server.url}/api/admin/users", headers=server.auth("admin", "admin123"),
                         json={"username": username, "password": STRONG, "role": role})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["username"] == username and body["role"] == role and body["disabled"] is False
    return int(body["id"])


def verify(server: AppServer, headers: dict[str, str]) -> httpx.Response:
    return http.get(f"{server.url}/api/auth/verify", headers=headers)


def test_admin_adds_a_colleague_who_signs_in_and_is_listed(server: AppServer) -> None:
    user_id = new_user(server, "colleague")
    assert verify(server, server.auth("colleague", STRONG)).json()["role"] == "user"
    listed = http.get(f"{server.url}/api/admin/users",
                      headers=server.auth("admin", "admin123")).json()["users"]
    row = next(u for u in listed if u["id"] == user_id)
    assert row["username"] == "colleague" and row["disabled"] is False
    assert "password_hash" not in row


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/admin/users"), ("POST", "/api/admin/users"),
    ("PATCH", "/api/admin/users/1"), ("DELETE", "/api/admin/users/1")])
def test_a_user_who_is_not_an_admin_cannot_manage_accounts(server: AppServer, method: str,
                                                          path: str) -> None:
    body = {"username": "x", "password": STRONG} if method == "POST" else {"disabled": True}
    response = http.request(method, f"{server.url}{path}", headers=server.auth(),
                            json=None if method in ("GET", "DELETE") else body)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "admin_only"


def test_short_passwords_are_refused_everywhere(server: AppServer) -> None:
    admin = server.auth("admin", "admin123")
    created = http.post(f"{server.url}/api/admin/users", headers=admin,
                        json={"username": "shorty", "password": "seven77"})
    assert created.status_code == 400
    assert created.json()["error"]["code"] == "password_too_short"
    user_id = new_user(server, "shorty")
    reset = http.patch(f"{server.url}/api/admin/users/{user_id}", headers=admin,
                       json={"password": "seven77"})
    assert reset.status_code == 400
    own = http.put(f"{server.url}/api/me/password", headers=server.auth("shorty", STRONG),
                   json={"current_password": STRONG, "new_password": "seven77"})
    assert own.status_code == 400 and own.json()["error"]["code"] == "password_too_short"


def test_a_signed_out_token_stops_working_at_once(server: AppServer) -> None:
    kept = server.token()
    signed_out = server.token()
    response = http.post(f"{server.url}/api/auth/logout", headers=bearer(signed_out))
    assert response.status_code == 204
    refused = verify(server, bearer(signed_out))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "session_ended"
    assert verify(server, bearer(kept)).status_code == 200


def test_the_pages_sign_out_ends_the_cookies_session(server: AppServer) -> None:
    with httpx.Client(base_url=server.url) as browser:
        browser.post("/login", data={"username": "test", "password": "test"})
        cookie = browser.cookies["vllm_chat_token"]
        assert browser.get("/").status_code == 200
        browser.get("/logout")
    assert verify(server, bearer(cookie)).status_code == 401
    replayed = http.get(f"{server.url}/", headers=cookie_header("vllm_chat_token", cookie))
    assert replayed.status_code == 303 and replayed.headers["location"].startswith("/login")


def _signed_in_every_way(server: AppServer, username: str) -> list[dict[str, str]]:
    token = server.token(username, STRONG)
    key = http.post(f"{server.url}/api/keys", headers=bearer(token), json={"name": "k"})
    with httpx.Client(base_url=server.url) as browser:
        browser.post("/login", data={"username": username, "password": STRONG})
        cookie = browser.cookies["vllm_chat_token"]
    return [bearer(token), bearer(key.json()["key"]), {"Cookie": f"vllm_chat_token={cookie}"}]


def test_disabling_a_user_ends_tokens_cookies_and_keys_at_once(server: AppServer) -> None:
    user_id = new_user(server, "leaver")
    credentials = _signed_in_every_way(server, "leaver")
    assert all(verify(server, c).status_code == 200 for c in credentials)
    admin = server.auth("admin", "admin123")
    changed = http.patch(f"{server.url}/api/admin/users/{user_id}", headers=admin,
                         json={"disabled": True})
    assert changed.status_code == 200 and changed.json()["disabled"] is True
    assert [verify(server, c).status_code for c in credentials] == [401, 401, 401]
    sign_in = http.post(f"{server.url}/api/auth/login",
                        json={"username": "leaver", "password": STRONG})
    assert sign_in.status_code == 401
    assert sign_in.json()["error"]["code"] == "account_disabled"


def test_a_password_reset_ends_every_session_and_key(server: AppServer) -> None:
    user_id = new_user(server, "forgetful")
    credentials = _signed_in_every_way(server, "forgetful")
    reset = http.patch(f"{server.url}/api/admin/users/{user_id}",
                       headers=server.auth("admin", "admin123"), json={"password": "fresh-pass-2"})
    assert reset.status_code == 200
    assert [verify(server, c).status_code for c in credentials] == [401, 401, 401]
    assert verify(server, server.auth("forgetful", "fresh-pass-2")).status_code == 200


def test_changing_ones_own_password_keeps_only_the_session_that_asked(server: AppServer) -> None:
    new_user(server, "careful")
    credentials = _signed_in_every_way(server, "careful")
    wrong = http.put(f"{server.url}/api/me/password", headers=credentials[0],
                     json={"current_password": "nope-nope", "new_password": "fresh-pass-2"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
    changed = http.put(f"{server.url}/api/me/password", headers=credentials[0],
                       json={"current_password": STRONG, "new_password": "fresh-pass-2"})
    assert changed.status_code == 200
    assert [verify(server, c).status_code for c in credentials] == [401, 401, 401]
    assert verify(server, bearer(changed.json()["access_token"])).status_code == 200


def test_deleting_a_user_takes_their_conversations_and_keeps_usage(server: AppServer) -> None:
    user_id = new_user(server, "gone")
    headers = server.auth("gone", STRONG)
    answer = http.post(f"{server.url}/api/chat", headers=headers, timeout=60, json={
        "messages": [{"role": "user", "content": "Hi"}], "stream": False})
    conv_id = answer.headers["x-conversation-id"]
    admin = server.auth("admin", "admin123")
    assert http.delete(f"{server.url}/api/admin/users/{user_id}",
                       headers=admin).status_code == 204
    assert verify(server, headers).status_code == 401
    assert http.get(f"{server.url}/api/conversations/{conv_id}",
                    headers=admin).status_code == 404
    usage = http.get(f"{server.url}/api/usage?all=true&limit=1000", headers=admin).json()
    assert any(row["user_id"] == user_id for row in usage["requests"])
    again = http.post(f"{server.url}/api/admin/users", headers=admin,
                      json={"username": "gone", "password": STRONG})
    assert again.status_code == 409 and again.json()["error"]["code"] == "username_taken"


def test_the_last_admin_cannot_be_disabled_demoted_or_deleted(server: AppServer) -> None:
    admin = server.auth("admin", "admin123")
    me = next(u for u in http.get(f"{server.url}/api/admin/users", headers=admin).json()["users"]
              if u["username"] == "admin")
    others = [u for u in http.get(f"{server.url}/api/admin/users", headers=admin).json()["users"]
              if u["role"] == "admin" and not u["disabled"] and u["id"] != me["id"]]
    assert not others, "this test needs admin to be the only admin"
    for method, body in (("PATCH", {"disabled": True}), ("PATCH", {"role": "user"}),
                         ("DELETE", None)):
        response = http.request(method, f"{server.url}/api/admin/users/{me['id']}",
                                headers=admin, json=body)
        assert response.status_code == 409, (method, body)
        assert response.json()["error"]["code"] == "last_admin"


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_the_api_reference_needs_a_signed_in_caller(server: AppServer, path: str) -> None:
    assert http.get(f"{server.url}{path}").status_code == 401
    assert http.get(f"{server.url}{path}", headers=server.auth()).status_code == 200


def test_gradios_monitoring_summary_is_closed(server: AppServer) -> None:
    for headers in (server.auth(), server.auth("admin", "admin123")):
        response = http.get(f"{server.url}/monitoring/summary", headers=headers)
        assert response.status_code == 403
        assert "fn_index" not in response.text and "chat" not in response.text
