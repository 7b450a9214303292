"""The usage notebook runs headless (nbclient) on the snapshot of a running app with real chats,
on a snapshot with no requests at all, and says where it looked when there is no snapshot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, AppFactory
from helpers import after, chat_then, eventually, http, printed, stream_chat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode

from storage import users
from storage.db import Database
from storage.exports import write_snapshot

NOTEBOOK = ROOT / "notebooks" / "usage_analytics.ipynb"


def run_notebook() -> NotebookNode:
    """Execute the notebook as Jupyter would (working directory: notebooks/); any cell error
    raises CellExecutionError."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return notebook


def test_the_notebook_runs_on_a_live_apps_snapshot_and_counts_its_requests(
        app_factory: AppFactory, venv_kernel: None, monkeypatch: pytest.MonkeyPatch) -> None:
    server = app_factory()
    user, admin = server.auth(), server.auth("admin", "admin123")
    for headers, text in [(user, "Hi"), (user, "Name a fruit"), (admin, "안녕하세요")]:
        response, _ = stream_chat(server.url, headers, {
            "messages": [{"role": "user", "content": text}], "max_tokens": 12})
        assert response.status_code == 200
    chat_then(server.url, user, {  # hang up at the first event: the answer is cancelled
        "messages": [{"role": "user", "content": "Write a long story about a lighthouse."}],
        "max_tokens": 500}, after(1), hang_up=True)

    def stored() -> list[str] | None:
        rows = http.get(f"{server.url}/api/usage", params={"all": "true"}, headers=admin).json()
        statuses = [r["status"] for r in rows["requests"]]
        return statuses if len(statuses) == 4 else None

    statuses = eventually(stored)
    assert "cancelled" in statuses
    snapshot = http.post(f"{server.url}/api/usage/snapshot", headers=admin, timeout=30).json()

    monkeypatch.setenv("VLLM_CHAT_EXPORTS", snapshot["directory"])
    monkeypatch.setenv("VLLM_CHAT_URL", server.url)  # the optional cell: the export endpoint
    monkeypatch.setenv("VLLM_CHAT_TOKEN", server.token("admin", "admin123"))
    text = printed(run_notebook())

    assert "requests: 4" in text
    for status in ("completed", "cancelled"):
        assert f"  {status}: {statuses.count(status)}" in text
    assert "export endpoint rows: 4 (snapshot rows: 4)" in text
    assert "test" in text and "admin" in text  # the per-user table
    # The app kept its database file open throughout, and still serves.
    assert http.get(f"{server.url}/health").status_code == 200


def test_the_notebook_runs_on_a_snapshot_with_no_requests(
        tmp_path: Path, venv_kernel: None, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(tmp_path / "vllm_chat.duckdb")
    db.call(lambda c: users.create(c, "관리자", "x", "admin"))
    db.call(lambda c: write_snapshot(c, tmp_path / "exports"))
    monkeypatch.setenv("VLLM_CHAT_EXPORTS", str(tmp_path / "exports"))
    try:
        text = printed(run_notebook())
    finally:
        db.close()
    assert "requests: 0" in text
    assert "VLLM_CHAT_URL and VLLM_CHAT_TOKEN are not set: skipped" in text


def test_the_notebook_says_where_it_looked_when_there_is_no_snapshot(
        tmp_path: Path, venv_kernel: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLLM_CHAT_EXPORTS", str(tmp_path / "nowhere"))
    with pytest.raises(CellExecutionError, match=r"No snapshot in .*nowhere"):
        run_notebook()
