"""Separating a reasoning model's thinking from its answer while both stream.

Thinking arrives either in the delta's `reasoning` / `reasoning_content` field (vLLM with a
reasoning parser, llama.cpp) or inline as `<think>...</think>` in the content (a model served
without a parser). Tags may be split across chunks, so the splitter holds back a possible tag
prefix until the next chunk decides it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chat.turn import Delta

OPEN, CLOSE = "<think>", "</think>"


class ThinkSplitter:
    def __init__(self) -> None:
        self._thinking = False
        self._held = ""

    def feed(self, text: str) -> tuple[str, str]:
        """(reasoning, content) of this piece of content text."""
        text = self._held + text
        self._held = ""
        reasoning: list[str] = []
        content: list[str] = []
        while text:
            tag = CLOSE if self._thinking else OPEN
            index = text.find(tag)
            if index >= 0:
                (reasoning if self._thinking else content).append(text[:index])
                text = text[index + len(tag):]
                self._thinking = not self._thinking
                continue
            keep = _partial_tag_suffix(text, tag)
            (reasoning if self._thinking else content).append(text[: len(text) - keep])
            self._held = text[len(text) - keep:]
            break
        return "".join(reasoning), "".join(content)

    def flush(self) -> tuple[str, str]:
        """What was held back when the stream ends."""
        held, self._held = self._held, ""
        return (held, "") if self._thinking else ("", held)


def _partial_tag_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that could be the start of `tag`."""
    for length in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-length:]):
            return length
    return 0


def delta_from(delta: Mapping[str, Any] | None, splitter: ThinkSplitter) -> Delta:
    """Thinking from an OpenAI stream delta's reasoning fields or from <think> tags in its
    content (the delta as the engine sent it)."""
    if not delta:
        return Delta()
    reasoning = str(delta.get("reasoning") or delta.get("reasoning_content") or "")
    inline_reasoning, content = splitter.feed(delta.get("content") or "")
    return Delta(content=content, reasoning=reasoning + inline_reasoning)
