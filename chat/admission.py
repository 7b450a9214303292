"""Whether a user's turn may start: checked before anything is stored or sent to the engine.

In order, cheapest and most definite first: banned words (400 `content_blocked`), the daily
token quota (429 `quota_exceeded`), answers at once (429 `too_many_concurrent`), answers per
minute (429 `rate_limited`). A refused turn stores nothing, not even a usage row: it never
became an answer (a cancelled or failed answer is stored, with its usage row). Each refusal is
logged and told to the observers (the /metrics counter).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from auth.rate_limits import RateLimit
from chat.content_filter import BannedWords, content_blocked, mask
from chat.limits import ConcurrentAnswers, DailyQuota, Slot
from chat.messages import flatten_content
from errors import InvalidInput, RateLimited
from settings import Settings
from storage.db import Database
from storage.users import User

log = logging.getLogger(__name__)

# What services that keep text for later call to check it (Admission.check_content).
ContentCheck = Callable[[User, Iterable[str]], None]


class Admission:
    def __init__(self, settings: Settings, db: Database,
                 observers: Iterable[Callable[[str], None]] = ()) -> None:
        # Read once, here: a missing file stops the start (BannedWordsFileError).
        self._banned = BannedWords.from_file(settings.banned_words_file)
        self._quota = DailyQuota(settings.daily_token_quota, db)
        self._at_once = ConcurrentAnswers(settings.chat_concurrent_per_user)
        self._per_minute = RateLimit(settings.chat_rate_limit, "answers")
        self._observers = tuple(observers)

    async def admit(self, user: User, texts: Iterable[str]) -> Slot:
        """The answer's slot among the user's answers at once: whoever streams the answer
        releases it when the answer ends."""
        try:
            return await self._admit(user, texts)
        except (InvalidInput, RateLimited) as exc:
            self._refused(user, exc.code)
            raise

    def check_content(self, user: User, texts: Iterable[str]) -> None:
        """Text kept to be sent later (a saved or a conversation's system prompt) is checked
        like a message, when it is saved."""
        try:
            self._check_words(user, texts)
        except InvalidInput as exc:
            self._refused(user, exc.code)
            raise

    def _check_words(self, user: User, texts: Iterable[str]) -> None:
        word = self._banned.first_match(texts)
        if word is not None:
            log.warning("refused content_blocked for user %s: matched %s", user.id, mask(word))
            raise content_blocked()

    async def _admit(self, user: User, texts: Iterable[str]) -> Slot:
        self._check_words(user, texts)
        await self._quota.check(user.id)
        slot = self._at_once.acquire(user.id)
        with slot.released_on_error():
            self._per_minute.hit(str(user.id))
        return slot

    def _refused(self, user: User, reason: str) -> None:
        if reason != "content_blocked":  # logged with its (masked) word where it was found
            log.info("refused %s for user %s", reason, user.id)
        for observer in self._observers:
            try:
                observer(reason)
            except Exception:
                log.exception("refusal observer failed")


def sent_texts(messages: Iterable[Mapping[str, Any]], *more: str | None) -> list[str]:
    """What the caller wrote in this request: its user and system messages (earlier ones a
    /v1 request repeats are the caller's words too), and a system prompt or an edit given
    apart. Earlier answers a /v1 request repeats are the model's words: not checked."""
    texts = [flatten_content(m.get("content")) for m in messages
             if m.get("role") in ("user", "system")]
    return [*texts, *(text for text in more if text)]
