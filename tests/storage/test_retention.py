"""Retention: old conversations (never one being answered) and old usage rows go; the rest,
and everything when retention is off, stays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import AppFactory
from helpers import eventually, http

from storage import conversations, drafts, usage, users
from storage.db import Database
from storage.retention import RetentionSweeper, next_run
from storage.usage import UsageRecord

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def conversation_aged(db: Database, user_id: int, days: int, title: str,
                      answering: bool = False) -> int:
    def make(conn: duckdb.DuckDBPyConnection) -> int:
        conv = conversations.create(conn, user_id, title, None, "m")
        question = conversations.add_message(conn, conv.id, "user", "hi")
        conversations.add_message(conn, conv.id, "assistant", "hello")
        if answering:
            drafts.start(conn, drafts.Draft(question, conv.id, "r", user_id, "m"))
        conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?",
                     [NOW - timedelta(days=days), conv.id])
        return conv.id
    return db.call(make)


def usage_aged(db: Database, user_id: int, days: int) -> None:
    def make(conn: duckdb.DuckDBPyConnection) -> None:
        usage.insert(conn, UsageRecord(f"r{days}", user_id, None, "m", "completed", 200))
        conn.execute("UPDATE requests SET created_at = ? WHERE request_id = ?",
                     [NOW - timedelta(days=days), f"r{days}"])
    db.call(make)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "vllm_chat.duckdb")
    yield database
    database.close()


async def test_old_conversations_and_usage_rows_go_the_rest_stays(db: Database) -> None:
    user = db.call(lambda c: users.create(c, "u", "x", "user")).id
    old = conversation_aged(db, user, 40, "old")
    answering = conversation_aged(db, user, 40, "old but being answered", answering=True)
    recent = conversation_aged(db, user, 5, "recent")
    for days in (100, 20):
        usage_aged(db, user, days)
    swept = await RetentionSweeper(db, 30, 90, clock=lambda: NOW).sweep_now()
    assert (swept.conversations, swept.usage_rows) == (1, 1)
    left = db.call(lambda c: [r[0] for r in c.execute(
        "SELECT id FROM conversations ORDER BY id").fetchall()])
    assert left == [answering, recent]
    assert db.call(lambda c: c.execute(
        "SELECT count(*) FROM messages WHERE conv_id = ?", [old]).fetchone()) == (0,)
    assert db.call(lambda c: c.execute("SELECT request_id FROM requests").fetchall()) == [("r20",)]


async def test_with_retention_off_nothing_goes(db: Database) -> None:
    user = db.call(lambda c: users.create(c, "u", "x", "user")).id
    conversation_aged(db, user, 4000, "ancient")
    usage_aged(db, user, 4000)
    sweeper = RetentionSweeper(db, None, None, clock=lambda: NOW)
    assert not sweeper.enabled
    swept = await sweeper.sweep_now()
    assert (swept.conversations, swept.usage_rows) == (0, 0)


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 12, 7, 2, 59, tzinfo=UTC), datetime(2026, 12, 7, 3, tzinfo=UTC)),
    (datetime(2026, 12, 7, 3, 0, tzinfo=UTC), datetime(2026, 12, 8, 3, tzinfo=UTC)),
    (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), datetime(2027, 1, 1, 3, tzinfo=UTC))])
def test_the_sweep_runs_each_night_at_its_hour(now: datetime, expected: datetime) -> None:
    assert next_run(now, 3) == expected


def test_an_app_with_retention_sweeps_when_it_starts(app_factory: AppFactory,
                                                    tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    db = Database(data_dir / "vllm_chat.duckdb")
    try:
        user = db.call(lambda c: users.create(c, "old-user", "x", "user")).id
        old = conversation_aged(db, user, 400, "from last year")
    finally:
        db.close()
    server = app_factory({"RETENTION_DAYS": "30", "USAGE_RETENTION_DAYS": "365"})
    admin = server.auth("admin", "admin123")

    def gone() -> bool:
        response = http.get(f"{server.url}/api/conversations/{old}", headers=admin)
        return response.status_code == 404
    assert eventually(gone), "the conversation untouched for 400 days was deleted at start"
