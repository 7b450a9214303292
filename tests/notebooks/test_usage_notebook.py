"""The usage notebook runs headless against the snapshot of a running app with real data."""

from __future__ import annotations

import json
import os

import httpx
import nbformat
from conftest import ROOT, ServerFactory
from helpers import eventually, stream_chat
from nbclient import NotebookClient


def test_the_usage_notebook_runs_on_live_data(server_factory: ServerFactory) -> None:
    server = server_factory()
    user, admin = server.auth(), server.auth("admin", "admin123")
    for headers, text in [(user, "Hi"), (user, "Name a fruit"), (admin, "안녕하세요")]:
        stream_chat(server.url, headers, {"messages": [{"role": "user", "content": text}],
                                          "max_tokens": 12})
    with httpx.stream("POST", f"{server.url}/api/chat", headers=user, timeout=60, json={
            "messages": [{"role": "user", "content": "Write a long story."}], "max_tokens": 500}) as r:
        next(r.iter_lines())  # then hang up: a cancelled request
    eventually(lambda: len(httpx.get(f"{server.url}/api/usage?all=true", headers=admin)
                           .json()["requests"]) == 4)
    snapshot = httpx.post(f"{server.url}/api/usage/snapshot", headers=admin).json()

    notebook = nbformat.read(ROOT / "notebooks" / "usage_analytics.ipynb", as_version=4)
    os.environ["VLLM_CHAT_EXPORTS"] = snapshot["directory"]
    try:
        NotebookClient(notebook, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    finally:
        del os.environ["VLLM_CHAT_EXPORTS"]
    outputs = json.dumps([cell.get("outputs", []) for cell in notebook.cells])
    assert "requests: 4" in outputs
    assert "cancelled" in outputs and "completed" in outputs
