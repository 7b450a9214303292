"""The batch writer: writes are committed together, a bad one does not lose the rest, stop flushes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import pytest

from storage.db import Database
from storage.writer import BatchWriter


def insert(value: int) -> object:
    def write(conn: duckdb.DuckDBPyConnection) -> None:
        conn.execute("INSERT INTO numbers VALUES (?)", [value])
    return write


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "db.duckdb")
    database.call(lambda c: c.execute("CREATE TABLE numbers (n INTEGER PRIMARY KEY)"))
    return database


def stored(db: Database) -> list[int]:
    return [row[0] for row in db.call(lambda c: c.execute("SELECT n FROM numbers ORDER BY n").fetchall())]


async def test_concurrent_writes_are_committed_in_few_transactions(db: Database) -> None:
    writer = BatchWriter(db)
    writer.start()
    await asyncio.gather(*(writer.write(insert(n)) for n in range(200)))  # type: ignore[arg-type]
    await writer.stop()
    assert stored(db) == list(range(200))
    assert writer.writes == 200
    assert writer.batches < 200
    db.close()


async def test_a_failing_write_fails_alone(db: Database) -> None:
    writer = BatchWriter(db)
    writer.start()
    results = await asyncio.gather(
        writer.write(insert(1)), writer.write(insert(1)), writer.write(insert(2)),  # type: ignore[arg-type]
        return_exceptions=True)
    await writer.stop()
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], duckdb.ConstraintException)
    assert stored(db) == [1, 2]
    db.close()


async def test_stop_commits_everything_queued(db: Database) -> None:
    writer = BatchWriter(db)
    writer.start()
    pending = [asyncio.ensure_future(writer.write(insert(n))) for n in range(50)]  # type: ignore[arg-type]
    await asyncio.sleep(0)
    await writer.stop()
    await asyncio.gather(*pending)
    assert stored(db) == list(range(50))
    db.close()


async def test_writing_to_a_stopped_writer_is_an_error(db: Database) -> None:
    writer = BatchWriter(db)
    with pytest.raises(RuntimeError, match="not running"):
        await writer.write(insert(1))  # type: ignore[arg-type]
    db.close()
