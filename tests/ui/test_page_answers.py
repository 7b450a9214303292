"""A page's Stop ends its answer whether it runs, is starting or still waits in the queue, and
ends nothing the page asks for afterwards (ui/page_answers.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import gradio as gr

from services import ServicesHolder
from ui.chat_handlers import ChatHandlers
from ui.page_answers import PageAnswers


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


async def test_a_message_stopped_while_it_waited_goes_back_to_the_message_box() -> None:
    """No conversation, no answer, no request to the engine: the event ends at once with the
    text back where it was typed (services are not even looked up)."""
    handlers = ChatHandlers(ServicesHolder())
    request: Any = SimpleNamespace(session_hash="tab", username="test")
    assert await handlers.send("Tell me a story", request) == ("", "Tell me a story")
    handlers.pages.stop("tab")
    updates = [update async for update in handlers.respond(
        "Tell me a story", [], None, "", 0.7, 64, None, request)]
    assert updates == [(gr.skip(), gr.skip(), gr.skip(), "Tell me a story")]
