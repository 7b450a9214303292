"""Settings that stick: a default system prompt and named presets, per user."""

from __future__ import annotations

import httpx
from conftest import AppServer


def test_presets_are_saved_listed_replaced_and_deleted_per_user(app_server: AppServer) -> None:
    user, admin = app_server.auth(), app_server.auth("admin", "admin123")
    url = f"{app_server.url}/api/presets"
    first = httpx.post(url, headers=user, json={"name": "Terse", "system_prompt": "Be brief.",
                                                "temperature": 0.2, "max_tokens": 128})
    assert first.status_code == 201
    again = httpx.post(url, headers=user, json={"name": "Terse", "system_prompt": "Be very brief."})
    listed = httpx.get(url, headers=user).json()["presets"]
    assert [(p["name"], p["system_prompt"]) for p in listed] == [("Terse", "Be very brief.")]
    assert httpx.get(url, headers=admin).json()["presets"] == []
    preset_id = again.json()["id"]
    assert httpx.delete(f"{url}/{preset_id}", headers=admin).status_code == 404
    assert httpx.delete(f"{url}/{preset_id}", headers=user).status_code == 204
    assert httpx.get(url, headers=user).json()["presets"] == []


def test_bad_presets_are_refused(app_server: AppServer) -> None:
    url = f"{app_server.url}/api/presets"
    headers = app_server.auth()
    blank = httpx.post(url, headers=headers, json={"name": "   "})
    assert (blank.status_code, blank.json()["error"]["code"]) == (400, "invalid_name")
    hot = httpx.post(url, headers=headers, json={"name": "Hot", "temperature": 5})
    assert hot.status_code == 422
    huge = httpx.post(url, headers=headers, json={"name": "Huge", "system_prompt": "x" * 1_000_000})
    assert (huge.status_code, huge.json()["error"]["code"]) == (400, "prompt_too_long")
    assert "8000 characters" in huge.json()["error"]["message"]
    assert httpx.get(url, headers=headers).json()["presets"] == []


def test_the_default_system_prompt_sticks(app_server: AppServer) -> None:
    url = f"{app_server.url}/api/me/settings"
    headers = app_server.auth()
    assert httpx.get(url, headers=headers).json() == {"default_system_prompt": None}
    saved = httpx.put(url, headers=headers, json={"default_system_prompt": "  Answer in Korean. "})
    assert saved.json() == {"default_system_prompt": "Answer in Korean."}
    assert httpx.get(url, headers=headers).json() == {"default_system_prompt": "Answer in Korean."}
    other = app_server.auth("admin", "admin123")
    assert httpx.get(url, headers=other).json() == {"default_system_prompt": None}
