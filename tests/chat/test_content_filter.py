"""Banned words (BANNED_WORDS_FILE): how the list is read and what it matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat.content_filter import BannedWords, BannedWordsFileError, mask


def words_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "banned.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_no_filter() -> None:
    assert BannedWords.from_file(None).first_match(["anything at all"]) is None


def test_comments_and_blank_lines_are_not_words(tmp_path: Path) -> None:
    banned = BannedWords.from_file(words_file(tmp_path, "# a comment\n\n   \nSpam Eggs\n  욕설  \n"))
    assert banned.words == ("spam eggs", "욕설")
    assert banned.first_match(["# a comment", "nothing here"]) is None


def test_matching_ignores_case_and_finds_words_inside_longer_text(tmp_path: Path) -> None:
    banned = BannedWords.from_file(words_file(tmp_path, "Spam Eggs\nSTRASSE\n욕설\n"))
    assert banned.first_match(["I like SPAM eggs a lot"]) == "spam eggs"
    assert banned.first_match(["die Straße"]) == "strasse", "casefold, not lower"
    # Korean attaches particles to the word: only a substring match finds 욕설이 or 욕설을.
    assert banned.first_match(["이건 욕설이 아니다"]) == "욕설"
    # Documented: Latin words match inside longer words too.
    assert banned.first_match(["spammy", "no", "a spam eggshell"]) == "spam eggs"
    assert banned.first_match(["spam and eggs"]) is None


def test_look_alike_spellings_are_matched_after_normalising(tmp_path: Path) -> None:
    banned = BannedWords.from_file(words_file(tmp_path, "badword\n욕설\n"))
    assert banned.first_match(["ｂａｄｗｏｒｄ"]) == "badword", "full-width letters"
    decomposed = "\u110b\u116d\u11a8\u1109\u1165\u11af"  # 욕설 typed as separate jamo (NFD)
    assert banned.first_match([decomposed]) == "욕설"


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BannedWordsFileError, match=r"BANNED_WORDS_FILE .*missing\.txt"):
        BannedWords.from_file(tmp_path / "missing.txt")


def test_a_matched_word_is_masked_for_the_log() -> None:
    assert mask("badword") == "b***"
    assert mask("욕설") == "욕***"
