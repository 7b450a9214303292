"""Steps the browser tests share: signing in, reading the answer, the Models tab."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from conftest import ROOT, AppServer
from helpers import conversation, eventually, http
from playwright.sync_api import Page

ARTIFACTS = ROOT / "test-artifacts"
# The conversation list's entries, and its date headings (Today, Yesterday, ...).
HEADINGS = '#conversation-list label:has(input[value^="group:"])'
LISTED = '#conversation-list label:not(:has(input[value^="group:"]))'


def sign_in(page: Page, server: AppServer, username: str, password: str) -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#sign-in")


def open_chat(page: Page, server: AppServer, username: str = "test",
              password: str = "test", new_chat: bool = True) -> None:
    """Sign in on a fresh page and wait until the message box is there. A page opens on the
    user's latest conversation; with `new_chat` (what most tests want) it then starts a new
    one, once the latest has been shown."""
    page.goto(server.url)
    sign_in(page, server, username, password)
    page.wait_for_selector("#message textarea", timeout=30_000)
    listed = http.get(f"{server.url}/api/conversations",
                      headers=server.auth(username, password)).json()["conversations"]
    if new_chat and listed:
        # Shown: the address names it (an empty conversation has no message to wait for).
        page.wait_for_function("location.search.includes('c=')", timeout=15_000)
        # The list's New chat, or the one beside ☰ where the list is out of sight (a phone).
        page.click("#new-chat" if page.locator("#new-chat").is_visible() else "#new-chat-top")
        page.wait_for_function("!document.querySelector('#chatbot .user-row')"
                               " && !location.search.includes('c=')")


def cancel_requests(page: Page) -> list[str]:
    """The Gradio cancel requests the page makes from now on (the chat must make none: they
    left red Error pills, ui/page_answers.py)."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/gradio_api/cancel" in r.url else None)
    return sent


def answer_longer_than(page: Page, chars: int, timeout: float = 30_000) -> None:
    """Until the first answer on screen shows more than `chars` characters."""
    page.wait_for_function(
        "n => (document.querySelector('#chatbot [data-testid=\"bot\"]')?.innerText || '').length"
        " > n", arg=chars, timeout=timeout)


def open_models_tab(page: Page, server: AppServer) -> None:
    page.goto(server.url)
    sign_in(page, server, "admin", "admin123")
    page.get_by_role("tab", name="Models").click(timeout=30_000)


def wait_for_models_text(page: Page, selector: str, text: str, timeout: float = 30_000) -> None:
    """Until the Models tab's element (a textarea's value, else its text) includes `text`."""
    page.wait_for_function(
        "([selector, text]) => { const e = document.querySelector(selector);"
        " return ((e?.value ?? e?.innerText) || '').includes(text); }",
        arg=[selector, text], timeout=timeout)


def last_answer(page: Page) -> str:
    answers = page.locator('#chatbot [data-testid="bot"]')
    return answers.last.inner_text() if answers.count() else ""


def watch_answer(page: Page, until_stable_s: float = 2.0, limit_s: float = 60,
                 stored: Callable[[], bool] | None = None) -> list[str]:
    """Every distinct text the last answer showed, until it stops changing: for `until_stable_s`,
    or, given `stored` (whether the server has stored the answer, i.e. it has ended), for a
    moment once it has."""
    seen: list[str] = []
    last_change = time.monotonic()
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        text = last_answer(page)
        if text and (not seen or text != seen[-1]):
            seen.append(text)
            last_change = time.monotonic()
        elif seen and stored is not None:
            if time.monotonic() - last_change > 0.3 and stored():
                break
        elif seen and time.monotonic() - last_change > until_stable_s:
            break
        page.wait_for_timeout(50)
    return seen


def newest_answer_stored(server: AppServer, answers: int = 1, username: str = "test",
                         password: str = "test") -> Callable[[], bool]:
    """`stored` for watch_answer: the user's newest conversation holds `answers` answers."""
    headers = server.auth(username, password)

    def stored() -> bool:
        listed = http.get(f"{server.url}/api/conversations", headers=headers).json()
        if not listed["conversations"]:
            return False
        messages = conversation(server.url, headers, listed["conversations"][0]["id"])["messages"]
        return sum(m["role"] == "assistant" for m in messages) >= answers

    return stored


def newest_messages_when(server: AppServer, ready: Callable[[list[dict[str, Any]]], bool],
                         username: str = "test", password: str = "test") -> list[dict[str, Any]]:
    """The user's newest conversation's stored messages once its last answer has ended and
    `ready` holds (answers are stored at their end, and a busy engine may start a retried
    answer only seconds after the click)."""
    headers = server.auth(username, password)

    def check() -> list[dict[str, Any]] | None:
        listed = http.get(f"{server.url}/api/conversations", headers=headers).json()
        if not listed["conversations"]:  # the message may not have reached the server yet
            return None
        messages = conversation(server.url, headers, listed["conversations"][0]["id"])["messages"]
        ended = bool(messages) and messages[-1].get("status") in ("completed", "cancelled")
        return messages if ended and ready(messages) else None
    return eventually(check, timeout=90)


def settled_answer(page: Page, quiet_s: float = 1.0, limit_s: float = 10) -> str:
    """The last answer once it has not changed for `quiet_s`; one still changing after
    `limit_s` fails the test (after Stop nothing more may arrive)."""
    started = time.monotonic()
    seen = watch_answer(page, quiet_s, limit_s)
    assert seen, f"no answer on the page for {limit_s} s"
    assert time.monotonic() - started < limit_s, (
        f"the answer kept changing for {limit_s} s ({len(seen)} texts, last {seen[-1][-80:]!r})")
    return seen[-1]


def open_settings(page: Page) -> None:
    """Show the settings beside the chat (⚙ above it), unless they are shown already."""
    if not page.locator("#chat-settings").is_visible():
        page.click("#toggle-settings")
    page.locator("#max-tokens input[type=number]").wait_for(state="visible")


def save_preset(page: Page, server: AppServer, name: str, prompt: str) -> None:
    """Type a prompt, name it and save it; the server must hold exactly what the box showed."""
    page.fill("#system-prompt textarea", prompt)
    page.keyboard.press("Tab")  # leave the box, as a person does before reaching Save
    page.fill("#preset-name input, #preset-name textarea", name)
    page.click("#save-preset")
    page.wait_for_function(f"document.querySelector('#preset-choice input')?.value === {name!r}")
    saved = {p["name"]: p["system_prompt"] for p in http.get(
        f"{server.url}/api/presets", headers=server.auth()).json()["presets"]}
    assert saved.get(name) == prompt, f"preset {name} saved as {saved.get(name)!r}"
