"""A newcomer's first five minutes as one script (issue 12): sign in, chat, retry, stop, edit an
earlier message, reload and land in the same conversation, new chat, an admin switches the model
from another session, keep chatting in the open tab, sign out. No red error pill, no lost text.

Its own app: the admin's switch changes the profile every later test would see."""

from __future__ import annotations

from itertools import pairwise

import pytest
from browsing import (
    ARTIFACTS,
    HEADINGS,
    LISTED,
    newest_answer_stored,
    newest_messages_when,
    open_models_tab,
    settled_answer,
    sign_in,
    wait_for_models_text,
    watch_answer,
)
from conftest import AppServer
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.browser

# What the person saw that they should not have: Stop while the page loaded, red "Error" pills
# (Gradio's status of a failed event, drawn on its outputs) and toasts (refusals).
WATCH = """
window.stopSeen = false; window.pills = []; window.toasts = [];
new MutationObserver((records) => {
  const stop = document.querySelector('#stop');
  if (stop && stop.offsetParent !== null) window.stopSeen = true;
  for (const record of records) for (const node of record.addedNodes) {
    if (!(node instanceof Element)) continue;
    for (const pill of [node, ...node.querySelectorAll('.error')]) {
      if (pill.matches('.error') && pill.closest('.gradio-container'))
        window.pills.push(pill.closest('[id]')?.id || pill.className);
    }
    const toast = node.matches('.toast-body') ? node : node.querySelector('.toast-body');
    if (toast) window.toasts.push(toast.innerText);
  }
}).observe(document, {childList: true, subtree: true, attributes: true});
"""


def nothing_went_wrong(page: Page) -> None:
    assert page.evaluate("window.pills") == [], "a red Error pill showed"
    assert page.evaluate("window.toasts") == [], "a refusal showed"


def send(page: Page, text: str) -> None:
    """Type and send; the text leaves the box and shows as the last message of the chat."""
    page.fill("#message textarea", text)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "text => { const rows = document.querySelectorAll('#chatbot .user-row');"
        " return rows.length && rows[rows.length - 1].innerText.trim() === text"
        " && document.querySelector('#message textarea').value === ''; }", arg=text)


def last_answer_longer_than(page: Page, chars: int) -> None:
    page.wait_for_function(
        "n => { const answers = document.querySelectorAll('#chatbot [data-testid=\"bot\"]');"
        " return (answers[answers.length - 1]?.innerText || '').length > n; }", arg=chars,
        timeout=30_000)


def test_a_newcomers_first_five_minutes(page: Page, browser: Browser,
                                        app_server: AppServer) -> None:
    page.add_init_script(WATCH)
    page.goto(app_server.url)
    assert "/login" in page.url, "a visitor without a session is sent to the login page"
    sign_in(page, app_server, "test", "wrong")
    assert page.locator(".error").inner_text() == "Wrong username or password."
    assert page.input_value("#username") == "test", "a wrong password keeps the username"
    sign_in(page, app_server, "test", "test")
    page.wait_for_selector("#message textarea", timeout=30_000)
    page.wait_for_function(
        "document.querySelector('#user-header')?.innerText.includes('Signed in as test')")
    page.locator("#send").wait_for()
    assert not page.evaluate("window.stopSeen"), "Stop showed while the page loaded"
    page.get_by_role("tab", name="GPU & engine").wait_for()  # the tab bar is drawn as a whole
    assert page.get_by_role("tab", name="Models").count() == 0, "only admins see Models"
    chat_streams_and_is_listed(page, app_server)
    retry_stop_and_edit(page, app_server)
    reload_lands_in_the_conversation(page)

    # New chat: empty, with its welcome; the next message starts another conversation.
    page.click("#new-chat-top")
    page.wait_for_function("!document.querySelector('#chatbot .user-row')"
                           " && !location.search.includes('c=')")
    page.locator("#chatbot").get_by_text("What can I help with?").wait_for()
    send(page, "Say hi.")
    assert watch_answer(page, stored=newest_answer_stored(app_server)), "no answer"

    switch_as_admin(browser, app_server)
    # The user's tab, opened before the switch, keeps chatting with the active model
    # (issue 12, defect 1): its model choice named the old one.
    send(page, "Say hello.")
    assert watch_answer(page, stored=newest_answer_stored(app_server, 2)), "no answer"
    model = page.locator("#model-choice input")
    model.wait_for()
    assert model.input_value() == "smollm2-135m-precise", "the model choice follows the switch"

    # ☰ shows the list again, with one New chat on screen; picking a conversation reopens it.
    page.click("#toggle-list")
    page.locator("#chat-sidebar").wait_for(state="visible", timeout=5_000)
    assert page.locator("#new-chat-top").is_hidden(), "one New chat on screen"
    page.locator(LISTED).nth(1).click()
    page.wait_for_function(
        "document.querySelector('#chatbot')?.innerText.includes('poem about the sun')")
    nothing_went_wrong(page)

    # Sign out happens in this tab, not in a new one that leaves this one looking signed in
    # (issue 12, defect 3).
    page.get_by_text("Sign out", exact=True).click()
    page.wait_for_url("**/login**", timeout=10_000)
    assert len(page.context.pages) == 1, "signing out opened another tab"
    page.goto(app_server.url)
    assert "/login" in page.url, "the session ended"


