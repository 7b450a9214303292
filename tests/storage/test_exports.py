"""Usage exports read back: exact CSV with a byte-order mark and Korean text, Parquet's schema,
scoping by user and time, and Parquet snapshots another process reads while the app runs."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from storage import users
from storage.db import Database
from storage.exports import (
    USAGE_COLUMNS,
    SnapshotWriter,
    to_csv_bytes,
    to_parquet_bytes,
    usage_frame,
    write_snapshot,
)

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

PARQUET_SCHEMA = [
    ("created_at", "TIMESTAMP WITH TIME ZONE"), ("request_id", "VARCHAR"), ("user_id", "BIGINT"),
    ("username", "VARCHAR"), ("model", "VARCHAR"), ("ctx_len", "INTEGER"),
    ("input_tokens", "INTEGER"), ("output_tokens", "INTEGER"), ("latency_ms", "INTEGER"),
    ("ttft_ms", "INTEGER"), ("status", "VARCHAR"), ("status_code", "INTEGER"), ("conv_id", "BIGINT"),
]


class Seeded:
    def __init__(self, db: Database, kim: int, lee: int) -> None:
        self.db, self.kim, self.lee = db, kim, lee


def add_request(db: Database, request_id: str, user_id: int, at: datetime, *, status: str = "completed",
                status_code: int = 200, tokens: tuple[int | None, int | None] = (10, 5),
                latency_ms: int | None = 120, ttft_ms: int | None = 30, conv_id: int | None = 1,
                model: str = "smollm2") -> None:
    db.call(lambda c: c.execute(
        "INSERT INTO requests (request_id, user_id, conv_id, model, latency_ms, ttft_ms, input_tokens,"
        " output_tokens, status, status_code, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [request_id, user_id, conv_id, model, latency_ms, ttft_ms, *tokens, status, status_code, at]))


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    """관리자 (admin) made two requests, lee one; one was cancelled with no output counted."""
    db = Database(tmp_path / "vllm_chat.duckdb")
    kim = db.call(lambda c: users.create(c, "관리자", "secret-hash", "admin")).id
    lee = db.call(lambda c: users.create(c, "lee", "secret-hash", "user")).id
    add_request(db, "r1", kim, T0)
    add_request(db, "r2", lee, T0 + timedelta(hours=1), status="cancelled", tokens=(7, None),
                latency_ms=900, ttft_ms=None, conv_id=2, model='odd,"name"')
    add_request(db, "r3", kim, T0 + timedelta(hours=2), status="failed", status_code=502,
                tokens=(None, None), latency_ms=None, ttft_ms=None, conv_id=None)
    yield Seeded(db, kim, lee)
    db.close()


def csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_is_utf8_with_a_bom_the_plans_columns_and_korean_names_intact(seeded: Seeded) -> None:
    body = seeded.db.call(lambda c: to_csv_bytes(usage_frame(c, None, None, None)))

    assert body[:3] == b"\xef\xbb\xbf"
    assert body[3:].decode("utf-8") == (
        "created_at,request_id,user_id,username,model,ctx_len,input_tokens,output_tokens,"
        "latency_ms,ttft_ms,status,status_code,conv_id\n"
        f"2026-11-01 09:00:00+00,r1,{seeded.kim},관리자,smollm2,15,10,5,120,30,completed,200,1\n"
        f'2026-11-01 10:00:00+00,r2,{seeded.lee},lee,"odd,""name""",7,7,,900,,cancelled,200,2\n'
        f"2026-11-01 11:00:00+00,r3,{seeded.kim},관리자,smollm2,,,,,,failed,502,\n"
    )
    rows = csv_rows(body)
    assert list(rows[0]) == USAGE_COLUMNS
    assert rows[1]["model"] == 'odd,"name"'


def test_parquet_reads_back_with_the_column_names_and_types(seeded: Seeded, tmp_path: Path) -> None:
    path = tmp_path / "usage.parquet"
    path.write_bytes(seeded.db.call(lambda c: to_parquet_bytes(usage_frame(c, None, None, None))))

    reader = duckdb.connect()
    assert [(r[0], r[1]) for r in reader.sql(f"DESCRIBE SELECT * FROM '{path}'").fetchall()] == PARQUET_SCHEMA
    assert reader.sql(f"SELECT request_id, username, ctx_len, created_at FROM '{path}'").fetchall() == [
        ("r1", "관리자", 15, T0),
        ("r2", "lee", 7, T0 + timedelta(hours=1)),
        ("r3", "관리자", None, T0 + timedelta(hours=2)),
    ]


def test_an_empty_export_keeps_its_header_and_its_parquet_types(seeded: Seeded, tmp_path: Path) -> None:
    empty = seeded.db.call(lambda c: usage_frame(c, T0 + timedelta(days=1), None, None))
    assert empty.empty
    assert to_csv_bytes(empty).decode("utf-8-sig") == ",".join(USAGE_COLUMNS) + "\n"
    path = tmp_path / "empty.parquet"
    path.write_bytes(to_parquet_bytes(empty))
    described = duckdb.connect().sql(f"DESCRIBE SELECT * FROM '{path}'").fetchall()
    assert [(r[0], r[1]) for r in described] == PARQUET_SCHEMA


