"""The chat settings' presets on the page: a preset can be deleted (issue 12)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest

from services import ServicesHolder
from ui.presets import PresetHandlers, page_sampling


def holder_with_presets(rows: list[dict[str, Any]]) -> ServicesHolder:
    user = SimpleNamespace(id=7, is_admin=False)

    async def user_by_name(name: str) -> Any:
        return user

    async def listed(_user: Any) -> list[dict[str, Any]]:
        return rows

    async def delete(_user: Any, preset_id: int) -> None:
        rows[:] = [r for r in rows if r["id"] != preset_id]

    holder = ServicesHolder()
    holder.set(SimpleNamespace(  # type: ignore[arg-type]
        auth=SimpleNamespace(user_by_name=user_by_name),
        presets=SimpleNamespace(list=listed, delete=delete)))
    return holder


def request() -> Any:
    return SimpleNamespace(username="test")


async def test_a_deleted_preset_leaves_the_menu() -> None:
    rows = [{"id": 1, "name": "Terse"}, {"id": 2, "name": "Pirate"}]
    menu = await PresetHandlers(holder_with_presets(rows)).delete_preset(2, request())
    assert isinstance(menu, gr.Dropdown)
    assert menu.choices == [("Terse", 1)] and menu.value is None


async def test_deleting_with_no_preset_chosen_says_so_and_changes_nothing() -> None:
    rows = [{"id": 1, "name": "Terse"}]
    with pytest.warns(UserWarning, match="^Choose a preset first.$"):  # a toast, outside an event
        menu = await PresetHandlers(holder_with_presets(rows)).delete_preset(None, request())
    assert menu == gr.skip() and len(rows) == 1


async def test_a_new_chat_starts_from_the_users_defaults() -> None:
    """Issue 12: New chat reset the system prompt but kept the last chat's temperature and max
    tokens; it starts from the user's default prompt and the model's own sampling defaults."""
    holder = holder_with_presets([{"id": 1, "name": "Terse"}])

    async def default_prompt(_user: Any) -> str:
        return "Be brief."

    services = holder.get()
    services.presets.default_prompt = default_prompt  # type: ignore[attr-defined]
    services.engine = SimpleNamespace(  # type: ignore[attr-defined]
        profile=SimpleNamespace(sampling=SimpleNamespace(temperature=0.7, max_tokens=512)))
    services.settings = SimpleNamespace(max_tokens_limit=256)  # type: ignore[attr-defined]
    prompt, temperature, max_tokens, menu = await PresetHandlers(holder).fresh_settings(request())
    assert (prompt, temperature, max_tokens) == ("Be brief.", 0.7, 256)
    assert isinstance(menu, gr.Dropdown) and menu.value is None


def services_serving(*names: str) -> Any:
    profile = SimpleNamespace(model_names=list(names),
                              sampling=SimpleNamespace(temperature=0.7, max_tokens=512))
    return SimpleNamespace(engine=SimpleNamespace(profile=profile),
                           settings=SimpleNamespace(max_tokens_limit=1024))


def test_a_page_starts_from_what_the_browser_kept_where_it_is_still_valid() -> None:
    services = services_serving("qwen", "qwen-alias")
    kept = {"model": "qwen-alias", "temperature": 1.3, "max_tokens": 77}
    assert page_sampling(services, kept) == ("qwen-alias", 1.3, 77)
    assert page_sampling(services, None) == ("qwen", 0.7, 512), "nothing kept: the defaults"


@pytest.mark.parametrize("kept", [
    {"model": "switched-away", "temperature": 9, "max_tokens": 99_999},
    {"model": ["qwen"], "temperature": "hot", "max_tokens": 0},
    "not a dict",
])
def test_kept_settings_the_page_cannot_use_fall_back_to_the_defaults(kept: Any) -> None:
    """A model no longer served (an admin switched profile) or values out of the sliders'
    range (the browser's storage can be edited) are not used."""
    assert page_sampling(services_serving("qwen"), kept) == ("qwen", 0.7, 512)
