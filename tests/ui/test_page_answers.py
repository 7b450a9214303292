"""A page's Stop ends its answer whether it runs, is starting or still waits in the queue, and
ends nothing the page asks for afterwards; New chat or another conversation ends what streamed
into the chat before (ui/page_answers.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest
from doubles.storing_stream import USER, StoringStream, new_turn
from gradio.state_holder import SessionState

from chat.live import LiveAnswers
from services import ServicesHolder
from ui import page_answers
from ui.chat_handlers import ChatHandlers
from ui.page_answers import PageAnswers, page_of


def test_an_answer_waiting_in_the_queue_when_stop_is_pressed_never_starts() -> None:
    pages = PageAnswers()
    pages.asked("tab")
    assert pages.stop("tab") == set(), "nothing runs yet"
    assert pages.starting("tab") is None
    assert len(pages) == 0, "nothing is kept for the page"


def test_an_answer_asked_for_after_stop_runs() -> None:
    pages = PageAnswers()
    pages.asked("tab")
    pages.stop("tab")
    pages.asked("tab")
    assert pages.starting("tab") is None, "the first one was stopped"
    number = pages.starting("tab")
    assert number is not None
    assert pages.running("tab", number, 5)


def test_stop_names_the_conversations_whose_answers_run_on_that_page_only() -> None:
    pages = PageAnswers()
    for page, conversation in (("tab", 5), ("other tab", 6)):
        pages.asked(page)
        number = pages.starting(page)
        assert number is not None
        assert pages.running(page, number, conversation)
    assert pages.stop("tab") == {5}


def test_stop_pressed_while_an_answer_starts_is_seen_when_it_has_its_conversation() -> None:
    """Before its first update the page does not know the new conversation, so Stop cannot
    name it: the answer finds out itself once it runs, and is stopped by its caller."""
    pages = PageAnswers()
    pages.asked("tab")
    number = pages.starting("tab")
    assert number is not None
    assert pages.stop("tab") == set()
    assert not pages.running("tab", number, 5)


def test_nothing_is_kept_for_a_page_once_its_answers_ended() -> None:
    pages = PageAnswers()
    pages.asked("tab")
    pages.asked("tab")
    first, second = pages.starting("tab"), pages.starting("tab")
    assert first is not None and second is not None
    pages.running("tab", first, 1)
    pages.running("tab", second, 2)
    pages.ended("tab", first)
    assert len(pages) == 1
    pages.ended("tab", second)
    assert len(pages) == 0
    assert pages.stop("tab") == set()


def test_a_closed_page_keeps_nothing_of_what_it_asked_for_and_never_started() -> None:
    """Gradio drops a closed page's queued events: their answers never start, so what the page
    asked for is forgotten; an answer already running keeps its entry until it ends."""
    pages = PageAnswers()
    pages.asked("tab")
    pages.closed("tab")
    assert len(pages) == 0
    pages.asked("tab")
    pages.asked("tab")
    number = pages.starting("tab")
    assert number is not None
    pages.running("tab", number, 5)
    pages.closed("tab")
    assert len(pages) == 1
    pages.ended("tab", number)
    assert len(pages) == 0


async def test_a_message_stopped_while_it_waited_goes_back_to_the_message_box() -> None:
    """No conversation, no answer, no request to the engine: the event ends at once with the
    text back where it was typed (services are not even looked up)."""
    handlers = ChatHandlers(ServicesHolder())
    request: Any = SimpleNamespace(session_hash="tab", username="test")
    assert await handlers.send("Tell me a story", request) == ("", "Tell me a story")
    handlers.pages.stop(page_of(request))
    updates = [update async for update in handlers.respond(
        "Tell me a story", [], None, "", 0.7, 64, None, request)]
    assert updates == [(gr.skip(), gr.skip(), gr.skip(), "Tell me a story")]


async def test_a_retry_or_an_edit_stopped_while_it_waited_never_starts() -> None:
    """Stop covers Retry and an edit as it covers a sent message: asked for before they join
    the queue, they end at once if Stop came meanwhile (nothing is asked of the services; the
    chat shows the stored conversation, which they did not change)."""
    handlers = ChatHandlers(ServicesHolder())
    request: Any = SimpleNamespace(session_hash="tab", username="test")
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    await handlers.ask_again(request)
    edit = gr.EditData(SimpleNamespace(_id="chatbot"),
                       {"index": 0, "value": "Hi there", "previous_value": "Hi"})
    pending = await handlers.ask_edit(history, edit, request)
    assert pending == (0, "Hi there")
    handlers.pages.stop(page_of(request))
    regenerated = [u async for u in handlers.regenerate(1, "", 0.7, 64, None, request)]
    edited = [u async for u in handlers.edit(pending, 1, "", 0.7, 64, None, request)]
    assert regenerated == edited == [(gr.skip(), gr.skip(), gr.skip())]
    assert len(handlers.pages) == 0


async def test_a_move_ends_the_stream_into_the_chat_and_waits_for_it() -> None:
    """New chat or another conversation: a stream into the chat sees it no longer shows its
    view at its next update and ends; the move returns after that, so what the mover shows
    reaches the page after the stream's last update."""
    pages = PageAnswers()
    next_update = asyncio.Event()
    sent: list[str] = []

    async def stream() -> None:
        with pages.showing("tab") as shown:
            while shown():
                sent.append("update")
                await next_update.wait()
        sent.append("ended")

    streaming = asyncio.create_task(stream())
    await asyncio.sleep(0)
    moving = asyncio.create_task(pages.move("tab"))
    await asyncio.sleep(0.05)
    assert not moving.done(), "the stream has not had its next update yet"
    next_update.set()
    shown = await moving
    assert sent == ["update", "ended"]
    assert shown()
    await streaming
    assert len(pages) == 0