def test_a_user_id_limits_the_rows_to_that_users_own(seeded: Seeded) -> None:
    def ids(user_id: int | None) -> list[str]:
        return list(seeded.db.call(lambda c: usage_frame(c, None, None, user_id)).request_id)

    assert ids(seeded.kim) == ["r1", "r3"]
    assert ids(seeded.lee) == ["r2"]
    assert ids(None) == ["r1", "r2", "r3"]


def test_the_time_range_includes_its_start_and_excludes_its_end(seeded: Seeded) -> None:
    def ids(start: datetime | None, end: datetime | None) -> list[str]:
        return list(seeded.db.call(lambda c: usage_frame(c, start, end, None)).request_id)

    assert ids(T0 + timedelta(hours=1), T0 + timedelta(hours=2)) == ["r2"]
    assert ids(None, T0 + timedelta(hours=1)) == ["r1"]
    assert ids(T0 + timedelta(hours=1), None) == ["r2", "r3"]
    # Naive bounds are UTC; aware ones in another zone are converted (10:00 UTC = 19:00 KST).
    assert ids(datetime(2026, 11, 1, 10, 0), None) == ["r2", "r3"]
    kst = timezone(timedelta(hours=9))
    assert ids(datetime(2026, 11, 1, 19, 0, tzinfo=kst), datetime(2026, 11, 1, 20, 0, tzinfo=kst)) == ["r2"]


def test_a_model_limits_the_rows_to_that_models_and_combines_with_a_user(seeded: Seeded) -> None:
    def ids(model: str | None, user_id: int | None = None) -> list[str]:
        return list(seeded.db.call(lambda c: usage_frame(c, None, None, user_id, model)).request_id)

    assert ids("smollm2") == ["r1", "r3"]
    assert ids('odd,"name"') == ["r2"]
    assert ids('odd,"name"', seeded.kim) == []
    assert ids("no such model") == []


READ_SNAPSHOT = """
import sys, duckdb
exports, live = sys.argv[1], sys.argv[2]
try:
    duckdb.connect(live, read_only=True)
    print("live file opened")
except duckdb.Error:
    print("live file locked")
for table in ("users", "conversations", "messages", "requests"):
    print(table, duckdb.sql(f"SELECT count(*) FROM '{exports}/{table}.parquet'").fetchall()[0][0])
columns = duckdb.sql(f"DESCRIBE SELECT * FROM '{exports}/users.parquet'").fetchall()
print("user columns", ",".join(r[0] for r in columns))
"""


def test_another_process_reads_the_snapshot_while_the_database_holds_the_live_file(
        seeded: Seeded, tmp_path: Path) -> None:
    directory = tmp_path / "exports"
    paths = seeded.db.call(lambda c: write_snapshot(c, directory))
    assert sorted(p.name for p in paths) == ["conversations.parquet", "messages.parquet",
                                            "requests.parquet", "users.parquet"]

    out = subprocess.run([sys.executable, "-c", READ_SNAPSHOT, str(directory), str(seeded.db.path)],
                         capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    assert out == ["live file locked", "users 2", "conversations 0", "messages 0", "requests 3",
                   "user columns id,username,role,created_at"]


def test_a_new_snapshot_replaces_the_files_whole_and_leaves_no_temporary_files(
        seeded: Seeded, tmp_path: Path) -> None:
    directory = tmp_path / "exports"
    seeded.db.call(lambda c: write_snapshot(c, directory))
    add_request(seeded.db, "r4", seeded.lee, T0 + timedelta(hours=3))
    seeded.db.call(lambda c: write_snapshot(c, directory))

    assert sorted(p.name for p in directory.iterdir()) == ["conversations.parquet", "messages.parquet",
                                                          "requests.parquet", "users.parquet"]
    assert duckdb.sql(f"SELECT count(*) FROM '{directory / 'requests.parquet'}'").fetchall() == [(4,)]
    assert "secret-hash" not in (directory / "users.parquet").read_bytes().decode("latin-1")


async def test_the_snapshot_writer_writes_periodically_and_once_more_when_it_stops(
        seeded: Seeded, tmp_path: Path) -> None:
    directory = tmp_path / "exports"
    requests = directory / "requests.parquet"

    def count() -> int:
        return int(duckdb.sql(f"SELECT count(*) FROM '{requests}'").fetchall()[0][0])

    writer = SnapshotWriter(seeded.db, directory, interval_s=0.05)
    await writer.start()
    for _ in range(100):
        if requests.exists():
            break
        await asyncio.sleep(0.05)
    assert requests.exists(), "no periodic snapshot"
    await writer.stop()
    assert count() == 3 and writer.last_written is not None

    slow = SnapshotWriter(seeded.db, directory, interval_s=3600)
    await slow.start()
    add_request(seeded.db, "r4", seeded.lee, T0 + timedelta(hours=3))
    await slow.stop()  # the final snapshot holds what came after the last periodic one
    assert count() == 4


async def test_a_snapshot_on_demand_returns_the_files_it_wrote(seeded: Seeded, tmp_path: Path) -> None:
    writer = SnapshotWriter(seeded.db, tmp_path / "exports")
    paths = await writer.snapshot_now()
    assert all(p.is_file() and p.parent == tmp_path / "exports" for p in paths)
    assert [p.name for p in paths] == ["users.parquet", "conversations.parquet", "messages.parquet",
                                       "requests.parquet"]
