"""Every REST route and every Gradio function, against every kind of caller: nobody, an expired
token, a wrong key, an unsigned (alg=none) token, a signed-out token, a disabled user, a revoked
key, a user and an admin. A route or function added without an entry here fails the test.

The engine is a fake OpenAI-compatible server (a test double): this is about who gets in."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import jwt
import pytest
from conftest import AppServer, SharedEngine, free_port, start_app
from doubles.fake_engine import running_fake_engine
from helpers import http

from app import create_app
from services import ServicesHolder
from settings import Settings
from ui.app import build_blocks

Access = Literal["public", "user", "admin"]
SECRET = "matrix-test-secret-0123456789abcdef-0123456789"
STRONG = "matrix-pass-1"

ROUTES: dict[tuple[str, str], Access] = {
    ("GET", "/health"): "public", ("GET", "/health/live"): "public",
    ("POST", "/api/auth/login"): "public", ("GET", "/api/auth/verify"): "user",
    ("POST", "/api/auth/logout"): "public",
    ("POST", "/api/chat"): "user", ("GET", "/api/models"): "user",
    ("POST", "/api/conversations"): "user", ("GET", "/api/conversations"): "user",
    ("PATCH", "/api/conversations/{conv_id}"): "user",
    ("DELETE", "/api/conversations/{conv_id}"): "user",
    ("POST", "/api/conversations/{conv_id}/regenerate"): "user",
    ("POST", "/api/conversations/{conv_id}/edit"): "user",
    ("GET", "/api/conversations/{conv_id}"): "user",
    ("GET", "/api/usage"): "user", ("GET", "/api/usage/export"): "user",
    ("GET", "/api/usage/summary"): "user",
    ("POST", "/api/usage/snapshot"): "admin",
    ("GET", "/api/profiles"): "admin", ("GET", "/api/engine"): "admin",
    ("POST", "/api/engine/restart"): "admin", ("POST", "/api/engine/switch"): "admin",
    # Loopback callers (this test) need no token; others need METRICS_TOKEN (tests/observability).
    ("GET", "/metrics"): "public",
    ("POST", "/api/keys"): "user", ("GET", "/api/keys"): "user",
    ("DELETE", "/api/keys/{key_id}"): "user",
    ("GET", "/v1/models"): "user", ("POST", "/v1/chat/completions"): "user",
    ("GET", "/api/me/settings"): "user", ("PUT", "/api/me/settings"): "user",
    ("GET", "/api/presets"): "user", ("POST", "/api/presets"): "user",
    ("DELETE", "/api/presets/{preset_id}"): "user",
    ("GET", "/api/admin/users"): "admin", ("POST", "/api/admin/users"): "admin",
    ("PATCH", "/api/admin/users/{user_id}"): "admin",
    ("DELETE", "/api/admin/users/{user_id}"): "admin",
    ("PUT", "/api/me/password"): "user", ("POST", "/api/admin/backup"): "admin",
    ("GET", "/openapi.json"): "user", ("GET", "/docs"): "user", ("GET", "/redoc"): "user",
    ("GET", "/login"): "public", ("POST", "/login"): "public", ("GET", "/logout"): "public",
}

# Gradio functions by api_name (private ones too). "user": any signed-in user; "admin": the
# handler refuses others. Every one of them needs a signed-in caller (Gradio's auth_dependency).
_UI_ONLY = {"lambda", "js_fn", *(f"js_fn_{i}" for i in range(1, 8)),
            *(f"lambda_{i}" for i in range(1, 15))}
_ADMIN_FNS = {"status", "switch", "switch_choices", "profiles_table", "restart", "table_1", "create_1",
              "apply_1", "apply_2", "apply_3", "apply_4", "reset_password", "delete_1",
              "switch_profile"}
_USER_FNS = {"respond", "respond_1", "regenerate", "edit", "stop", "search", "rename", "delete",
             "apply", "save", "make_default", "open_conversation",
             "open_page", "refresh", "refresh_1", "refresh_2", "refresh_3", "change_password",
             "table", "create", "revoke", "admin_view", "load_all", "chat",
             "ask_revoke", "how_to_use", "usage_summary", "model_choice", "model_choice_1",
             "model_choice_2", "model_choice_3", "suggestion", "suggestion_1", "respond_2",
             "respond_3", "current_title", "send", "send_1", "start_new_chat", "refresh_list",
             "ask_again", "ask_edit", "delete_preset", "page_closed", "conversations",
             "conversation", "models", "engine_status"}
FUNCTIONS: dict[str, Access] = {**{n: "user" for n in _UI_ONLY | _USER_FNS},
                                **{n: "admin" for n in _ADMIN_FNS}}


def app_routes(tmp_path: Path) -> set[tuple[str, str]]:
    app = create_app(Settings(data_dir=tmp_path))
    found = set()
    for route in app.routes:
        # FastAPI 0.165 keeps included routers as one entry each; their routes are its contexts.
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") \
            else [route]
        for context in contexts:
            for method in getattr(context, "methods", None) or ():
                found.add((method, context.path))
    return found


def test_every_rest_route_has_an_entry(tmp_path: Path) -> None:
    assert app_routes(tmp_path) == set(ROUTES)


def test_every_gradio_function_has_an_entry(tmp_path: Path) -> None:
    blocks = build_blocks(ServicesHolder(), Settings(data_dir=tmp_path))
    assert {fn.api_name for fn in blocks.fns.values()} == set(FUNCTIONS)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path,
           shared_engine: SharedEngine) -> Iterator[AppServer]:
    with running_fake_engine("think_tags", free_port()) as engine:
        app = start_app(tmp_path_factory.mktemp("matrix"), model_dir, shared_engine, {
            "ENGINE_BASE_URL": engine.base_url, "BCRYPT_ROUNDS": "4", "JWT_SECRET": SECRET})
        yield app
        app.stop()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def callers(server: AppServer) -> dict[str, dict[str, str]]:
    """Headers for each kind of caller; the bad ones must all be refused."""
    admin = server.auth("admin", "admin123")
    now = int(time.time())
    expired = jwt.encode({"sub": "test", "iat": now - 7200, "exp": now - 3600, "jti": "x",
                          "gen": 0}, SECRET, algorithm="HS256")
    unsigned = jwt.encode({"sub": "admin", "iat": now, "exp": now + 600}, None, algorithm="none")
    signed_out = server.token()
    assert http.post(f"{server.url}/api/auth/logout", headers=_bearer(signed_out)).status_code == 204
    created = http.post(f"{server.url}/api/admin/users", headers=admin,
                        json={"username": "to-disable", "password": STRONG})
    disabled = server.token("to-disable", STRONG)
    http.patch(f"{server.url}/api/admin/users/{created.json()['id']}", headers=admin,
               json={"disabled": True}).raise_for_status()
    user = server.auth()
    key = http.post(f"{server.url}/api/keys", headers=user, json={"name": "revoked"}).json()
    http.delete(f"{server.url}/api/keys/{key['id']}", headers=user).raise_for_status()
    return {
        "nobody": {}, "expired": _bearer(expired), "wrong key": _bearer("vck_" + "x" * 43),
        "alg none": _bearer(unsigned), "signed out": _bearer(signed_out),
        "disabled user": _bearer(disabled), "revoked key": _bearer(key["key"]),
        "user": user, "admin": admin,
    }


BAD = ("nobody", "expired", "wrong key", "alg none", "signed out", "disabled user", "revoked key")


def _call(server: AppServer, method: str, path: str, headers: dict[str, str]) -> int:
    concrete = path.format(conv_id=999999, key_id=999999, preset_id=999999, user_id=999999)
    # An empty body: state-changing routes refuse it (422) or find nothing (404) after the
    # caller is checked, so the admin's calls change nothing.
    body = {} if method in ("POST", "PUT", "PATCH") else None
    response = http.request(method, f"{server.url}{concrete}", headers=headers, json=body,
                            timeout=30, follow_redirects=False)
    return response.status_code


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_rest_route_lets_in_only_its_callers(server: AppServer,
                                              callers: dict[str, dict[str, str]],
                                              method: str, path: str) -> None:
    access = ROUTES[(method, path)]
    if access == "public":
        assert _call(server, method, path, {}) not in (401, 403)
        return
    for kind in BAD:
        assert _call(server, method, path, callers[kind]) == 401, kind
    user_status = _call(server, method, path, callers["user"])
    assert (user_status == 403) if access == "admin" else (user_status not in (401, 403))
    assert _call(server, method, path, callers["admin"]) not in (401, 403)


def _gradio_call(server: AppServer, fn_index: int, inputs: int,
                 headers: dict[str, str]) -> tuple[int, list[dict[str, Any]]]:
    """Join Gradio's queue as this caller; if let in, the event's messages up to its end."""
    session = uuid.uuid4().hex
    joined = http.post(f"{server.url}/gradio_api/queue/join", headers=headers, json={
        "fn_index": fn_index, "data": [None] * inputs, "session_hash": session,
        "event_data": None, "trigger_id": None})
    if joined.status_code != 200:
        return joined.status_code, []
    messages: list[dict[str, Any]] = []
    with http.stream("GET", f"{server.url}/gradio_api/queue/data", headers=headers,
                     params={"session_hash": session}, timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                messages.append(json.loads(line[len("data: "):]))
                if messages[-1].get("msg") == "process_completed":
                    break
    return 200, messages


def _refused_as_admin_only(messages: list[dict[str, Any]]) -> bool:
    """The page's refusal: a warning toast, and every output left as it was; or a Gradio API
    endpoint's: the event's error."""
    toasts = [m for m in messages if m.get("msg") == "log" and m.get("level") == "warning"]
    completed = messages[-1] if messages else {}
    if completed.get("success") is False:
        return "admin account" in str((completed.get("output") or {}).get("error"))
    untouched = all(value == {"__type__": "update"} or value is None
                    for value in (completed.get("output") or {}).get("data", [None]))
    return any("admin account" in str(t.get("log")) for t in toasts) and untouched


def test_every_gradio_function_needs_a_signed_in_caller_and_admin_ones_an_admin(
        server: AppServer, callers: dict[str, dict[str, str]]) -> None:
    config = http.get(f"{server.url}/config", headers=callers["admin"]).json()
    functions = {d["id"]: (d.get("api_name"), len(d["inputs"]))
                 for d in config["dependencies"]}
    assert {name for name, _ in functions.values()} == set(FUNCTIONS)
    for fn_index, (name, inputs) in functions.items():
        for kind in BAD:
            status, _ = _gradio_call(server, fn_index, inputs, callers[kind])
            assert status == 401, (name, kind)
        if FUNCTIONS[name] != "admin":
            continue
        _, as_user = _gradio_call(server, fn_index, inputs, callers["user"])
        assert _refused_as_admin_only(as_user), (name, as_user)
        _, as_admin = _gradio_call(server, fn_index, inputs, callers["admin"])
        assert as_admin and not _refused_as_admin_only(as_admin), name
        assert "admin account" not in json.dumps(as_admin), name
