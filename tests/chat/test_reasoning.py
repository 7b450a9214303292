"""Thinking split from the answer, whatever way the chunks cut the tags."""

from __future__ import annotations

import pytest

from chat.reasoning import ThinkSplitter


def split(chunks: list[str]) -> tuple[str, str]:
    splitter = ThinkSplitter()
    reasoning, content = "", ""
    for chunk in [*chunks, None]:
        r, c = splitter.flush() if chunk is None else splitter.feed(chunk)
        reasoning, content = reasoning + r, content + c
    return reasoning, content


TEXT = "<think>Let me add 2 and 2.</think>The answer is 4."


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 100])
def test_tags_split_anywhere_still_separate_thinking(size: int) -> None:
    chunks = [TEXT[i:i + size] for i in range(0, len(TEXT), size)]
    assert split(chunks) == ("Let me add 2 and 2.", "The answer is 4.")


def test_text_without_tags_is_all_answer() -> None:
    assert split(["a < b and ", "<th", "ink twice"]) == ("", "a < b and <think twice")


def test_unclosed_thinking_stays_thinking() -> None:
    assert split(["<think>still going", "</thi"]) == ("still going</thi", "")
