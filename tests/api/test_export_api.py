"""Usage export over HTTP: own rows for users, everyone's for admins; snapshots for notebooks."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import httpx
from conftest import AppServer
from helpers import eventually, stream_chat, usage_rows


def chat_as(server: AppServer, headers: dict[str, str], text: str) -> str:
    response, _ = stream_chat(server.url, headers, {
        "messages": [{"role": "user", "content": text}], "max_tokens": 8})
    request_id = response.headers["x-request-id"]
    eventually(lambda: any(r["request_id"] == request_id for r in usage_rows(server.url, headers)))
    return request_id


def exported_ids(server: AppServer, headers: dict[str, str]) -> set[str]:
    response = httpx.get(f"{server.url}/api/usage/export", headers=headers,
                         params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    return {r["request_id"] for r in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))}


def test_users_export_their_own_rows_and_admins_everyones(app_server: AppServer) -> None:
    user, admin = app_server.auth(), app_server.auth("admin", "admin123")
    mine, theirs = chat_as(app_server, user, "Hi"), chat_as(app_server, admin, "Hello")
    assert mine in exported_ids(app_server, user) and theirs not in exported_ids(app_server, user)
    assert {mine, theirs} <= exported_ids(app_server, admin)

    parquet = httpx.get(f"{app_server.url}/api/usage/export", headers=user,
                        params={"format": "parquet", "from": "2000-01-01T00:00:00Z"})
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    path = app_server.data_dir / "export.parquet"
    path.write_bytes(parquet.content)
    rows = duckdb.connect().sql(f"SELECT request_id, username FROM '{path}'").fetchall()
    assert (mine, "test") in rows and all(name == "test" for _, name in rows)


def test_bad_export_requests_are_refused(app_server: AppServer) -> None:
    headers = app_server.auth()
    assert httpx.get(f"{app_server.url}/api/usage/export", headers=headers,
                     params={"format": "xlsx"}).status_code == 422
    assert httpx.get(f"{app_server.url}/api/usage/export", headers=headers,
                     params={"from": "yesterday"}).status_code == 422


def test_only_admins_write_snapshots_and_they_read_while_the_app_runs(app_server: AppServer) -> None:
    assert httpx.post(f"{app_server.url}/api/usage/snapshot",
                      headers=app_server.auth()).status_code == 403
    response = httpx.post(f"{app_server.url}/api/usage/snapshot",
                          headers=app_server.auth("admin", "admin123"))
    assert response.status_code == 200
    directory = Path(response.json()["directory"])
    assert sorted(response.json()["files"]) == ["conversations.parquet", "messages.parquet",
                                               "requests.parquet", "users.parquet"]
    count = duckdb.connect().sql(f"SELECT count(*) FROM '{directory / 'requests.parquet'}'")
    assert count.fetchall()[0][0] >= 1
