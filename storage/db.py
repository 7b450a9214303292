"""The DuckDB file: one connection, used from one worker thread so the event loop never waits on it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from storage.migrations import migrate

T = TypeVar("T")


class Database:
    """Owns the connection. Every call runs on a single dedicated thread, in order.

    DuckDB allows one read-write process per file, and one writer thread keeps
    statements from interleaving; awaiting `run` keeps DuckDB off the event loop.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="duckdb"
        )
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._thread_id: int | None = None
        self._executor.submit(self._open).result()

    def _open(self) -> None:
        self._conn = duckdb.connect(str(self.path))
        self._thread_id = threading.get_ident()
        migrate(self._conn)

    def call(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Blocking form, for start-up code and scripts that are not on the event loop."""
        if threading.get_ident() == self._thread_id:
            return fn(self._connection())
        return self._executor.submit(lambda: fn(self._connection())).result()

    async def run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self._connection()))

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            raise RuntimeError("database is closed")
        return self._conn

    def ping(self) -> bool:
        try:
            return self.call(lambda c: c.execute("SELECT 1").fetchone()) == (1,)
        except Exception:
            return False

    def close(self) -> None:
        def _close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        self._executor.submit(_close).result()
        self._executor.shutdown(wait=True)


def rows_as_dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    columns = [d[0] for d in cursor.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
