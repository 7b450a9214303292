"""Settings that stick: a default system prompt and named presets, per user."""

from __future__ import annotations

from conftest import AppServer
from helpers import http


def test_presets_are_saved_listed_replaced_and_deleted_per_user(app_server: AppServer) -> None:
    user, admin = app_server.auth(), app_server.auth("admin", "admin123")
    url = f"{app_server.url}/api/presets"
    first = http.post(url, headers=user, json={"name": "Terse", "system_prompt": "Be brief.",
                                                "temperature": 0.2, "max_tokens": 128})
    assert first.status_code == 201
    again = http.post(url, headers=user, json={"name": "Terse", "system_prompt": "Be very brief."})
    listed = http.get(url, headers=user).json()["presets"]
    assert [(p["name"], p["system_prompt"]) for p in listed] == [("Terse", "Be very brief.")]
    assert http.get(url, headers=admin).json()["presets"] == []
    preset_id = again.json()["id"]
    assert http.delete(f"{url}/{preset_id}", headers=admin).status_code == 404
    assert http.delete(f"{url}/{preset_id}", headers=user).status_code == 204
    assert http.get(url, headers=user).json()["presets"] == []


def test_bad_presets_are_refused(app_server: AppServer) -> None:
    url = f"{app_server.url}/api/presets"
    headers = app_server.auth()
    blank = http.post(url, headers=headers, json={"name": "   "})
    assert (blank.status_code, blank.json()["error"]["code"]) == (400, "invalid_name")
    hot = http.post(url, headers=headers, json={"name": "Hot", "temperature": 5})
    assert hot.status_code == 422
    huge = http.post(url, headers=headers, json={"name": "Huge", "system_prompt": "x" * 1_000_000})
    assert (huge.status_code, huge.json()["error"]["code"]) == (400, "prompt_too_long")
    assert "8000 characters" in huge.json()["error"]["message"]
    assert http.get(url, headers=headers).json()["presets"] == []


def test_the_default_system_prompt_sticks(app_server: AppServer) -> None:
    url = f"{app_server.url}/api/me/settings"
    headers = app_server.auth()
    assert http.get(url, headers=headers).json() == {"default_system_prompt": None}
    saved = http.put(url, headers=headers, json={"default_system_prompt": "  Answer in Korean. "})
    assert saved.json() == {"default_system_prompt": "Answer in Korean."}
    assert http.get(url, headers=headers).json() == {"default_system_prompt": "Answer in Korean."}
    other = app_server.auth("admin", "admin123")
    assert http.get(url, headers=other).json() == {"default_system_prompt": None}
