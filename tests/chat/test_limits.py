"""Answers at once per user and the daily token quota (chat/limits.py)."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from chat.limits import ConcurrentAnswers, DailyQuota, seconds_until_utc_midnight
from errors import RateLimited
from storage import users
from storage.db import Database
from storage.usage import UsageRecord, insert


def test_answers_past_the_per_user_limit_are_refused_until_one_ends() -> None:
    limit = ConcurrentAnswers(2)
    first, _second = limit.acquire(1), limit.acquire(1)
    with pytest.raises(RateLimited) as refused:
        limit.acquire(1)
    assert (refused.value.code, refused.value.retry_after_s) == ("too_many_concurrent", 1)
    limit.acquire(2)  # another user has their own count
    first.release()
    first.release()  # a second release of the same answer frees nothing more
    limit.acquire(1)
    with pytest.raises(RateLimited):
        limit.acquire(1)


def test_zero_means_no_limit() -> None:
    limit = ConcurrentAnswers(0)
    for _ in range(50):
        limit.acquire(1)


def test_a_slot_never_released_is_freed_with_the_turn_that_held_it() -> None:
    class Turn:
        pass

    limit = ConcurrentAnswers(1)
    turn = Turn()
    limit.acquire(1).release_with(turn)
    with pytest.raises(RateLimited):
        limit.acquire(1)
    del turn
    gc.collect()
    limit.acquire(1)


def test_a_slot_is_released_when_what_follows_its_acquisition_fails() -> None:
    limit = ConcurrentAnswers(1)
    with pytest.raises(ValueError), limit.acquire(1).released_on_error():
        raise ValueError("storing the turn failed")
    limit.acquire(1)


@pytest.mark.parametrize(("now", "seconds"), [
    (datetime(2026, 3, 1, 23, 59, 30, tzinfo=UTC), 30),
    (datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC), 86_400),
    # 08:30 in Seoul is 23:30 UTC the day before.
    (datetime(2026, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=9))), 1800),
])
def test_the_quota_starts_again_at_utc_midnight(now: datetime, seconds: int) -> None:
    assert seconds_until_utc_midnight(now) == seconds


def used(db: Database, user_id: int, at: datetime, tokens_in: int, tokens_out: int | None) -> None:
    record = UsageRecord(request_id="r", user_id=user_id, conv_id=None, model="m",
                         status="completed", status_code=200, input_tokens=tokens_in,
                         output_tokens=tokens_out)
    db.call(lambda c: insert(c, record))
    db.call(lambda c: c.execute("UPDATE requests SET created_at = ? WHERE id = (SELECT max(id)"
                                " FROM requests)", [at]))


async def test_a_user_whose_tokens_today_reach_the_quota_is_refused_until_midnight(
    db: Database,
) -> None:
    alice = db.call(lambda c: users.create(c, "alice", "not-a-real-hash", "user"))
    bob = db.call(lambda c: users.create(c, "bob", "not-a-real-hash", "user"))
    now = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
    used(db, alice.id, now - timedelta(days=1), 5000, 5000)  # yesterday's do not count
    used(db, alice.id, now - timedelta(hours=3), 40, 50)
    used(db, alice.id, now - timedelta(hours=1), 9, None)  # failed before its first token
    used(db, bob.id, now, 500, 500)
    quota = DailyQuota(100, db, clock=lambda: now)
    await quota.check(alice.id)  # 99 of 100
    used(db, alice.id, now, 1, 0)
    with pytest.raises(RateLimited) as refused:
        await quota.check(alice.id)
    assert refused.value.code == "quota_exceeded"
    assert refused.value.retry_after_s == 2 * 3600
    assert "100" in refused.value.message


async def test_no_quota_asks_nothing_of_the_database(tmp_path: Path) -> None:
    closed = Database(tmp_path / "db.duckdb")
    closed.close()
    await DailyQuota(0, closed).check(1)
    await DailyQuota(None, closed).check(1)
