"""What a small model writes around a title, taken off (issue 12: titles such as "Sender: …",
"Here's a possible title: …" and quoted ones reached the sidebar)."""

from __future__ import annotations

import pytest

from chat.titles import clean_title


@pytest.mark.parametrize(("written", "title"), [
    ("Ocean Names", "Ocean Names"),
    ('"Ocean Names"', "Ocean Names"),
    ("Sender: Ocean names", "Ocean names"),
    ("Assistant: Ocean names.", "Ocean names"),
    ('Here\'s a possible title: "Ocean Names"', "Ocean Names"),
    ("Sure! Here is a short title for the conversation: Ocean Names", "Ocean Names"),
    ('Here is a title for this conversation:\n\n"Ocean Names"', "Ocean Names"),
    ("**Title:** Ocean Names", "Ocean Names"),
    ("Title - *Ocean Names*", "Ocean Names"),
    ("<think>They ask about oceans.</think>“Ocean Names”", "Ocean Names"),
    ("제목: 바다 이름", "바다 이름"),
    ("“바다 이름”", "바다 이름"),
    ("Subject: Re: Ocean", "Re: Ocean"),
])
def test_a_title_loses_what_the_model_wrote_around_it(written: str, title: str) -> None:
    assert clean_title(written) == title


@pytest.mark.parametrize("written", ["", "  \n", '""', "Title:", "Here's a possible title:"])
def test_nothing_left_is_no_title(written: str) -> None:
    assert clean_title(written) is None
