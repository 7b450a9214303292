"""./backup and ./restore as an operator runs them: a backup taken while an answer streams,
restored into a fresh data directory, gives an app with every conversation, and the sessions of
the old one; rotation; refusals."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, AppFactory, AppServer
from helpers import after, chat_then, http, stored_conversation, stream_chat

from storage import backup
from storage.db import Database


def script(name: str, *args: str, server: AppServer | None = None,
           data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATA_DIR": str(data_dir or (server.data_dir if server else ""))}
    if server is not None:
        env.update(GATEWAY_HOST="127.0.0.1", GATEWAY_PORT=server.url.rsplit(":", 1)[1])
    return subprocess.run([str(ROOT / name), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def conversations(server: AppServer, headers: dict[str, str]) -> list[dict[str, Any]]:
    listed = http.get(f"{server.url}/api/conversations", params={"limit": 500}, headers=headers)
    return [http.get(f"{server.url}/api/conversations/{c['id']}", headers=headers).json()
            for c in listed.json()["conversations"]]


def test_a_backup_taken_mid_answer_restores_every_conversation(
        app_factory: AppFactory, tmp_path: Path) -> None:
    server = app_factory()
    user = server.auth()
    for text in ("Name a color.", "Name a fruit.", "안녕하세요"):
        response, _ = stream_chat(server.url, user, {
            "messages": [{"role": "user", "content": text}], "max_tokens": 12})
        assert response.status_code == 200
    archive = tmp_path / "kept" / "backup.tar.gz"
    made: list[subprocess.CompletedProcess[str]] = []
    streamed = chat_then(server.url, user, {  # the backup is taken while this one streams
        "messages": [{"role": "user", "content": "Write a long story about a lighthouse."}],
        "max_tokens": 200}, after(3), lambda: made.append(script("backup", str(archive),
                                                                 server=server)))
    assert made[0].returncode == 0, made[0].stderr
    assert f"Backed up the running app's data to {archive}" in made[0].stdout
    assert oct(archive.stat().st_mode & 0o777) == "0o600", "it holds the JWT secret"
    stored_conversation(server.url, user, int(streamed.conv_id), 2)
    before = conversations(server, user)

    refused = script("restore", str(archive), data_dir=server.data_dir)
    assert refused.returncode != 0 and "stop the app first" in refused.stderr

    fresh = tmp_path / "restored"
    restored = script("restore", str(archive), data_dir=fresh)
    assert restored.returncode == 0, restored.stderr
    assert "restored vllm_chat.duckdb, jwt_secret" in restored.stdout
    again = app_factory(name="restored")
    assert again.data_dir == fresh
    after_restore = conversations(again, user)  # the old session's token still works

    completed = [c for c in before if c["id"] != int(streamed.conv_id)]
    assert len(completed) == 3
    assert [c for c in after_restore if c["id"] != int(streamed.conv_id)] == completed
    cut = next(c for c in after_restore if c["id"] == int(streamed.conv_id))
    assert cut["messages"][0]["content"] == "Write a long story about a lighthouse."
    assert cut["messages"][1]["status"] == "failed" and "interrupted" in cut["messages"][1]["note"]

    response, _ = stream_chat(again.url, user, {
        "messages": [{"role": "user", "content": "Hello again"}], "max_tokens": 8})
    assert response.status_code == 200  # new rows get new ids after the restored ones
    newest = int(response.headers["X-Conversation-Id"])
    assert newest not in {c["id"] for c in before}


def test_a_stopped_apps_directory_is_copied_directly(app_factory: AppFactory,
                                                     tmp_path: Path) -> None:
    server = app_factory()
    stream_chat(server.url, server.auth(), {"messages": [{"role": "user", "content": "Hi"}],
                                            "max_tokens": 4})
    server.stop()
    made = script("backup", server=server)  # its port: nothing answers there now
    assert made.returncode == 0, made.stderr
    assert "copying" in made.stdout and "backups/vllm-chat-" in made.stdout
    (archive,) = (server.data_dir / "backups").glob("vllm-chat-*.tar.gz")
    with tarfile.open(archive) as tar:
        assert set(tar.getnames()) == {"manifest.json", "vllm_chat.duckdb", "jwt_secret"}


def test_only_an_admin_or_the_servers_own_scripts_may_back_up(app_factory: AppFactory) -> None:
    server = app_factory()
    url = f"{server.url}/api/admin/backup"
    assert http.post(url).status_code == 401
    assert http.post(url, headers=server.auth()).status_code == 403
    made = http.post(url, headers=server.auth("admin", "admin123"))
    assert made.status_code == 201 and made.json()["bytes"] > 0
    token = (server.data_dir / "ops_token").read_text()
    assert oct((server.data_dir / "ops_token").stat().st_mode & 0o777) == "0o600"
    assert http.post(url, headers={"Authorization": f"Bearer {token}"}).status_code == 201
    assert http.post(url, headers={"Authorization": "Bearer not-it"}).status_code == 401


def test_rotation_keeps_the_newest(tmp_path: Path) -> None:
    db = Database(tmp_path / "vllm_chat.duckdb")
    try:
        names = []
        for stamp in ("20261201-000000", "20261202-000000", "20261203-000000"):
            path = tmp_path / "backups" / f"vllm-chat-{stamp}.tar.gz"
            backup.make(tmp_path, path, db)
            names.append(path.name)
        made = backup.make(tmp_path, None, db, keep=2)
    finally:
        db.close()
    kept = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert kept == [names[2], made.path.name]


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tar.gz"
    with tarfile.open(bogus, "w:gz") as tar:
        tar.add(__file__, "manifest.json")
    with pytest.raises(Exception):  # noqa: B017 (not JSON, or not ours: either refuses)
        backup.restore(bogus, tmp_path / "data")
    assert not (tmp_path / "data" / "vllm_chat.duckdb").exists()
