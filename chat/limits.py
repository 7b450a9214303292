"""Per-user limits on answers: how many stream at once (CHAT_CONCURRENT_PER_USER) and how
many tokens a UTC day may use (DAILY_TOKEN_QUOTA)."""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from errors import RateLimited
from storage.db import Database
from storage.usage import tokens_since


class Slot:
    """One answer's place among its user's answers at once. Released once, however the answer
    ends; later releases do nothing."""

    def __init__(self, release: Callable[[], None]) -> None:
        self._release: Callable[[], None] | None = release

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    @contextmanager
    def released_on_error(self) -> Iterator[Slot]:
        """For the steps between taking the slot and handing the answer over to be streamed."""
        try:
            yield self
        except BaseException:
            self.release()
            raise

    def release_with(self, owner: object) -> None:
        """Also release when `owner` (the turn) is garbage: a turn that was prepared but never
        streamed (its caller went away first) must not hold its user's slot for good."""
        weakref.finalize(owner, self.release)


class ConcurrentAnswers:
    """Counted in this process's memory: one process serves every entry point."""

    def __init__(self, per_user: int) -> None:
        self._per_user = per_user
        self._running: dict[int, int] = {}

    def acquire(self, user_id: int) -> Slot:
        running = self._running.get(user_id, 0)
        if self._per_user and running >= self._per_user:
            raise RateLimited(
                f"Too many answers at once: at most {self._per_user} of yours may be written at"
                " the same time. Wait for one to finish or stop it, then try again.",
                retry_after_s=1, code="too_many_concurrent")
        self._running[user_id] = running + 1
        return Slot(lambda: self._ended(user_id))

    def _ended(self, user_id: int) -> None:
        left = self._running.get(user_id, 0) - 1
        if left > 0:
            self._running[user_id] = left
        else:
            self._running.pop(user_id, None)


def _now_utc() -> datetime:
    return datetime.now(UTC)


def seconds_until_utc_midnight(now: datetime) -> int:
    now = now.astimezone(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return max(1, math.ceil((midnight - now).total_seconds()))


class DailyQuota:
    """Tokens counted from the usage rows, so an answer still streaming (or not stored yet)
    is not counted until it ends: the quota may be overrun by the answers already running."""

    def __init__(self, tokens: int | None, db: Database,
                 clock: Callable[[], datetime] = _now_utc) -> None:
        self._tokens = tokens or 0
        self._db = db
        self._clock = clock

    async def check(self, user_id: int) -> None:
        if not self._tokens:
            return
        now = self._clock().astimezone(UTC)
        day_start = datetime(now.year, now.month, now.day, tzinfo=UTC)
        used = await self._db.run(lambda c: tokens_since(c, user_id, day_start))
        if used >= self._tokens:
            wait = seconds_until_utc_midnight(now)
            raise RateLimited(
                f"You have used your {self._tokens} tokens for today; the quota starts again at"
                f" midnight UTC, in {wait // 3600} h {wait % 3600 // 60} min.",
                retry_after_s=wait, code="quota_exceeded")
