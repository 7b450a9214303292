"""The caller's language from Accept-Language: Korean or English, English by default."""

from __future__ import annotations

import pytest

from languages import language


@pytest.mark.parametrize(("accept_language", "expected"), [
    ("ko-KR,ko;q=0.9,en-US;q=0.8", "ko"),
    ("en-US,en;q=0.9,ko;q=0.8", "en"),
    ("fr-FR,ko;q=0.5", "ko"),  # the first of the two the app writes in
    ("fr-FR,de;q=0.5", "en"),
    ("", "en"),
    (None, "en"),
])
def test_the_first_of_korean_or_english_the_browser_names_wins(
        accept_language: str | None, expected: str) -> None:
    assert language(accept_language) == expected
