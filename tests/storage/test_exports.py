"""Usage exports read back: CSV with a byte-order mark and Korean text, Parquet's schema."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from storage import users
from storage.db import Database
from storage.exports import usage_csv, usage_parquet, write_snapshot
from storage.usage import UsageRecord, insert

COLUMNS = ["created_at", "request_id", "user_id", "username", "model", "ctx_len", "input_tokens",
           "output_tokens", "latency_ms", "ttft_ms", "status", "status_code", "conv_id"]


def filled(tmp_path: Path) -> tuple[Database, int, int]:
    db = Database(tmp_path / "db.duckdb")
    kim = db.call(lambda c: users.create(c, "관리자", "x", "admin"))
    lee = db.call(lambda c: users.create(c, "lee", "x", "user"))
    for n, owner in enumerate([kim.id, kim.id, lee.id]):
        db.call(lambda c, n=n, owner=owner: insert(c, UsageRecord(  # type: ignore[misc]
            request_id=f"r{n}", user_id=owner, conv_id=n, model="m", status="completed",
            status_code=200, latency_ms=100 * (n + 1), ttft_ms=10, input_tokens=5,
            output_tokens=n)))
    return db, kim.id, lee.id


def test_csv_has_a_bom_the_plans_columns_and_korean_names(tmp_path: Path) -> None:
    db, kim, _ = filled(tmp_path)
    body = db.call(lambda c: usage_csv(c, None, None, None))
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert list(rows[0]) == COLUMNS
    assert [r["username"] for r in rows] == ["관리자", "관리자", "lee"]
    assert [r["ctx_len"] for r in rows] == ["5", "6", "7"]
    own = db.call(lambda c: usage_csv(c, None, None, kim))
    assert [r["request_id"] for r in csv.DictReader(io.StringIO(own.decode("utf-8-sig")))] == [
        "r0", "r1"]
    db.close()


def test_parquet_reads_back_with_its_schema_and_the_time_range(tmp_path: Path) -> None:
    db, _, lee = filled(tmp_path)
    (tmp_path / "u.parquet").write_bytes(db.call(lambda c: usage_parquet(c, None, None, lee)))
    check = duckdb.connect()
    described = check.sql(f"DESCRIBE SELECT * FROM '{tmp_path / 'u.parquet'}'").fetchall()
    assert [row[0] for row in described] == COLUMNS
    assert dict((row[0], row[1]) for row in described)["latency_ms"] == "INTEGER"
    assert check.sql(f"SELECT request_id FROM '{tmp_path / 'u.parquet'}'").fetchall() == [("r2",)]
    future = datetime.now(UTC) + timedelta(days=1)
    (tmp_path / "none.parquet").write_bytes(db.call(lambda c: usage_parquet(c, future, None, None)))
    assert check.sql(f"SELECT count(*) FROM '{tmp_path / 'none.parquet'}'").fetchall() == [(0,)]
    db.close()


def test_a_snapshot_is_readable_while_the_app_holds_the_database(tmp_path: Path) -> None:
    db, _, _ = filled(tmp_path)
    paths = db.call(lambda c: write_snapshot(c, tmp_path / "exports"))
    assert sorted(p.name for p in paths) == ["conversations.parquet", "messages.parquet",
                                            "requests.parquet", "users.parquet"]
    other_process_view = duckdb.connect()
    columns = [r[0] for r in other_process_view.sql(
        f"DESCRIBE SELECT * FROM '{tmp_path / 'exports' / 'users.parquet'}'").fetchall()]
    assert "password_hash" not in columns and "username" in columns
    assert other_process_view.sql(
        f"SELECT count(*) FROM '{tmp_path / 'exports' / 'requests.parquet'}'").fetchall() == [(3,)]
    db.close()
