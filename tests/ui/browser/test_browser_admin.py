"""Headless Chromium on the admin tabs (Models, GPU, Usage, Users), API keys, and a page on
another port trying to use the signed-in UI."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from browsing import (
    ARTIFACTS,
    open_chat,
    open_models_tab,
    sign_in,
    wait_for_models_text,
)
from conftest import ROOT, AppFactory, AppServer, free_port
from helpers import http
from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser


def test_an_admin_sees_why_the_engine_failed_and_restarts_it(
    page: Page, app_factory: AppFactory,
) -> None:
    """The engine crashes on its first token (the crashing-engine test double as an external
    engine); the Models tab says so, and once the engine is fixed, Restart brings it back."""
    port = free_port()
    double = ROOT / "tests" / "doubles" / "crashing_engine.py"
    crashing = subprocess.Popen([sys.executable, str(double), str(port), "first-token"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = app_factory({"ENGINE_BASE_URL": f"http://127.0.0.1:{port}"}, wait_for="degraded")
    assert crashing.wait(10) == -11
    fixed = subprocess.Popen([sys.executable, str(double), str(port), "streams"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        open_models_tab(page, server)
        wait_for_models_text(page, "#engine-status", "Engine state: failed")
        status = page.locator("#engine-status").inner_text()
        assert "did not generate its first token" in status
        assert "stays stopped until you restart it" in status
        page.screenshot(path=str(ARTIFACTS / "browser-engine-failed.png"), full_page=True)
        page.click("#restart-engine")
        wait_for_models_text(page, "#switch-progress textarea", "smollm2-135m-cpu is ready",
                             timeout=60_000)
        wait_for_models_text(page, "#engine-status", "Engine state: ready")
        assert http.get(f"{server.url}/health").status_code == 200
    finally:
        fixed.kill()
        fixed.wait()


def test_a_user_creates_and_revokes_an_api_key_in_the_browser(page: Page, app_server: AppServer) -> None:
    import openai

    page.goto(app_server.url)
    sign_in(page, app_server, "test", "test")
    page.get_by_role("tab", name="API keys").click(timeout=30_000)
    # How to use a key, with this app's address as the browser reached it (issue 12).
    page.wait_for_function(
        "document.querySelector('#key-usage')?.innerText.includes('curl ')")
    usage = page.locator("#key-usage").inner_text()
    assert f"curl {app_server.url}/v1/chat/completions" in usage, usage
    assert "Authorization: Bearer" in usage and f'OpenAI(base_url="{app_server.url}/v1"' in usage
    page.fill("#key-name textarea, #key-name input", "browser key")
    page.click("#create-key")
    page.wait_for_function(
        "(document.querySelector('#new-key textarea, #new-key input')?.value || '').startsWith('vck_')")
    key = page.locator("#new-key textarea, #new-key input").first.input_value()
    assert page.locator("#key-name textarea, #key-name input").first.input_value() == ""
    client = openai.OpenAI(base_url=f"{app_server.url}/v1", api_key=key, max_retries=0)
    assert client.models.list().data
    page.wait_for_function("document.querySelector('#keys-table')?.innerText.includes('browser key')")

    page.locator("#revoke-choice input").click()
    page.get_by_role("option", name="browser key", exact=False).click()
    page.click("#revoke-key")
    confirm = page.locator("#confirm-revoke-key")
    confirm.wait_for(state="visible")  # Revoke only asks
    assert client.models.list().data, "the key works until the revocation is confirmed"
    page.screenshot(path=str(ARTIFACTS / "browser-keys-confirm.png"), full_page=True)
    confirm.click()
    # Done when the table shows the key's revocation time after its creation time (the
    # choice's text is an input's value, not innerText: a wait on it passed at once).
    page.wait_for_function(
        "/browser key[\\s\\S]*\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}[\\s\\S]*\\d{4}-\\d{2}-\\d{2}/"
        ".test(document.querySelector('#keys-table')?.innerText || '')")
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    # The revoked secret is no longer on screen, and the confirmation is put away.
    page.wait_for_function(
        "(document.querySelector('#new-key textarea, #new-key input')?.value ?? 'x') === ''")
    confirm.wait_for(state="hidden")
    page.screenshot(path=str(ARTIFACTS / "browser-keys.png"), full_page=True)


def test_the_gpu_tab_says_there_is_no_gpu_and_charts_the_app(page: Page, app_server: AppServer) -> None:
    page.goto(app_server.url)
    sign_in(page, app_server, "test", "test")
    page.get_by_role("tab", name="GPU & engine").click(timeout=30_000)
    page.wait_for_function(
        "document.querySelector('#gpu-status')?.innerText.includes('No GPU')", timeout=15_000)
    page.wait_for_selector("text=Requests per minute", timeout=15_000)
    page.screenshot(path=str(ARTIFACTS / "browser-gpu.png"), full_page=True)

    joins: list[float] = []  # when the page sent an event
    page.on("request", lambda r: joins.append(time.monotonic()) if "/queue/join" in r.url
            else None)
    with page.expect_request(lambda r: "/queue/join" in r.url, timeout=5_000):
        pass  # the open tab refreshes every 2 s
    page.get_by_role("tab", name="Chat").click()
    # Then only the event that stops the timer, and a refresh already on its way (under load
    # that took over a second): a quiet spell longer than the refresh period must follow.
    left = time.monotonic()
    while time.monotonic() - max([left, *joins]) < 3.0:
        assert time.monotonic() - left < 20, "a tab left for another still asks the server"
        page.wait_for_timeout(200)


def test_the_usage_tab_charts_and_downloads_csv(page: Page, app_server: AppServer) -> None:
    answer = http.post(f"{app_server.url}/api/chat", headers=app_server.auth(), timeout=60,
                       json={"messages": [{"role": "user", "content": "Say hi."}],
                             "max_tokens": 4})  # a request to chart, whatever ran before
    assert answer.status_code == 200, answer.text
    page.goto(app_server.url)
    sign_in(page, app_server, "admin", "admin123")
    page.get_by_role("tab", name="Usage").click(timeout=30_000)
    page.wait_for_selector("#usage-summary", timeout=15_000)
    page.wait_for_function(
        "(document.querySelector('#usage-summary')?.innerText || '').length > 10", timeout=15_000)
    # Readable at a glance (issue 12): the legend under the axis title, not over it; table
    # headers wrap between words, never inside one ("Toke" / "ns").
    legend, axis_title = (page.locator(f"#usage-requests {part}").bounding_box(timeout=15_000)
                          for part in (".legend", ".xtitle"))
    assert legend and axis_title and legend["y"] >= axis_title["y"] + axis_title["height"], (
        legend, axis_title)
    page.screenshot(path=str(ARTIFACTS / "browser-usage.png"), full_page=True)
    page.set_viewport_size({"width": 900, "height": 900})  # narrower columns
    lines = page.evaluate(  # the lines each header's text takes
        "Object.fromEntries([...document.querySelectorAll("
        "'#usage-slowest th .header-content > span')].map(s => { const r = document.createRange();"
        " r.selectNodeContents(s); return [s.innerText, new Set([...r.getClientRects()]"
        ".map(c => Math.round(c.top))).size]; }))")
    assert lines and all(n == 1 for word, n in lines.items() if " " not in word), lines
    # One click (issue 12, defect 5): the link is there once the tab has loaded.
    page.wait_for_selector("#usage-download", state="visible", timeout=15_000)
    with page.expect_download(timeout=30_000) as download:
        page.click("#usage-download")
    path = download.value.path()
    body = Path(path).read_bytes()
    assert body.startswith(b"\xef\xbb\xbf") and b"request_id" in body
    # From the app's authenticated export route, not a file in Gradio's cache.
    assert "/api/usage/export?" in download.value.url


def test_an_admin_adds_and_disables_a_colleague_in_the_users_tab(
        page: Page, browser: Browser, app_server: AppServer) -> None:
    page.goto(app_server.url)
    sign_in(page, app_server, "admin", "admin123")
    page.get_by_role("tab", name="Users").click(timeout=30_000)
    page.fill("#new-username textarea, #new-username input", "browser-colleague")
    page.fill("#new-user-password input", "colleague-pass-1")
    page.click("#add-user")
    page.wait_for_function(
        "document.querySelector('#users-table')?.innerText.includes('browser-colleague')")

    colleague = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    colleague.goto(app_server.url)
    sign_in(colleague, app_server, "browser-colleague", "colleague-pass-1")
    colleague.wait_for_selector("#message textarea", timeout=30_000)
    colleague.get_by_role("tab", name="GPU & engine").wait_for()
    assert colleague.get_by_role("tab", name="Users").count() == 0

    page.locator("#user-choice input").click()
    page.get_by_role("option", name="browser-colleague (user)").click()
    page.click("#disable-user")
    page.wait_for_function(
        "document.querySelector('#users-result')?.innerText.includes('disabled')")
    page.screenshot(path=str(ARTIFACTS / "browser-users.png"), full_page=True)

    colleague.reload()
    colleague.wait_for_selector("#sign-in", timeout=30_000)  # the session ended at once
    sign_in(colleague, app_server, "browser-colleague", "colleague-pass-1")
    colleague.wait_for_selector("#sign-in", timeout=30_000)
    assert "Wrong username or password" in colleague.content() or \
        colleague.url.startswith(f"{app_server.url}/login")
    colleague.context.close()


ATTACKER_PAGE = """<!doctype html><html><body><script>
window.results = {};
async function attempt(name, url, init) {
  try {
    const response = await fetch(url, {credentials: "include", ...init});
    window.results[name] = "read " + response.status + " " + (await response.text()).slice(0, 200);
  } catch (error) {
    window.results[name] = "blocked";
  }
}
(async () => {
  const app = "APP_URL";
  const join = JSON.stringify({fn_index: FN_INDEX, data: ["stolen"], session_hash: "evil",
                               event_data: null, trigger_id: null});
  await attempt("json join", app + "/gradio_api/queue/join",
                {method: "POST", headers: {"Content-Type": "application/json"}, body: join});
  await attempt("simple join", app + "/gradio_api/queue/join",
                {method: "POST", headers: {"Content-Type": "text/plain"}, body: join});
  await attempt("listen", app + "/gradio_api/queue/data?session_hash=evil", {});
  await attempt("read keys", app + "/api/keys", {});
  await attempt("read config", app + "/config", {});
  await attempt("create key", app + "/api/keys", {method: "POST",
                headers: {"Content-Type": "text/plain"}, body: JSON.stringify({name: "stolen"})});
  window.done = true;
})();
</script></body></html>"""


def test_a_page_on_another_port_cannot_use_the_signed_in_ui(
        page: Page, app_server: AppServer, tmp_path: Path) -> None:
    """Browsers send the session cookie to every port of the host: the app must refuse what such
    a page sends and let it read nothing (hole 1 of issue 10, in a real browser)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    open_chat(page, app_server)
    config = http.get(f"{app_server.url}/config", headers=app_server.auth()).json()
    create_key = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "create")
    (tmp_path / "attacker.html").write_text(
        ATTACKER_PAGE.replace("APP_URL", app_server.url).replace("FN_INDEX", str(create_key)))
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    attacker = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{attacker.server_address[1]}/attacker.html")
        page.wait_for_function("window.done === true", timeout=30_000)
        results = page.evaluate("window.results")
    finally:
        attacker.shutdown()
        attacker.server_close()
    assert results == {name: "blocked" for name in
                       ("json join", "simple join", "listen", "read keys", "read config",
                        "create key")}
    keys = http.get(f"{app_server.url}/api/keys", headers=app_server.auth()).json()["keys"]
    assert all(k["name"] != "stolen" for k in keys), "the page minted a key as the user"
