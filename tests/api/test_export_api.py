"""Usage export over HTTP against the real app: own rows for users, everyone's for admins, CSV
with a byte-order mark, typed Parquet, time ranges, errors; Parquet snapshots for notebooks; and
the dashboard's summary as JSON, scoped the same way."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from conftest import AppServer
from helpers import eventually, http, stream_chat, usage_rows

COLUMNS = ["created_at", "request_id", "user_id", "username", "model", "ctx_len", "input_tokens",
           "output_tokens", "latency_ms", "ttft_ms", "status", "status_code", "conv_id"]
SNAPSHOT_FILES = ["conversations.parquet", "messages.parquet", "requests.parquet", "users.parquet"]


@dataclass
class Chats:
    user: dict[str, str]
    admin: dict[str, str]
    mine: str  # request id of the user's chat
    theirs: str  # request id of the admin's chat


def chat_as(server: AppServer, headers: dict[str, str], text: str) -> str:
    response, _ = stream_chat(server.url, headers, {
        "messages": [{"role": "user", "content": text}], "max_tokens": 8})
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    eventually(lambda: any(r["request_id"] == request_id for r in usage_rows(server.url, headers)))
    return request_id


@pytest.fixture(scope="module")
def chats(app_server: AppServer) -> Chats:
    user, admin = app_server.auth(), app_server.auth("admin", "admin123")
    return Chats(user, admin, chat_as(app_server, user, "Hi"), chat_as(app_server, admin, "안녕하세요"))


def export(server: AppServer, headers: dict[str, str], **params: str) -> httpx.Response:
    return http.get(f"{server.url}/api/usage/export", headers=headers, params=params, timeout=30)


def csv_export(server: AppServer, headers: dict[str, str], **params: str) -> list[dict[str, str]]:
    response = export(server, headers, format="csv", **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="usage-\d{8}\.csv"',
                        response.headers["content-disposition"])
    assert response.content.startswith(b"\xef\xbb\xbf")
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
    assert reader.fieldnames == COLUMNS
    return list(reader)


def test_a_user_exports_only_their_own_rows(app_server: AppServer, chats: Chats) -> None:
    rows = csv_export(app_server, chats.user)
    assert chats.mine in {r["request_id"] for r in rows}
    assert chats.theirs not in {r["request_id"] for r in rows}
    assert {r["username"] for r in rows} == {"test"}

    mine = next(r for r in rows if r["request_id"] == chats.mine)
    assert mine["status"] == "completed" and mine["status_code"] == "200"
    assert int(mine["input_tokens"]) > 0 and int(mine["output_tokens"]) > 0
    assert int(mine["ctx_len"]) == int(mine["input_tokens"]) + int(mine["output_tokens"])
    assert int(mine["latency_ms"]) >= int(mine["ttft_ms"]) >= 0


def test_an_admin_exports_everyones_rows(app_server: AppServer, chats: Chats) -> None:
    rows = csv_export(app_server, chats.admin)
    by_id = {r["request_id"]: r for r in rows}
    assert by_id[chats.mine]["username"] == "test"
    assert by_id[chats.theirs]["username"] == "admin"


def test_parquet_exports_are_typed_and_scoped_to_the_caller(
        app_server: AppServer, chats: Chats, tmp_path: Path) -> None:
    response = export(app_server, chats.user, format="parquet")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    assert re.fullmatch(r'attachment; filename="usage-\d{8}\.parquet"',
                        response.headers["content-disposition"])
    path = tmp_path / "usage.parquet"
    path.write_bytes(response.content)

    reader = duckdb.connect()
    schema = dict((r[0], r[1]) for r in reader.sql(f"DESCRIBE SELECT * FROM '{path}'").fetchall())
    assert list(schema) == COLUMNS
    assert schema["created_at"] == "TIMESTAMP WITH TIME ZONE" and schema["latency_ms"] == "INTEGER"
    rows = reader.sql(f"SELECT request_id, username FROM '{path}'").fetchall()
    assert (chats.mine, "test") in rows and {name for _, name in rows} == {"test"}


def test_from_and_to_select_a_time_range(app_server: AppServer, chats: Chats) -> None:
    def ids(**params: str) -> set[str]:
        return {r["request_id"] for r in csv_export(app_server, chats.admin, **params)}

    assert {chats.mine, chats.theirs} <= ids(**{"from": "2000-01-01T00:00:00Z", "to": "2999-01-01"})
    assert ids(**{"from": "2999-01-01T00:00:00+09:00"}) == set()
    assert ids(to="2000-01-01") == set()
    assert chats.mine in ids(**{"from": "2000-01-01T00:00:00"})  # no offset: UTC


def test_an_admin_may_narrow_the_export_to_one_user_and_one_model(
        app_server: AppServer, chats: Chats) -> None:
    rows = csv_export(app_server, chats.admin)
    user_id = next(r["user_id"] for r in rows if r["request_id"] == chats.mine)
    model = next(r["model"] for r in rows if r["request_id"] == chats.mine)
    assert {r["username"] for r in csv_export(app_server, chats.admin, user=user_id)} == {"test"}
    assert {r["model"] for r in csv_export(app_server, chats.admin, model=model)} == {model}
    assert csv_export(app_server, chats.admin, model="no such model") == []


def test_a_user_may_name_only_themselves_in_an_export(app_server: AppServer, chats: Chats) -> None:
    rows = csv_export(app_server, chats.admin)
    mine = next(r["user_id"] for r in rows if r["request_id"] == chats.mine)
    theirs = next(r["user_id"] for r in rows if r["request_id"] == chats.theirs)
    assert {r["username"] for r in csv_export(app_server, chats.user, user=mine)} == {"test"}
    error = error_of(export(app_server, chats.user, format="csv", user=theirs), 403)
    assert error["code"] == "admin_only"


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and {"message", "type", "code", "param"} <= set(body["error"])
    return dict(body["error"])


def test_an_unknown_format_is_refused_with_the_standard_error_body(
        app_server: AppServer, chats: Chats) -> None:
    error = error_of(export(app_server, chats.user, format="xlsx"), 422)
    assert error["code"] == "invalid_input" and error["param"] == "query.format"


def test_an_unparsable_date_is_refused_with_the_standard_error_body(
        app_server: AppServer, chats: Chats) -> None:
    error = error_of(export(app_server, chats.user, **{"from": "yesterday"}), 422)
    assert error["param"] == "query.from"
    assert error_of(export(app_server, chats.user, to="2026-13-45"), 422)["param"] == "query.to"


def test_a_range_that_ends_before_it_starts_is_refused(app_server: AppServer, chats: Chats) -> None:
    error = error_of(export(app_server, chats.user, **{"from": "2026-02-01", "to": "2026-01-01"}), 400)
    assert error["code"] == "invalid_range"


def test_exporting_needs_a_login(app_server: AppServer) -> None:
    assert http.get(f"{app_server.url}/api/usage/export").status_code == 401


def test_only_admins_may_write_a_snapshot(app_server: AppServer, chats: Chats) -> None:
    response = http.post(f"{app_server.url}/api/usage/snapshot", headers=chats.user)
    assert error_of(response, 403)["code"] == "admin_only"


def test_a_snapshot_is_readable_by_another_process_while_the_app_runs(
        app_server: AppServer, chats: Chats) -> None:
    response = http.post(f"{app_server.url}/api/usage/snapshot", headers=chats.admin, timeout=30)
    assert response.status_code == 200
    body = response.json()
    directory = Path(body["directory"])
    assert directory == (app_server.data_dir / "exports").resolve()
    assert sorted(body["files"]) == SNAPSHOT_FILES and body["written_at"]

    reader = duckdb.connect()  # this test process is not the app's
    request_ids = {r[0] for r in reader.sql(
        f"SELECT request_id FROM '{directory / 'requests.parquet'}'").fetchall()}
    assert {chats.mine, chats.theirs} <= request_ids
    user_columns = [r[0] for r in reader.sql(
        f"DESCRIBE SELECT * FROM '{directory / 'users.parquet'}'").fetchall()]
    assert user_columns == ["id", "username", "role", "created_at"]


def summary(server: AppServer, headers: dict[str, str], **params: str) -> httpx.Response:
    return http.get(f"{server.url}/api/usage/summary", headers=headers, params=params, timeout=30)


def test_a_users_summary_holds_only_their_own_requests(app_server: AppServer, chats: Chats) -> None:
    response = summary(app_server, chats.user)
    assert response.status_code == 200, response.text
    body = response.json()
    mine = csv_export(app_server, chats.user)
    # 24 hours from now back: 25 hourly buckets unless now is on the hour.
    assert body["range"] == "24h" and body["bucket"] == "hour" and len(body["series"]) in (24, 25)
    assert body["user"] == int(mine[0]["user_id"])
    assert body["totals"]["requests"] == len(mine)
    assert sum(b["requests"] for b in body["series"]) == len(mine)
    assert [r["username"] for r in body["slowest"]] == ["test"] * len(mine)
    assert body["end"].endswith("Z") and body["series"][0]["bucket"].endswith("Z")
    assert body["percentiles"]["latency_ms"]["p50"] > 0
    assert (body["by_user"], body["heaviest_users"], body["users"]) == (None, None, None)


def test_an_admins_summary_covers_everyone_or_one_user(app_server: AppServer, chats: Chats) -> None:
    body = summary(app_server, chats.admin, range="7d").json()
    assert body["bucket"] == "day" and body["user"] is None
    assert {u["username"] for u in body["by_user"]} == {"test", "admin"}
    assert {u["username"] for u in body["heaviest_users"]} == {"test", "admin"}
    test_id = next(u["id"] for u in body["users"] if u["username"] == "test")
    narrowed = summary(app_server, chats.admin, range="30d", user=str(test_id)).json()
    assert narrowed["bucket"] == "day" and narrowed["user"] == test_id
    assert {r["username"] for r in narrowed["slowest"]} == {"test"}
    assert narrowed["totals"]["requests"] < body["totals"]["requests"]


def test_a_user_may_not_ask_for_another_users_summary(app_server: AppServer, chats: Chats) -> None:
    admin_id = next(u["id"] for u in summary(app_server, chats.admin).json()["users"]
                    if u["username"] == "admin")
    error = error_of(summary(app_server, chats.user, user=str(admin_id)), 403)
    assert error["code"] == "admin_only"


def test_an_unknown_summary_range_is_refused(app_server: AppServer, chats: Chats) -> None:
    error = error_of(summary(app_server, chats.user, range="1y"), 400)
    assert error["code"] == "invalid_range" and error["type"] == "invalid_request_error"
