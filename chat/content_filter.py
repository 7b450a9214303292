"""Banned words (BANNED_WORDS_FILE): what a user sends that contains one is refused before
anything is stored or sent to the engine.

A word matches anywhere inside the text, after both are NFKC-normalised and case-folded.
Substrings are what Korean needs: particles attach to the word (욕설이, 욕설을), so a
whole-word match would miss nearly every use. Latin words are matched the same way, which also
finds them inside longer words ("ass" in "class"): list phrases and words long enough not to
occur inside innocent ones. NFKC folds full-width letters and Hangul typed as separate jamo
into the usual forms, so those spellings do not slip past.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from errors import InvalidInput


class BannedWordsFileError(ValueError):
    """BANNED_WORDS_FILE is set but cannot be read; the app does not start without its filter."""


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def mask(word: str) -> str:
    """A matched word as the log shows it: enough to tell which entry, not the word itself."""
    return f"{word[:1]}***"


@dataclass(frozen=True)
class BannedWords:
    words: tuple[str, ...] = ()

    @classmethod
    def from_file(cls, path: Path | None) -> BannedWords:
        """One word or phrase a line; blank lines and lines starting with # are skipped."""
        if path is None:
            return cls()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise BannedWordsFileError(
                f"BANNED_WORDS_FILE {path} cannot be read ({reason}); fix the path or unset it"
            ) from exc
        lines = (line.strip() for line in text.splitlines())
        words = (_normal(line) for line in lines if line and not line.startswith("#"))
        return cls(tuple(dict.fromkeys(word for word in words if word)))

    def first_match(self, texts: Iterable[str]) -> str | None:
        """The first banned word found in any of the texts, or None."""
        if not self.words:
            return None
        for text in texts:
            normal = _normal(text)
            for word in self.words:
                if word in normal:
                    return word
        return None


def content_blocked() -> InvalidInput:
    # The word is not named: the user knows what they wrote, and the list stays unpublished.
    return InvalidInput("The message contains a word or phrase that is not allowed here",
                        code="content_blocked")