async def test_a_move_that_a_later_one_overtook_shows_nothing() -> None:
    """New chat, then a conversation clicked while New chat waited: the chat shows the
    conversation, not an empty chat arriving after it."""
    pages = PageAnswers()
    release = asyncio.Event()

    async def stream() -> None:
        with pages.showing("tab"):
            await release.wait()

    streaming = asyncio.create_task(stream())
    await asyncio.sleep(0)
    new_chat = asyncio.create_task(pages.move("tab"))
    await asyncio.sleep(0)
    opened = asyncio.create_task(pages.move("tab"))
    release.set()
    assert not (await new_chat)()
    assert (await opened)()
    await streaming


async def test_a_move_waits_no_longer_than_its_limit_for_a_stream_without_updates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stream waiting for its answer's next token sent its last update long ago."""
    monkeypatch.setattr(page_answers, "MOVE_WAIT_S", 0.05)
    pages = PageAnswers()
    with pages.showing("tab") as shown:
        assert (await asyncio.wait_for(pages.move("tab"), 1))()
        assert not shown()
    assert len(pages) == 0


async def test_a_move_with_nothing_streaming_returns_at_once() -> None:
    pages = PageAnswers()
    assert (await asyncio.wait_for(pages.move("tab"), 0.01))()
    assert len(pages) == 0


def test_a_page_is_one_users_whatever_session_id_a_request_names() -> None:
    """Another user naming the same session id reaches a page of their own: their Stop or
    New chat cannot touch this user's answers."""
    mine = page_of(SimpleNamespace(session_hash="tab", username="test"))
    theirs = page_of(SimpleNamespace(session_hash="tab", username="mallory"))
    pages = PageAnswers()
    pages.asked(mine)
    assert pages.stop(theirs) == set()
    assert pages.starting(mine) is not None


