"""Login, token checks and /health over HTTP, against the real app."""

from __future__ import annotations

import time

import jwt
import pytest
from conftest import AppFactory, AppServer, free_port
from doubles.fake_engine import running_fake_engine
from helpers import http


def test_health_needs_no_login_and_reports_services(app_server: AppServer) -> None:
    body = http.get(f"{app_server.url}/health").json()
    assert body["status"] == "healthy"
    assert body["service"] == "vLLM Chat Gateway"
    assert body["version"]
    assert body["services"]["engine"]["status"] == "up"
    assert body["services"]["engine"]["state"] == "ready"
    assert body["services"]["database"]["status"] == "up"


def test_login_issues_a_30_minute_bearer_token(app_server: AppServer) -> None:
    response = http.post(f"{app_server.url}/api/auth/login",
                         json={"username": "admin", "password": "admin123"})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "admin"
    assert claims["exp"] - claims["iat"] == 30 * 60
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"

    verify = http.get(f"{app_server.url}/api/auth/verify",
                      headers={"Authorization": f"Bearer {body['access_token']}"})
    assert verify.json() == {"username": "admin", "role": "admin", "exp": claims["exp"]}


@pytest.mark.parametrize(("username", "password"), [("admin", "wrong"), ("nobody", "admin123")])
def test_wrong_credentials_are_refused_alike(app_server: AppServer, username: str,
                                             password: str) -> None:
    response = http.post(f"{app_server.url}/api/auth/login",
                         json={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json()["error"] == {
        "message": "Wrong username or password", "type": "authentication_error",
        "code": "invalid_credentials", "param": None}


def test_login_without_fields_is_a_422(app_server: AppServer) -> None:
    response = http.post(f"{app_server.url}/api/auth/login", json={"username": "admin"})
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "password"


@pytest.mark.parametrize("path", ["/api/chat", "/api/models", "/api/conversations",
                                  "/api/conversations/1", "/api/usage", "/api/auth/verify"])
def test_protected_routes_need_a_token(app_server: AppServer, path: str) -> None:
    method = "POST" if path == "/api/chat" else "GET"
    response = http.request(method, f"{app_server.url}{path}", json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["type"] == "authentication_error"


def test_tampered_and_expired_tokens_are_refused(app_server: AppServer) -> None:
    token = app_server.token()
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    forged = jwt.encode({"sub": "admin", "iat": int(time.time()), "exp": int(time.time()) + 60},
                        "a-secret-that-is-not-the-servers-secret-at-all", algorithm="HS256")
    for bad in (tampered, forged, "not-a-jwt"):
        response = http.get(f"{app_server.url}/api/models",
                            headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_token"
    secret = (app_server.data_dir / "jwt_secret").read_text().strip()
    expired = jwt.encode({"sub": "test", "iat": 1, "exp": 2}, secret, algorithm="HS256")
    response = http.get(f"{app_server.url}/api/models", headers={"Authorization": f"Bearer {expired}"})
    assert response.json()["error"]["code"] == "token_expired"


def test_users_see_only_their_usage_and_admins_may_see_all(app_server: AppServer) -> None:
    assert http.get(f"{app_server.url}/api/usage?all=true",
                    headers=app_server.auth()).status_code == 403
    assert http.get(f"{app_server.url}/api/usage?all=true",
                    headers=app_server.auth("admin", "admin123")).status_code == 200


def test_development_mode_skips_login_on_loopback(app_factory: AppFactory) -> None:
    with running_fake_engine("endless", free_port()) as engine:
        server = app_factory({"DEVELOPMENT_MODE": "true", "ENGINE_BASE_URL": engine.base_url})
        verify = http.get(f"{server.url}/api/auth/verify")
        assert verify.status_code == 200 and verify.json()["username"] == "admin"
        page = http.get(f"{server.url}/", follow_redirects=False)
        assert page.status_code == 200 and "<html" in page.text.lower()
        port = server.url.rsplit(":", 1)[1]
        for host in (f"localhost:{port}", f"[::1]:{port}"):
            assert http.get(f"{server.url}/api/auth/verify",
                            headers={"Host": host}).status_code == 200


def test_development_mode_serves_only_loopback_host_names(app_factory: AppFactory) -> None:
    """DNS rebinding: a page on attacker.example resolving to 127.0.0.1 must not be the admin."""
    with running_fake_engine("endless", free_port()) as engine:
        server = app_factory({"DEVELOPMENT_MODE": "true", "ENGINE_BASE_URL": engine.base_url})
        for host in ("attacker.example", "attacker.example:80", "192.168.1.5"):
            for path in ("/api/auth/verify", "/", "/gradio_api/info"):
                response = http.get(f"{server.url}{path}", headers={"Host": host})
                assert response.status_code == 400, (host, path, response.status_code)


def test_exposed_bind_without_a_secret_refuses_to_start(app_factory: AppFactory) -> None:
    with pytest.raises(RuntimeError, match=r"Set JWT_SECRET before binding to 0\.0\.0\.0"):
        app_factory({"GATEWAY_HOST": "0.0.0.0"})
