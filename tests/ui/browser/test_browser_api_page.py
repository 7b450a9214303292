"""The page's "Use via API" panel, as a developer sees it: the seven endpoints, each argument
described, nothing of the page's own plumbing."""

from __future__ import annotations

from browsing import ARTIFACTS, sign_in
from conftest import AppServer
from playwright.sync_api import Page

ENDPOINTS = ["/chat", "/conversations", "/conversation", "/models", "/usage_summary",
             "/engine_status", "/switch_profile"]


def test_use_via_api_lists_the_seven_endpoints_with_their_arguments(
        page: Page, app_server: AppServer) -> None:
    page.goto(app_server.url)
    sign_in(page, app_server, "test", "test")
    page.wait_for_selector("#message textarea", timeout=30_000)
    page.click("footer >> text=Use via API")
    page.wait_for_selector("text=7 API endpoints", timeout=15_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-page.png"))
    panel = page.locator(".api-docs-wrap, .docs-wrap").first if page.locator(
        ".api-docs-wrap, .docs-wrap").count() else page.locator("body")
    text = panel.inner_text()
    for endpoint in ENDPOINTS:
        assert f'api_name="{endpoint}"' in text, endpoint
    assert "One of yours to continue (its history goes with it)" in text
    assert 'appears in the "conversation_id" Api component' in text
    assert "Admins only: switch the engine" in text
    for private in ("respond", "open_conversation", "switch_choices"):
        assert f'api_name="/{private}"' not in text
    page.locator("text=What you say to the model.").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "api-page-arguments.png"))