async def test_stop_while_the_answer_starts_ends_the_event_with_the_answer_as_stored() -> None:
    """Stop in the moment the answer starts (right after sending, before the page knows the
    new conversation): the answer is stopped as it registers, stored as stopped, and the event
    ends showing it so, without the list's ⏳. It used to be cancelled before its task ran:
    nothing was stored, the ⏳ stayed, and the event waited for ever (a flaky browser test)."""
    chat = StoringStream()
    live = LiveAnswers(chat)
    request: Any = SimpleNamespace(session_hash="tab", username="test")
    handlers: ChatHandlers

    async def start_turn(*_args: Any) -> Any:
        await handlers.stop(None, request)  # pressed while the turn is being prepared
        return new_turn()

    async def messages(*_args: Any) -> list[dict[str, Any]]:
        stored = [{"role": "assistant", "content": "", "status": s} for s in chat.stored]
        return [{"role": "user", "content": "Tell me a story"}, *stored]

    async def user_by_name(_name: str) -> Any:
        return USER

    async def get(_user: Any, conv_id: int) -> Any:
        return SimpleNamespace(id=conv_id, system_prompt="")

    async def recent(*_args: Any) -> list[dict[str, Any]]:
        return [{"id": 1, "title": "Tell me a story"}]

    holder = ServicesHolder()
    holder.set(SimpleNamespace(  # type: ignore[arg-type]
        auth=SimpleNamespace(user_by_name=user_by_name), live=live,
        chat=SimpleNamespace(start_turn=start_turn),
        conversations=SimpleNamespace(get=get, messages=messages, recent=recent),
        engine=SimpleNamespace(state=None, profile=SimpleNamespace(model_names=["m"])),
        settings=SimpleNamespace(stream_flush_interval_s=0.0)))
    handlers = ChatHandlers(holder)
    await handlers.send("Tell me a story", request)
    updates = handlers.respond("Tell me a story", [], None, "", 0.7, 64, None, request)
    shown = await asyncio.wait_for(_all(updates), 5)
    chat_shown, conversation, listed, _box = shown[-1]
    assert chat.stored == ["cancelled"]
    assert chat_shown[-1]["content"] == "*(stopped)*"
    assert conversation == 1
    assert listed.choices[-1] == ("Tell me a story", 1), "no ⏳: nothing runs"
    assert len(handlers.pages) == 0


async def _all(updates: Any) -> list[Any]:
    return [update async for update in updates]


async def test_a_stream_the_chat_moved_away_from_ends_on_an_update_that_changes_nothing() -> None:
    """Gradio ends a generator's event with a message that repeats its last update (below):
    a stream that ended on a chat update put the old answer back over New chat's empty chat
    whenever that message landed last (a flaky browser test). It ends on skips instead."""
    handlers = ChatHandlers(ServicesHolder())
    request: Any = SimpleNamespace(session_hash="tab", username="test")
    moved = asyncio.Event()

    async def answer() -> Any:
        yield ["Once upon"], 1
        await moved.wait()
        yield ["Once upon a time"], 1

    updates = handlers.while_shown(request, answer())
    assert await anext(updates) == (["Once upon"], 1)
    moving = asyncio.create_task(handlers.pages.move(page_of(request)))
    await asyncio.sleep(0)
    moved.set()
    assert await _all(updates) == [(gr.skip(), gr.skip())]
    assert (await moving)()


async def test_gradios_last_message_of_an_event_repeats_its_last_update() -> None:
    """What the test above relies on, checked in Gradio itself: the data of a generator's
    completion is its last update again (skips, if it ended on skips)."""
    async def stream(_text: str) -> Any:
        yield "Once upon", "listed"
        yield "Once upon a time", gr.skip()

    with gr.Blocks() as demo:
        box, chat, listed = gr.Textbox(), gr.Textbox(), gr.Textbox()
        box.submit(stream, box, [chat, listed])
    state, iterator = SessionState(demo), None
    while True:
        result = await demo.process_api(0, ["Tell me a story"], state=state, iterator=iterator,
                                        session_hash="tab", event_id="event")
        if not result["is_generating"]:
            break
        iterator = result["iterator"]
    assert result["data"] == ["Once upon a time", {"__type__": "update"}]
