"""Headless Chromium (Debian's package) for the browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import ARTIFACTS
from conftest import ProcessServer, call_failed, start_server
from inprocess import SharedEngine
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    if call_failed(request):  # what the person saw when it went wrong
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path,
               shared_engine: SharedEngine) -> Iterator[ProcessServer]:
    """The browser's app runs as `python app.py` (on the shared engine). Served from this
    process, beside Playwright's driver, a page now and then waited 30 s for an event while the
    app sat idle with an empty queue (about one full run in two; a dump of the app's tasks showed
    Gradio's queue asleep and one SSE stream open). With the app in a process of its own it has
    not happened."""
    server = start_server(tmp_path_factory.mktemp("app"), model_dir, shared_engine.env)
    yield server
    server.stop()
