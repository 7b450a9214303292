"""The Usage tab's export, driven the way the page drives it (Gradio's queue), against the real
app with a fake engine: whose rows a handed-out link gives, and what it leaves on disk."""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from conftest import AppServer, free_port, start_server
from doubles.fake_engine import running_fake_engine
from helpers import eventually, http, stream_chat, usage_rows

ALL = "__all__"


@dataclass
class Exporting:
    server: AppServer
    admin: dict[str, str]
    user: dict[str, str]
    user_id: int
    scratch: list[Path]  # the app's TMPDIR and GRADIO_TEMP_DIR


def chat_as(server: AppServer, headers: dict[str, str]) -> None:
    response, _ = stream_chat(server.url, headers, {
        "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8})
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    eventually(lambda: any(r["request_id"] == request_id for r in usage_rows(server.url, headers)))


@pytest.fixture(scope="module")
def exporting(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[Exporting]:
    base = tmp_path_factory.mktemp("export")
    scratch = [base / "tmp", base / "gradio"]
    for directory in scratch:
        directory.mkdir()
    with running_fake_engine("think_field", free_port()) as engine:
        server = start_server(base / "data", model_dir, {
            "ENGINE_BASE_URL": engine.base_url, "TMPDIR": str(scratch[0]),
            "GRADIO_TEMP_DIR": str(scratch[1])})
        try:
            admin, user = server.auth("admin", "admin123"), server.auth()
            chat_as(server, admin)
            chat_as(server, user)
            user_id = int(usage_rows(server.url, user)[0]["user_id"])
            yield Exporting(server, admin, user, user_id, scratch)
        finally:
            server.stop()


def run_export(server: AppServer, headers: dict[str, str], values: dict[str, str]) -> list[Any]:
    """Refresh the tab as the page does (which makes its download link): the event gets the
    values of the inputs it declares (by elem_id), through the queue; returns its outputs."""
    config = http.get(f"{server.url}/config", headers=headers).json()
    elem_ids = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    dep = next(d for d in config["dependencies"]
               if any(elem_ids.get(t[0]) == "usage-refresh" for t in d["targets"]))
    session = uuid.uuid4().hex
    body = {"data": [values[elem_ids[i]] for i in dep["inputs"]], "fn_index": dep["id"],
            "session_hash": session}
    joined = http.post(f"{server.url}/gradio_api/queue/join", json=body, headers=headers)
    joined.raise_for_status()
    with http.stream("GET", f"{server.url}/gradio_api/queue/data", headers=headers,
                     params={"session_hash": session}, timeout=60) as stream:
        for line in stream.iter_lines():
            message = json.loads(line[len("data: "):]) if line.startswith("data: ") else {}
            if message.get("msg") == "process_completed":
                assert message["success"], message
                return list(message["output"]["data"])
    raise AssertionError("the refresh event never completed")


def handed_out_urls(outputs: Any) -> list[str]:
    """Every link or file URL in the event's outputs, as the page would follow it."""
    if isinstance(outputs, dict):
        found = [v for k, v in outputs.items() if k in ("url", "link") and isinstance(v, str)]
        return found + [u for v in outputs.values() for u in handed_out_urls(v)]
    if isinstance(outputs, list):
        return [u for v in outputs for u in handed_out_urls(v)]
    return []


def export_url(exporting: Exporting, headers: dict[str, str], user: str = ALL) -> str:
    outputs = run_export(exporting.server, headers, {
        "usage-range": "24h", "usage-model": ALL, "usage-user": user})
    [url] = handed_out_urls(outputs)
    return urljoin(f"{exporting.server.url}/", url)


def usernames(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {row["username"] for row in csv.DictReader(io.StringIO(response.text.lstrip("\ufeff")))}


def files_under(directories: list[Path]) -> set[Path]:
    return {Path(root) / name for d in directories for root, _, names in os.walk(d)
            for name in names}


def test_another_user_cannot_read_an_admins_export_by_its_url(exporting: Exporting) -> None:
    url = export_url(exporting, exporting.admin)
    assert usernames(http.get(url, headers=exporting.admin)) == {"admin", "test"}
    theirs = http.get(url, headers=exporting.user)
    assert theirs.status_code != 200 or usernames(theirs) == {"test"}, theirs.text[:300]


def test_an_export_leaves_no_file_behind_once_downloaded(exporting: Exporting) -> None:
    before = files_under(exporting.scratch)
    url = export_url(exporting, exporting.admin)
    assert http.get(url, headers=exporting.admin).status_code == 200
    eventually(lambda: files_under(exporting.scratch) <= before, timeout=10)


def test_the_export_holds_the_rows_the_tab_shows(exporting: Exporting) -> None:
    url = export_url(exporting, exporting.admin, user=str(exporting.user_id))
    assert usernames(http.get(url, headers=exporting.admin)) == {"test"}
