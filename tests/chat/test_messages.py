"""Building the message list the engine sees, and first titles."""

from __future__ import annotations

import pytest

from chat.messages import TITLE_CHARS, build_messages, flatten_content, rewound, title_from


def test_string_content_is_kept() -> None:
    assert flatten_content("hello") == "hello"


def test_missing_content_is_empty() -> None:
    assert flatten_content(None) == ""


def test_text_blocks_are_joined() -> None:
    blocks = [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world"}]
    assert flatten_content(blocks) == "Hello, world"


def test_single_block_dict_gives_its_text() -> None:
    assert flatten_content({"type": "text", "text": "hi"}) == "hi"
    assert flatten_content({"type": "image_url", "image_url": {"url": "x"}}) == ""


def test_system_prompt_comes_first_then_history_then_new_messages() -> None:
    history = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
    ]
    new = [{"role": "user", "content": [{"type": "text", "text": "three"}]}]
    assert build_messages("  Be brief.  ", history, new) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": "three"},
    ]


def test_stored_system_rows_and_empty_answers_are_left_out() -> None:
    history = [
        {"role": "system", "content": "old prompt"},
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "  "},
        {"role": "assistant", "content": None},
        {"role": "user", "content": "two"},
    ]
    assert build_messages(None, history, [{"role": "user", "content": "three"}]) == [
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
        {"role": "user", "content": "three"},
    ]


def test_blank_system_prompt_adds_no_system_message() -> None:
    assert build_messages("   ", [], [{"role": "user", "content": "hi"}]) == [
        {"role": "user", "content": "hi"}
    ]


def test_title_collapses_whitespace() -> None:
    assert title_from("  What is\n\tDuckDB?  ") == "What is DuckDB?"


def test_title_of_exactly_the_limit_is_kept_whole() -> None:
    text = "a" * TITLE_CHARS
    assert title_from(text) == text


def test_long_title_is_cut_to_60_characters_with_an_ellipsis() -> None:
    title = title_from("word " * 40)
    assert TITLE_CHARS == 60
    assert len(title) <= 60
    assert title.endswith("…")
    assert not title.endswith(" …")
    assert title.startswith("word word")

    dense = title_from("x" * 100)
    assert dense == "x" * 59 + "…"


def test_rewound_drops_the_last_answer_and_replaces_an_edited_question() -> None:
    history = [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"},
               {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}]
    assert [m["content"] for m in rewound(history, None)] == ["Q1", "A1", "Q2"]
    assert [m["content"] for m in rewound(history, "Q2, better")] == ["Q1", "A1", "Q2, better"]
    assert history[2]["content"] == "Q2", "the stored history is not changed"


def test_rewound_to_an_earlier_question_drops_every_turn_after_it() -> None:
    """Issue 12, defect 4: any of the user's messages may be edited; the turns after it go."""
    history = [{"id": 1, "role": "user", "content": "Q1"},
               {"id": 2, "role": "assistant", "content": "A1"},
               {"id": 3, "role": "user", "content": "Q2"},
               {"id": 4, "role": "assistant", "content": "A2"}]
    assert [m["content"] for m in rewound(history, "Q1, better", 1)] == ["Q1, better"]
    assert [m["content"] for m in rewound(history, None, 3)] == ["Q1", "A1", "Q2"]


def test_rewound_needs_a_question() -> None:
    with pytest.raises(LookupError):
        rewound([{"role": "assistant", "content": "hello"}], None)
    answer_or_missing = [{"id": 1, "role": "user", "content": "Q"},
                         {"id": 2, "role": "assistant", "content": "A"}]
    for message_id in (2, 7):  # an answer is not a question; 7 is not in the conversation
        with pytest.raises(LookupError):
            rewound(answer_or_missing, "edited", message_id)
