"""The conversation list marks a conversation whose answer is still running with ⏳, whether
it lists every conversation (the chat page) or the ones a search found (the sidebar)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import gradio as gr

from chat.live import LiveAnswers
from services import ServicesHolder
from ui.chat_handlers import ChatHandlers
from ui.i18n import request_timezone
from ui.sidebar import SidebarHandlers, conversation_entries, listed_conversation

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
    return SimpleNamespace(username="test", session_hash="tab")


async def test_search_results_mark_the_conversation_whose_answer_is_running() -> None:
    found = await SidebarHandlers(holder_with_a_running_answer()).search("Run", 1, request())
    assert isinstance(found, gr.Radio)
    assert found.choices == EXPECTED
    assert found.value == 1


async def test_the_running_marks_refresh_leaves_the_selection_alone() -> None:
    """The page's script refreshes the list every 3 s while it shows an answer running (⏳).
    A refresh that also set the selection, from the conversation the page had when it was
    sent, selected the left conversation again (and put it in the address) when it landed just
    after New chat (a CI rehearsal): it brings the entries only."""
    refreshed = await SidebarHandlers(holder_with_a_running_answer()).refresh_list("", request())
    assert "value" not in refreshed
    assert any(label.startswith("⏳") for label, _ in refreshed["choices"])


async def test_the_full_list_and_a_search_show_the_same_entries() -> None:
    holder = holder_with_a_running_answer()
    listed = await ChatHandlers(holder).conversation_choices(request(), None)
    found = await SidebarHandlers(holder).search("", None, request())
    assert listed.choices == found.choices == EXPECTED


class SlowAnswer:
    """Test double of ChatService.stream: an answer that ends when the test says so."""

    def __init__(self) -> None:
        self.end = asyncio.Event()

    async def stream(self, turn: Any) -> AsyncIterator[None]:
        turn.answer = "Once upon a time"
        yield None
        await self.end.wait()
        turn.answer += " the end."
        yield None


async def test_a_followed_answer_that_ends_takes_its_mark_off_the_list() -> None:
    """Opened while its answer runs (after a reload, say), a conversation streams the answer;
    when it ends the list loses the ⏳ (issue 12, defect 6: it stayed)."""
    user = SimpleNamespace(id=7, is_admin=False)
    answer = SlowAnswer()
    live = LiveAnswers(answer)  # type: ignore[arg-type]
    live.start(SimpleNamespace(conversation_id=1, user=user, answer="", thinking="",  # type: ignore[arg-type]
                               request_id="r1", first_token_at=None))
    stored = [{"role": "user", "content": "Tell a story"},
              {"role": "assistant", "content": "Once upon a time the end.", "status": "completed"}]

    async def user_by_name(name: str) -> Any:
        return user

    async def get(_user: Any, conv_id: int) -> Any:
        return SimpleNamespace(id=conv_id, system_prompt="")

    async def messages(_user: Any, _conv_id: int) -> list[dict[str, Any]]:
        return stored if not live.running_for(user) else stored[:1]

    async def recent(*_args: Any) -> list[dict[str, Any]]:
        return ROWS

    holder = ServicesHolder()
    holder.set(SimpleNamespace(  # type: ignore[arg-type]
        auth=SimpleNamespace(user_by_name=user_by_name), live=live,
        conversations=SimpleNamespace(get=get, messages=messages, recent=recent),
        settings=SimpleNamespace(stream_flush_interval_s=0.0)))
    updates = ChatHandlers(holder).open_conversation(1, request())
    first = await anext(updates)
    assert first[3] == gr.skip()
    answer.end.set()
    rest = [update async for update in updates]
    listed = rest[-1][3]
    assert isinstance(listed, gr.Radio)
    assert listed.choices == [("Running", 1), ("Conversation 2", 2)], "no ⏳ once it ended"
    assert rest[-1][0][-1]["content"] == "Once upon a time the end."


def korean_request() -> Any:
    return SimpleNamespace(username="test", headers={"accept-language": "ko-KR,ko;q=0.9"})


async def test_a_search_says_what_it_found_and_when_nothing_matches() -> None:
    """Issue 12: a search without results left a bare, empty list."""
    holder = holder_with_a_running_answer()
    sidebar = SidebarHandlers(holder)
    found = await sidebar.search("Run", None, request())
    assert found.label == "2 found"
    everything = await sidebar.search("  ", None, korean_request())
    assert everything.label == "최근 대화"

    async def nothing(*args: Any) -> list[dict[str, Any]]:
        return []

    holder.get().conversations.search = nothing  # type: ignore[attr-defined]
    empty = await sidebar.search("zebra", None, request())
    assert (empty.choices, empty.label) == ([], "No conversation matches “zebra”")
    empty_ko = await sidebar.search("얼룩말", None, korean_request())
    assert empty_ko.label == "“얼룩말”와 일치하는 대화가 없습니다"


async def test_opening_a_conversation_fills_the_rename_box_with_its_title() -> None:
    holder = holder_with_a_running_answer()

    async def get(_user: Any, conv_id: int) -> Any:
        return SimpleNamespace(id=conv_id, title="Running")

    holder.get().conversations.get = get  # type: ignore[attr-defined]
    sidebar = SidebarHandlers(holder)
    assert await sidebar.current_title(1, request()) == "Running"
    assert await sidebar.current_title(None, request()) == ""


async def test_a_page_landing_on_a_running_answer_gets_the_list_twice() -> None:
    """Once with the conversation, and again with the answer's first streamed update (the page
    now and then dropped the first one); the list as stored comes at the end."""
    handlers = ChatHandlers(holder_with_a_running_answer())

    async def running(conversation_id: int, _request: Any) -> AsyncIterator[tuple[Any, ...]]:
        yield ["history"], conversation_id, "", gr.skip()
        yield ["streamed"], conversation_id, gr.skip(), gr.skip()
        yield ["streamed more"], conversation_id, gr.skip(), gr.skip()
        yield ["stored"], conversation_id, gr.skip(), "the list at the end"

    handlers._open = running  # type: ignore[method-assign]
    landing = SimpleNamespace(username="test", query_params={"c": "1"})
    handlers.conversations.get = _own_conversation  # type: ignore[method-assign]
    lists = [update[3] async for update in handlers.open_landing(landing)]
    assert [lst.choices for lst in lists[:2]] == [EXPECTED, EXPECTED]
    assert lists[2:] == [gr.skip(), "the list at the end"]


async def _own_conversation(_user: Any, conversation_id: int) -> Any:
    return SimpleNamespace(id=conversation_id)


def dated(conv_id: int, updated: datetime) -> dict[str, Any]:
    return {"id": conv_id, "title": f"Chat {conv_id}", "updated_at": updated}


def test_the_list_groups_conversations_under_date_headings_in_the_callers_time_zone() -> None:
    """Issue 12: Today, Yesterday, Previous 7 days, Older, as in the chat apps people know.
    At 20:00 UTC it is already the next day in Seoul."""
    now = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    rows = [dated(5, now - timedelta(minutes=5)),  # 7 Dec in Seoul
            dated(4, now - timedelta(hours=12)),  # 6 Dec, 17:00 in Seoul
            dated(3, now - timedelta(days=3)),
            dated(2, (now - timedelta(days=30)).replace(tzinfo=None)),  # stored naive: UTC
            dated(1, now - timedelta(days=31))]
    entries = conversation_entries(rows, {4}, "ko", ZoneInfo("Asia/Seoul"), now)
    assert entries == [("오늘", "group:today"), ("Chat 5", 5), ("어제", "group:yesterday"),
                       ("⏳ Chat 4", 4), ("지난 7일", "group:previous_7_days"), ("Chat 3", 3),
                       ("이전", "group:older"), ("Chat 2", 2), ("Chat 1", 1)]
    in_utc = conversation_entries(rows[:2], set(), "en", UTC, now)
    assert in_utc == [("Today", "group:today"), ("Chat 5", 5), ("Chat 4", 4)]


def test_a_heading_picked_in_the_list_opens_nothing() -> None:
    assert [listed_conversation(v) for v in (7, "7", "group:today", None, "")] == \
        [7, 7, None, None, None]


def test_the_time_zone_comes_from_the_pages_cookie_else_utc() -> None:
    seoul = gr.Request(username="test", cookies={"tz": "Asia/Seoul"})
    assert request_timezone(seoul) == ZoneInfo("Asia/Seoul")
    for cookies in ({"tz": "Not/AZone"}, {"tz": "../../etc/passwd"}, {}):
        assert request_timezone(gr.Request(username="test", cookies=cookies)) == UTC
    assert request_timezone(None) == UTC