def chat_streams_and_is_listed(page: Page, app_server: AppServer) -> None:
    send(page, "Write a short poem about the moon.")
    seen = watch_answer(page, stored=newest_answer_stored(app_server))
    assert len(seen) >= 3, f"the answer should grow in steps, saw {seen!r}"
    assert all(len(a) <= len(b) for a, b in pairwise(seen))
    # New chat is the way to a new chat: Gradio's trash icon above the chat, which emptied the
    # screen but left the conversation selected, is gone (issue 12).
    page.hover("#chatbot")
    assert page.locator("#chatbot .top-panel button:visible").count() == 0
    # One "Settings" on the page, the chat's: Gradio's footer link to its own settings (theme,
    # language) had the same name and another meaning (issue 12).
    assert page.locator("footer").get_by_text("Settings").count() == 0
    assert page.locator("footer").inner_text().strip() == "Use via API", "a stray separator"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-chat.png"), full_page=True)
    # Under a date heading, as in the chat apps people know (issue 12).
    page.wait_for_function("([listed, heading]) => document.querySelector(listed)?.innerText"
                           " === 'Write a short poem about the moon.' && document.querySelector("
                           "heading)?.innerText === 'Today'", arg=[LISTED, HEADINGS])
    assert page.locator(HEADINGS).count() == 1
    assert page.locator(HEADINGS).locator("input").is_disabled(), "arrow keys would pick it"
    nothing_went_wrong(page)


def retry_stop_and_edit(page: Page, app_server: AppServer) -> None:
    first = newest_messages_when(app_server, lambda m: len(m) == 2)
    page.get_by_role("button", name="Retry").click()
    newest_messages_when(app_server, lambda m: len(m) == 2 and m[1]["id"] != first[1]["id"])
    watch_answer(page, until_stable_s=0.5)

    send(page, "Tell me a very long story about a dragon and a knight.")
    last_answer_longer_than(page, 40)
    page.click("#stop")
    stopped = newest_messages_when(app_server, lambda m: len(m) == 4)
    assert stopped[3]["status"] == "cancelled"
    assert settled_answer(page).endswith("(stopped)")
    page.locator("#send").wait_for(timeout=10_000)

    # Editing the first message replaces the turns after it, once the person agrees.
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.locator("#chatbot button[aria-label='Edit']:visible").first.click()
    editor = page.locator("#chatbot textarea")
    editor.fill("Write a short poem about the sun.")
    editor.press("Enter")
    edited = newest_messages_when(app_server, lambda m: len(m) == 2
                                  and m[0]["content"] == "Write a short poem about the sun.")
    assert asked, "the page did not ask before replacing the later turns"
    assert edited[0]["id"] == first[0]["id"]
    watch_answer(page, stored=newest_answer_stored(app_server))
    page.wait_for_function("document.querySelectorAll('#chatbot .user-row').length === 1")
    nothing_went_wrong(page)


