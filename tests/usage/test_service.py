"""The usage service against a real DuckDB file: the dashboard and its JSON summary for an admin
and for a user, recent rows, and exports to CSV and Parquet bytes.

Rows (UTC; the clock stands at 2030-01-02 10:00, so the default range is the 24 hours before):

    id  user   model  status     code  latency  ttft  in   out   created_at
    a1  alice  A      completed  200   100      10    1    2     01-02 09:00
    b1  bob    B      completed  200   900      90    10   20    01-02 09:30
    b2  bob    B      failed     502   50       -     5    -     01-02 09:40
    b0  bob    B      completed  200   70       7     100  100   12-25 09:00  (outside 24h and 7d)
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from errors import InvalidInput, PermissionDenied
from storage import users
from storage.db import Database
from storage.users import User
from usage import UsageService

NOW = datetime(2030, 1, 2, 10, tzinfo=UTC)
ROWS = [
    ("a1", "alice", "A", "completed", 200, 100, 10, 1, 2, datetime(2030, 1, 2, 9, tzinfo=UTC)),
    ("b1", "bob", "B", "completed", 200, 900, 90, 10, 20, datetime(2030, 1, 2, 9, 30, tzinfo=UTC)),
    ("b2", "bob", "B", "failed", 502, 50, None, 5, None, datetime(2030, 1, 2, 9, 40, tzinfo=UTC)),
    ("b0", "bob", "B", "completed", 200, 70, 7, 100, 100, datetime(2029, 12, 25, 9, tzinfo=UTC)),
]


@pytest.fixture
def people(db: Database) -> dict[str, User]:
    made = {name: db.call(lambda c, n=name, r=role: users.create(c, n, "h", r))
            for name, role in [("root", "admin"), ("alice", "user"), ("bob", "user")]}
    db.call(lambda c: c.executemany(
        "INSERT INTO requests (request_id, user_id, model, status, status_code, latency_ms,"
        " ttft_ms, input_tokens, output_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[rid, made[name].id, *rest] for rid, name, *rest in ROWS]))
    return made


@pytest.fixture
def service(db: Database) -> UsageService:
    return UsageService(db, clock=lambda: NOW)


async def test_an_admin_summary_covers_everyone_with_per_user_figures(
        service: UsageService, people: dict[str, User]) -> None:
    summary = await service.summary(people["root"])
    assert (summary["range"], summary["bucket"], summary["user"]) == ("24h", "hour", None)
    assert (summary["start"], summary["end"]) == ("2030-01-01T10:00:00Z", "2030-01-02T10:00:00Z")
    assert summary["totals"] == {"requests": 3, "completed": 2, "cancelled": 0, "failed": 1,
                                 "server_errors": 1, "input_tokens": 16, "output_tokens": 22,
                                 "tokens": 38}
    assert summary["rates"]["error_rate"] == pytest.approx(1 / 3)
    assert summary["rates"]["cancel_rate"] == 0.0
    assert summary["percentiles"]["completed"] == 2
    assert summary["percentiles"]["latency_ms"]["p50"] == pytest.approx(500.0)
    assert len(summary["series"]) == 24
    nine = next(b for b in summary["series"] if b["bucket"] == "2030-01-02T09:00:00Z")
    assert (nine["requests"], nine["failed"], nine["tokens"]) == (3, 1, 38)
    assert [(m["model"], m["tokens"]) for m in summary["by_model"]] == [("B", 35), ("A", 3)]
    assert [(u["username"], u["tokens"]) for u in summary["by_user"]] == [("bob", 35), ("alice", 3)]
    assert summary["heaviest_users"][0]["username"] == "bob"
    assert summary["users"] == [{"id": people["alice"].id, "username": "alice"},
                                {"id": people["bob"].id, "username": "bob"}]
    assert [r["request_id"] for r in summary["slowest"]] == ["b1", "a1", "b2"]
    assert summary["slowest"][2]["ttft_ms"] is None


async def test_non_admin_summary_is_scoped_to_self(
        service: UsageService, people: dict[str, User]) -> None:
    summary = await service.summary(people["alice"], "7d")
    assert summary["user"] == people["alice"].id and summary["bucket"] == "day"
    assert summary["totals"]["requests"] == 1 and summary["totals"]["tokens"] == 3
    assert [r["request_id"] for r in summary["slowest"]] == ["a1"]
    assert summary["by_user"] is None and summary["heaviest_users"] is None
    assert summary["users"] is None
    with pytest.raises(PermissionDenied) as refused:
        await service.summary(people["alice"], "7d", None, people["bob"].id)
    assert refused.value.code == "admin_only"


async def test_an_admin_summary_narrows_to_one_user_and_model(
        service: UsageService, people: dict[str, User]) -> None:
    summary = await service.summary(people["root"], "30d", "B", people["bob"].id)
    assert (summary["user"], summary["model"], summary["bucket"]) == (people["bob"].id, "B", "day")
    assert summary["totals"]["requests"] == 3  # b0 too: 30 days back
    assert summary["models"] == ["B"]


async def test_an_unknown_range_is_refused(service: UsageService, people: dict[str, User]) -> None:
    with pytest.raises(InvalidInput):
        await service.summary(people["root"], "1y")


async def test_recent_rows_are_the_callers_own_unless_an_admin_asks_for_all(
        service: UsageService, people: dict[str, User]) -> None:
    assert {r["request_id"] for r in await service.recent(people["alice"])} == {"a1"}
    assert {r["request_id"] for r in await service.recent(people["root"])} == set()
    assert len(await service.recent(people["root"], everyone=True, limit=2)) == 2
    with pytest.raises(PermissionDenied) as refused:
        await service.recent(people["alice"], everyone=True)
    assert refused.value.code == "admin_only"


def read_csv(body: bytes) -> list[dict[str, Any]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


async def test_csv_export_has_a_bom_a_header_and_only_the_callers_rows(
        service: UsageService, people: dict[str, User]) -> None:
    body = await service.export(people["alice"], "csv")
    assert body.startswith(b"\xef\xbb\xbfcreated_at,request_id,user_id,username,model,ctx_len,")
    assert [(r["request_id"], r["username"]) for r in read_csv(body)] == [("a1", "alice")]
    everyone = read_csv(await service.export(people["root"], "csv"))
    assert [r["request_id"] for r in everyone] == ["b0", "a1", "b1", "b2"]
    with pytest.raises(PermissionDenied):
        await service.export(people["alice"], "csv", user=people["bob"].id)


async def test_parquet_export_is_readable_by_duckdb_and_honours_the_range(
        service: UsageService, people: dict[str, User], tmp_path: Path) -> None:
    body = await service.export(people["root"], "parquet", start=datetime(2030, 1, 1),
                                model="B", user=people["bob"].id)
    path = tmp_path / "usage.parquet"
    path.write_bytes(body)
    rows = duckdb.connect().sql(f"SELECT request_id, latency_ms FROM '{path}' ORDER BY 1").fetchall()
    assert rows == [("b1", 900), ("b2", 50)]


async def test_an_export_range_that_ends_before_it_starts_is_refused(
        service: UsageService, people: dict[str, User]) -> None:
    with pytest.raises(InvalidInput) as refused:
        await service.export(people["root"], "csv", start=NOW, end=NOW)
    assert refused.value.code == "invalid_range"


async def test_an_export_leaves_no_temporary_file_behind(
        service: UsageService, people: dict[str, User], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    await service.export(people["root"], "csv")
    await service.export(people["root"], "parquet")
    assert list(scratch.iterdir()) == []
