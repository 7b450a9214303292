"""How the chat tab's events are wired (read from the built Blocks, as its /config shows them)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from services import ServicesHolder
from settings import Settings
from ui.app import build_blocks


def events_of(demo: gr.Blocks, elem_id: str, trigger: str) -> list[Any]:
    """The events a component's trigger sets off, with every `.then` step after them."""
    block = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)
    first = [fn for fn in demo.fns.values() if (block._id, trigger) in fn.targets]
    chain = list(first)
    for fn in demo.fns.values():
        if fn.trigger_after is not None and demo.fns[fn.trigger_after] in chain:
            chain.append(fn)
    return chain


def test_new_chat_empties_the_chat_and_resets_the_settings_in_one_update() -> None:
    """As a `.then` step, the new chat's settings landed after the emptied chat: a value
    changed in between (a flaky browser test set max tokens right after New chat) was
    overwritten. One event, one update."""
    demo = build_blocks(ServicesHolder(), Settings())
    events = events_of(demo, "new-chat", "click")
    assert len(events) == 1
    outputs = {getattr(o, "elem_id", None) for o in events[0].outputs}
    assert {"chatbot", "conversation-list", "temperature", "max-tokens", "system-prompt",
            "preset-choice"} <= outputs


def test_a_closed_page_is_forgotten_by_the_chat() -> None:
    """Gradio's unload event (the page closed or reloaded) tells the chat's page records."""
    demo = build_blocks(ServicesHolder(), Settings())
    unload = [fn for fn in demo.fns.values() if any(t[1] == "unload" for t in fn.targets)]
    assert [fn.fn.__name__ for fn in unload] == ["page_closed"]