def reload_lands_in_the_conversation(page: Page) -> None:
    """A reload reopens the conversation on screen; ☰ hides the list, and it stays hidden
    after the reload (this browser remembers it) until ☰ shows it again."""
    page.wait_for_url("**/?c=*")
    shown = page.url
    width = page.locator("#chat-main").bounding_box()["width"]  # type: ignore[index]
    page.click("#toggle-list")
    page.locator("#chat-sidebar").wait_for(state="hidden", timeout=5_000)
    assert page.locator("#chat-main").bounding_box()["width"] > width + 150  # type: ignore[index]
    page.screenshot(path=str(ARTIFACTS / "browser-list-hidden.png"))
    page.reload()
    page.wait_for_function(
        "document.querySelector('#chatbot')?.innerText.includes('poem about the sun')",
        timeout=30_000)
    assert page.url == shown
    assert page.locator("#chat-sidebar").is_hidden()
    page.locator("#send").wait_for()
    assert not page.evaluate("window.stopSeen"), "Stop showed while the page loaded"
    nothing_went_wrong(page)


def switch_as_admin(browser: Browser, app_server: AppServer) -> None:
    """An admin, in a session of their own, switches the served model; the Models tab shows
    only admins, offers what fits, and says how the switch goes."""
    admin = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    open_models_tab(admin, app_server)
    wait_for_models_text(admin, "#profiles-table", "deepseek-r1-distill-qwen-14b")
    table = admin.locator("#profiles-table").inner_text()
    assert "llama.cpp runs on the CPU" in table and "no GPU" in table
    # Issue 12: the active profile first, then those that fit; the menu offers only those,
    # unless "switch anyway" is ticked, and then says why the others do not fit.
    assert (table.index("smollm2-135m-cpu") < table.index("smollm2-135m-cpu-precise")
            < table.index("deepseek-r1-distill-qwen-14b")), table
    wide = admin.evaluate(  # every part of the table within its box: no sideways scrolling
        "[...document.querySelectorAll('#profiles-table *')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 600).length")
    assert wide == 0, "the profiles table scrolls sideways"
    admin.locator("#profile-choice input").click()
    offered = admin.get_by_role("option")
    offered.first.wait_for()
    assert all("smollm2" in o for o in offered.all_inner_texts()), offered.all_inner_texts()
    admin.keyboard.press("Escape")
    admin.locator("#override-fit input").check()
    admin.locator("#profile-choice input").click()  # refilled by the box's event, open or not
    admin.get_by_role("option", name="deepseek-r1-distill-qwen-14b").filter(
        has_text="does not fit").wait_for(timeout=10_000)
    admin.screenshot(path=str(ARTIFACTS / "browser-models-anyway.png"))
    admin.keyboard.press("Escape")
    admin.locator("#override-fit input").uncheck()
    admin.locator("#profile-choice input").click()  # only what fits again
    try:
        admin.wait_for_function("![...document.querySelectorAll('[role=option]')]"
                                ".some(o => o.innerText.includes('does not fit'))")
    except PlaywrightTimeout as exc:  # seen once in a CI rehearsal: keep what the admin saw
        admin.screenshot(path=str(ARTIFACTS / "failed-models-menu.png"), full_page=True)
        ticked = admin.locator("#override-fit input").is_checked()
        raise AssertionError(f"switch anyway ticked: {ticked}; menu: "
                             f"{admin.get_by_role('option').all_inner_texts()}") from exc
    admin.keyboard.press("Escape")
    wait_for_models_text(admin, "#engine-status", "Engine state: ready")
    admin.locator("#profile-choice input").fill("smollm2-135m-cpu-precise")
    admin.keyboard.press("Enter")
    admin.click("#switch-profile")
    wait_for_models_text(admin, "#switch-progress textarea", "smollm2-135m-cpu-precise is ready",
                         timeout=90_000)
    admin.screenshot(path=str(ARTIFACTS / "browser-models.png"), full_page=True)
    wait_for_models_text(admin, "#engine-status", "smollm2-135m-cpu-precise")
    admin.context.close()
