"""One writer for the chat path: small writes queued and committed together.

Each DuckDB autocommit statement syncs its write-ahead log, so one transaction per answer
would make the disk the bottleneck under load. The writer drains its queue into one
transaction per batch; a batch that fails is replayed one write at a time so that one bad
write does not lose the others. `stop()` commits everything queued before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from storage.db import Database
from storage.transactions import transaction

log = logging.getLogger(__name__)

Write = Callable[[duckdb.DuckDBPyConnection], None]


@dataclass
class _Item:
    write: Write
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class BatchWriter:
    def __init__(self, db: Database, max_batch: int = 256) -> None:
        self._db = db
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.writes = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def write(self, write: Write) -> None:
        """Queue a write and wait until it is committed (or raise its error)."""
        if self._task is None or self._task.done():
            raise RuntimeError("the writer is not running")
        item = _Item(write)
        self._queue.put_nowait(item)
        await asyncio.shield(item.done)

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first] if first is not None else []
            stopping = first is None
            while not stopping and len(batch) < self._max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            if batch:
                await self._commit(batch)
            if stopping:
                return

    async def _commit(self, batch: list[_Item]) -> None:
        try:
            await self._db.run(lambda conn: _in_transaction(conn, [i.write for i in batch]))
        except Exception:
            log.warning("a batch of %d writes failed; replaying them one by one", len(batch))
            for item in batch:
                try:
                    await self._db.run(lambda conn, w=item.write: _in_transaction(conn, [w]))  # type: ignore[misc]
                except Exception as exc:
                    _settle(item, exc)
                else:
                    _settle(item, None)
            return
        self.batches += 1
        self.writes += len(batch)
        for item in batch:
            _settle(item, None)

    async def stop(self) -> None:
        """Commit everything queued so far, then end."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None


def _in_transaction(conn: duckdb.DuckDBPyConnection, writes: list[Write]) -> None:
    with transaction(conn):
        for write in writes:
            write(conn)


def _settle(item: _Item, error: BaseException | None) -> None:
    if item.done.done():
        return
    if error is None:
        item.done.set_result(None)
    else:
        item.done.set_exception(error)
