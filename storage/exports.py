"""Usage exports (CSV and Parquet) and Parquet snapshots for notebooks.

DuckDB lets no second process open the live database file, not even read-only, while the app
holds it. Notebooks therefore read the snapshots the app writes into DATA_DIR/exports
(periodically, on demand and at shutdown) or call the export endpoint.

`usage_frame` and `write_snapshot` take the app's connection and run on the Database's worker
thread (`await db.run(lambda c: ...)`). `to_csv_bytes` and `to_parquet_bytes` work on a
DataFrame alone, with a private in-memory DuckDB, so they may run on any thread.

Times are UTC: naive bounds are taken to be UTC already, and the range is half-open
(start <= created_at < end), as in storage/analytics.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from storage.db import Database
from storage.transactions import transaction

log = logging.getLogger(__name__)

BOM = b"\xef\xbb\xbf"  # so that Excel reads UTF-8 (Korean names) correctly

# The plan's section 10 fields, plus when, how fast the first token came, and the outcome.
# The pandas dtypes are fixed so that a column with no values (an empty range, a ttft_ms
# that is always NULL) still has its type when it is written to Parquet.
USAGE_DTYPES: dict[str, str] = {
    "created_at": "datetime64[us, UTC]",
    "request_id": "string",
    "user_id": "Int64",
    "username": "string",
    "model": "string",
    "ctx_len": "Int32",  # input + output: the tokens the request held in the context window
    "input_tokens": "Int32",
    "output_tokens": "Int32",
    "latency_ms": "Int32",
    "ttft_ms": "Int32",
    "status": "string",
    "status_code": "Int32",
    "conv_id": "Int64",
}
USAGE_COLUMNS = list(USAGE_DTYPES)

USAGE_QUERY = """
SELECT r.created_at, r.request_id, r.user_id, u.username, r.model,
       CASE WHEN r.input_tokens IS NULL AND r.output_tokens IS NULL THEN NULL
            ELSE coalesce(r.input_tokens, 0) + coalesce(r.output_tokens, 0) END AS ctx_len,
       r.input_tokens, r.output_tokens, r.latency_ms, r.ttft_ms, r.status, r.status_code,
       r.conv_id
FROM requests r LEFT JOIN users u ON u.id = r.user_id
WHERE (CAST(? AS BIGINT) IS NULL OR r.user_id = ?)
  AND (CAST(? AS VARCHAR) IS NULL OR r.model = ?)
  AND (CAST(? AS TIMESTAMPTZ) IS NULL OR r.created_at >= ?)
  AND (CAST(? AS TIMESTAMPTZ) IS NULL OR r.created_at < ?)
ORDER BY r.created_at, r.id
"""

# Written in this order, referenced tables first, so that a reader who catches the files
# being replaced sees no request whose user is missing.
SNAPSHOT_TABLES: dict[str, str] = {
    "users": "SELECT id, username, role, created_at FROM users",  # never the password hashes
    "conversations": "SELECT * FROM conversations",
    "messages": "SELECT * FROM messages",
    "requests": "SELECT * FROM requests",
}
SNAPSHOT_FILES = [f"{name}.parquet" for name in SNAPSHOT_TABLES]


def as_utc(value: datetime | None) -> datetime | None:
    """Aware datetimes are converted to UTC; naive ones are taken to be UTC already."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def usage_frame(conn: duckdb.DuckDBPyConnection, start: datetime | None, end: datetime | None,
                user_id: int | None, model: str | None = None) -> pd.DataFrame:
    """Usage rows, oldest first, in USAGE_COLUMNS order with USAGE_DTYPES.

    start/end None = unbounded; user_id None = everyone (decide that from the caller's role);
    model None = every model.
    """
    start, end = as_utc(start), as_utc(end)
    params = [user_id, user_id, model, model, start, start, end, end]
    # A cursor of its own: a relation may not start while the shared connection still holds
    # the result of an earlier statement.
    frame = conn.cursor().sql(USAGE_QUERY, params=params).df()
    return frame.astype(USAGE_DTYPES)


def _serialise(frame: pd.DataFrame, suffix: str,
               write: Callable[[duckdb.DuckDBPyRelation, str], None]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="vllm-chat-export-") as tmp, duckdb.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")  # timestamps in the CSV read "...+00"
        path = Path(tmp) / f"export.{suffix}"
        write(conn.from_df(frame), str(path))
        return path.read_bytes()


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV with a header, UTF-8 with a byte-order mark; NULL is an empty field."""
    return BOM + _serialise(frame, "csv", lambda rel, path: rel.write_csv(path, header=True))


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Parquet written by DuckDB (no pyarrow needed), column types kept from the dtypes."""
    return _serialise(frame, "parquet", lambda rel, path: rel.write_parquet(path))


def write_snapshot(conn: duckdb.DuckDBPyConnection, directory: Path) -> list[Path]:
    """One Parquet file per table, read in one transaction and each replaced whole.

    Every file is first written under a hidden temporary name in the same directory, and the
    renames follow once all four are written, so a reader sees either the old file or the
    new one, never a partial file. Returns the paths in SNAPSHOT_FILES order.
    """
    directory.mkdir(parents=True, exist_ok=True)
    cursor = conn.cursor()
    partials: list[tuple[Path, Path]] = []
    try:
        # One consistent view of all four tables; it only reads, so its commit changes nothing.
        with transaction(cursor):
            for name, query in SNAPSHOT_TABLES.items():
                target = directory / f"{name}.parquet"
                partial = directory / f".{name}.parquet.partial"
                partials.append((partial, target))
                cursor.sql(query).write_parquet(str(partial))
        for partial, target in partials:
            os.replace(partial, target)
    finally:
        for partial, _ in partials:
            partial.unlink(missing_ok=True)
        cursor.close()
    return [target for _, target in partials]


class SnapshotWriter:
    """Writes a snapshot every `interval_s`, on demand, and once more when it stops."""

    def __init__(self, db: Database, directory: Path, interval_s: float = 300) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self._db = db
        self.directory = directory
        self.interval_s = interval_s
        self.last_written: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="snapshots")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.snapshot_now()
            except Exception:
                log.exception("usage snapshot into %s failed", self.directory)

    async def snapshot_now(self) -> list[Path]:
        paths = await self._db.run(lambda conn: write_snapshot(conn, self.directory))
        self.last_written = datetime.now(UTC)
        return paths

    async def stop(self) -> None:
        """Ends the periodic task and writes one final snapshot (call before db.close())."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.snapshot_now()
        except Exception:
            log.exception("final usage snapshot into %s failed", self.directory)
