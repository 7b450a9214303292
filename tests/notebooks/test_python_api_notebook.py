"""The Python API tour (notebooks/python_api.ipynb) runs headless against a running app with the
real model: it signs in, chats and continues, streams, lists and opens conversations, reads the
usage summary into pandas, and as an admin watches a switch between the two CPU profiles."""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import ROOT, AppFactory
from helpers import http, printed
from nbclient import NotebookClient
from nbformat import NotebookNode

NOTEBOOK = ROOT / "notebooks" / "python_api.ipynb"
TOUR_ENV = ("VLLM_CHAT_URL", "VLLM_CHAT_USER", "VLLM_CHAT_PASSWORD", "VLLM_CHAT_ADMIN_USER",
            "VLLM_CHAT_ADMIN_PASSWORD", "VLLM_CHAT_SWITCH_TO")


def run_tour() -> NotebookNode:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return notebook


@pytest.fixture
def tour_env(venv_kernel: None, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in TOUR_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_tour_runs_against_the_app_and_watches_a_switch(
        app_factory: AppFactory, tour_env: pytest.MonkeyPatch) -> None:
    server = app_factory(own_engine=True)
    tour_env.setenv("VLLM_CHAT_URL", server.url)
    tour_env.setenv("VLLM_CHAT_SWITCH_TO", "smollm2-135m-cpu-precise")
    text = printed(run_tour())

    assert "endpoints: /chat, /conversations, /conversation, /models, /usage_summary," in text
    first = re.search(r"conversation (\d+): \S", text)
    assert first and f"conversation {first[1]} again: " in text
    assert re.search(r"\d+ updates, conversation \d+", text)
    assert "search 'colors': [" + first[1] in text, "the first chat is found by its words"
    assert "system prompt 'Answer briefly.'" in text
    assert "user [completed]: 'Name three colors.'" in text
    assert "'requests': 3" in text, "three answers in the usage totals"
    assert re.search(r"smollm2-135m-cpu-precise +available", text)
    assert "as a user: This needs an admin account" in text
    assert "outcome: switched | active profile: smollm2-135m-cpu-precise" in text
    assert re.search(r"smollm2-135m-precise answers: ['\"]\w", text)
    models = http.get(f"{server.url}/api/models", headers=server.auth()).json()["models"]
    assert models[0]["profile"] == "smollm2-135m-cpu-precise"


def test_the_tour_switches_nothing_unless_asked(app_factory: AppFactory,
                                               tour_env: pytest.MonkeyPatch) -> None:
    server = app_factory()
    tour_env.setenv("VLLM_CHAT_URL", server.url)
    text = printed(run_tour())
    assert "VLLM_CHAT_SWITCH_TO is not set: no switch" in text
    assert "as a user: This needs an admin account" in text
    status = http.get(f"{server.url}/api/engine", headers=server.auth("admin", "admin123")).json()
    assert status["profile"] == "smollm2-135m-cpu"
