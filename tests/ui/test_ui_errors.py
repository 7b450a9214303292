"""Domain refusals reach a person as a toast in their language that leaves the page as it was
(ui_errors), and a Gradio API caller as the event's error (api_errors)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import gradio as gr
import pytest
from gradio.helpers import special_args

from errors import AppError, Conflict, InvalidInput
from services import ServicesHolder
from storage.users import User
from ui.base import api_errors, ui_errors
from ui.i18n import ERRORS_KO
from ui.keys import KeyHandlers
from ui.models import ModelHandlers

ADMIN = User(1, "root", "admin", "h")
NOT_FIT = Conflict("This profile does not fit", code="does_not_fit")
NO_NAME = InvalidInput("Give the key a name of 1 to 100 characters", code="invalid_name")


def korean() -> gr.Request:
    return gr.Request(headers={"accept-language": "ko-KR,ko;q=0.9"}, username="root")


def refusing(error: AppError) -> ServicesHolder:
    """Services whose every engine and key action refuses with `error`."""
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    async def refuse_async(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    async def user_by_name(_name: str) -> User:
        return ADMIN

    services = SimpleNamespace(
        engine=SimpleNamespace(begin_switch=refuse, begin_restart=refuse),
        auth=SimpleNamespace(user_by_name=user_by_name, create_key=refuse_async,
                             revoke_key=refuse_async))
    holder = SimpleNamespace(get=lambda: services)
    return cast(ServicesHolder, holder)


async def drain(stream: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in stream]


def toast(text: str) -> Any:
    """A toast with exactly this text; outside a Gradio event, gr.Warning warns instead."""
    return pytest.warns(UserWarning, match=f"^{re.escape(text)}$")


async def test_a_refused_switch_answers_a_korean_browser_in_korean() -> None:
    with toast(ERRORS_KO["does_not_fit"]):
        shown = await drain(ModelHandlers(refusing(NOT_FIT)).switch("big", False, korean()))
    assert shown == [gr.skip()], "the tab keeps what it showed"


async def test_a_refused_restart_answers_a_korean_browser_in_korean() -> None:
    with toast(ERRORS_KO["does_not_fit"]):
        await drain(ModelHandlers(refusing(NOT_FIT)).restart(korean()))


async def test_a_refused_new_key_answers_a_korean_browser_in_korean() -> None:
    with toast(ERRORS_KO["invalid_name"]):
        assert await KeyHandlers(refusing(NO_NAME)).create("", korean()) == gr.skip()


async def test_a_refused_revoke_answers_a_korean_browser_in_korean() -> None:
    with toast(ERRORS_KO["invalid_name"]):
        assert await KeyHandlers(refusing(NO_NAME)).revoke(3, korean()) == gr.skip()


async def test_an_english_browser_keeps_the_english_message() -> None:
    english = gr.Request(headers={"accept-language": "en-US"}, username="root")
    with toast(NO_NAME.message):
        await KeyHandlers(refusing(NO_NAME)).create("", english)


class Decorated:
    @ui_errors
    async def call(self, value: int, request: gr.Request) -> int:
        if value < 0:
            raise NOT_FIT
        return value

    @ui_errors
    async def stream(self, value: int, request: gr.Request) -> AsyncIterator[int]:
        yield value
        raise NOT_FIT


def test_gradio_still_injects_the_request_into_decorated_handlers() -> None:
    request = korean()
    for handler in (Decorated().call, Decorated().stream):
        inputs, *_ = special_args(handler, [1], request)
        assert inputs == [1, request]


async def test_decorated_calls_pass_results_through_and_toast_refusals() -> None:
    assert await Decorated().call(2, korean()) == 2
    with toast(ERRORS_KO["does_not_fit"]):
        assert await Decorated().call(-1, request=korean()) == gr.skip()


async def test_a_decorated_stream_keeps_what_it_yielded_before_the_refusal() -> None:
    with toast(ERRORS_KO["does_not_fit"]):
        seen = [value async for value in Decorated().stream(7, korean())]
    assert seen == [7, gr.skip()]


async def test_a_handler_called_by_another_lets_the_refusal_reach_the_event_handler() -> None:
    """Only the event's own handler shows the refusal: a helper handler it awaits (a table
    refreshed after a change) must not hand it a skip in place of its result."""
    class Outer(Decorated):
        @ui_errors
        async def outer(self, request: gr.Request) -> tuple[int, int]:
            first, second = await self.call(-1, request)  # raises here, not a skip
            return first, second

    with toast(ERRORS_KO["does_not_fit"]):
        assert await Outer().outer(korean()) == gr.skip()


async def test_api_endpoints_raise_the_refusal_in_the_callers_language() -> None:
    @api_errors
    async def endpoint(request: gr.Request) -> int:
        raise NOT_FIT

    with pytest.raises(gr.Error) as raised:
        await endpoint(korean())
    assert raised.value.message == ERRORS_KO["does_not_fit"]
