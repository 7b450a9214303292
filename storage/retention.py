"""Retention: conversations untouched for RETENTION_DAYS, and usage rows older than
USAGE_RETENTION_DAYS, are deleted once when the app starts and then every night at
RETENTION_HOUR_UTC. Both are off unless set. A conversation with an answer being written (its
draft exists) is never deleted; usage rows outlive the conversations they count, as when a
user deletes one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from storage.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Swept:
    conversations: int
    usage_rows: int


def delete_conversations_before(conn: duckdb.DuckDBPyConnection, cutoff: datetime) -> int:
    """Conversations last changed before `cutoff`, with their messages."""
    ids = [row[0] for row in conn.execute(
        "SELECT id FROM conversations c WHERE c.updated_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM answer_drafts d WHERE d.conv_id = c.id)",
        [cutoff]).fetchall()]
    if ids:
        # Separate statements, each committed: DuckDB checks a foreign key against committed
        # rows, so the messages must be gone before their conversations can go.
        conn.execute("DELETE FROM messages WHERE list_contains(?, conv_id)", [ids])
        conn.execute("DELETE FROM conversations WHERE list_contains(?, id)", [ids])
    return len(ids)


def delete_usage_before(conn: duckdb.DuckDBPyConnection, cutoff: datetime) -> int:
    row = conn.execute("DELETE FROM requests WHERE created_at < ? RETURNING 1", [cutoff])
    return len(row.fetchall())


def next_run(now: datetime, hour_utc: int) -> datetime:
    """The next `hour_utc`:00 UTC strictly after `now`."""
    at = now.astimezone(UTC).replace(hour=hour_utc, minute=0, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


class RetentionSweeper:
    def __init__(self, db: Database, conversation_days: int | None, usage_days: int | None,
                 hour_utc: int = 3, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._db = db
        self.conversation_days = conversation_days
        self.usage_days = usage_days
        self.hour_utc = hour_utc
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.conversation_days is not None or self.usage_days is not None

    async def sweep_now(self) -> Swept:
        now = self._clock()
        conversation_days, usage_days = self.conversation_days, self.usage_days

        def sweep(conn: duckdb.DuckDBPyConnection) -> Swept:
            return Swept(
                0 if conversation_days is None else delete_conversations_before(
                    conn, now - timedelta(days=conversation_days)),
                0 if usage_days is None else delete_usage_before(
                    conn, now - timedelta(days=usage_days)))

        swept = await self._db.run(sweep)
        log.info("retention: deleted %d conversations (older than %s days) and %d usage rows"
                 " (older than %s days)", swept.conversations, conversation_days,
                 swept.usage_rows, usage_days)
        return swept

    async def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="retention")

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep_now()
            except Exception:
                log.exception("retention sweep failed")
            now = self._clock()
            await asyncio.sleep((next_run(now, self.hour_utc) - now).total_seconds())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
