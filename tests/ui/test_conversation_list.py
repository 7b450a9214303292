"""The conversation list marks a conversation whose answer is still running with ⏳, whether
it lists every conversation (the chat page) or the ones a search found (the sidebar)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import gradio as gr

from services import ServicesHolder
from ui.chat_handlers import ChatHandlers
from ui.sidebar import SidebarHandlers

ROWS = [{"id": 1, "title": "Running"}, {"id": 2, "title": None}]
EXPECTED = [("⏳ Running", 1), ("Conversation 2", 2)]


def holder_with_a_running_answer() -> ServicesHolder:
    user = SimpleNamespace(id=7, is_admin=False)

    async def user_by_name(name: str) -> Any:
        return user

    async def conversations(*args: Any) -> list[dict[str, Any]]:
        return ROWS

    holder = ServicesHolder()
    holder.set(SimpleNamespace(  # type: ignore[arg-type]
        auth=SimpleNamespace(user_by_name=user_by_name),
        conversations=SimpleNamespace(recent=conversations, search=conversations),
        live=SimpleNamespace(running_for=lambda _user: {1}),
    ))
    return holder


def request() -> Any:
    return SimpleNamespace(username="test")


async def test_search_results_mark_the_conversation_whose_answer_is_running() -> None:
    found = await SidebarHandlers(holder_with_a_running_answer()).search("Run", 1, request())
    assert isinstance(found, gr.Radio)
    assert found.choices == EXPECTED
    assert found.value == 1


async def test_the_full_list_and_a_search_show_the_same_entries() -> None:
    holder = holder_with_a_running_answer()
    listed = await ChatHandlers(holder).conversation_choices(request(), None)
    found = await SidebarHandlers(holder).search("", None, request())
    assert listed.choices == found.choices == EXPECTED
