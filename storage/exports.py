"""Usage exports (CSV and Parquet) and Parquet snapshots for notebooks.

DuckDB lets no second process open the live database file, so notebooks read the snapshots
the app writes here (periodically and on demand) or call the export endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path

import duckdb

from storage.db import Database

log = logging.getLogger(__name__)

BOM = b"\xef\xbb\xbf"  # so that Excel reads UTF-8 (Korean names) correctly

# The plan's section 10 fields, plus when, how fast the first token came, and the outcome.
USAGE_QUERY = """
SELECT r.created_at, r.request_id, r.user_id, u.username, r.model,
       coalesce(r.input_tokens, 0) + coalesce(r.output_tokens, 0) AS ctx_len,
       r.input_tokens, r.output_tokens, r.latency_ms, r.ttft_ms, r.status, r.status_code,
       r.conv_id
FROM requests r LEFT JOIN users u ON u.id = r.user_id
WHERE (CAST(? AS BIGINT) IS NULL OR r.user_id = ?)
  AND (CAST(? AS TIMESTAMPTZ) IS NULL OR r.created_at >= ?)
  AND (CAST(? AS TIMESTAMPTZ) IS NULL OR r.created_at < ?)
ORDER BY r.created_at, r.id
"""

SNAPSHOT_TABLES = {
    "requests": "SELECT * FROM requests",
    "messages": "SELECT * FROM messages",
    "conversations": "SELECT * FROM conversations",
    "users": "SELECT id, username, role, created_at FROM users",  # never the password hashes
}


def _usage(conn: duckdb.DuckDBPyConnection, start: datetime | None, end: datetime | None,
           user_id: int | None) -> duckdb.DuckDBPyRelation:
    # A cursor of its own: a relation may not start while the shared connection still holds
    # the result of an earlier statement.
    return conn.cursor().sql(USAGE_QUERY, params=[user_id, user_id, start, start, end, end])


def usage_csv(conn: duckdb.DuckDBPyConnection, start: datetime | None, end: datetime | None,
              user_id: int | None) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "usage.csv"
        _usage(conn, start, end, user_id).write_csv(str(path), header=True)
        return BOM + path.read_bytes()


def usage_parquet(conn: duckdb.DuckDBPyConnection, start: datetime | None, end: datetime | None,
                  user_id: int | None) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "usage.parquet"
        _usage(conn, start, end, user_id).write_parquet(str(path))
        return path.read_bytes()


def write_snapshot(conn: duckdb.DuckDBPyConnection, directory: Path) -> list[Path]:
    """One Parquet file per table, each replaced whole (written aside, then renamed)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, query in SNAPSHOT_TABLES.items():
        target = directory / f"{name}.parquet"
        partial = directory / f".{name}.parquet.partial"
        conn.cursor().sql(query).write_parquet(str(partial))
        os.replace(partial, target)
        written.append(target)
    return written


class SnapshotWriter:
    """Writes a snapshot every `interval_s`, on demand, and once more when the app stops."""

    def __init__(self, db: Database, directory: Path, interval_s: float = 300) -> None:
        self._db = db
        self.directory = directory
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.snapshot_now()
            except Exception:
                log.exception("usage snapshot failed")

    async def snapshot_now(self) -> list[Path]:
        return await self._db.run(lambda conn: write_snapshot(conn, self.directory))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            with contextlib.suppress(Exception):
                await self.snapshot_now()
