"""Small helpers shared by integration tests."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from gradio_client import Client

if TYPE_CHECKING:
    from nbformat import NotebookNode

T = TypeVar("T")

# One client for every test request: httpx.get() builds a client, and with it a TLS context, per
# call (~20 ms here). No keep-alive, so a test never reuses a connection its server has closed;
# no cookie jar (cookies are per host, not per port), so no test is signed in by another's reply.
http = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0),
                    cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])))


def gradio_client(url: str, headers: dict[str, str] | None = None) -> Client:
    """A gradio_client Client on an app. It needs no closing: the app ends its heartbeat stream
    when it shuts down (Client.close() waits a second for that stream)."""
    return Client(f"{url}/", headers=headers, verbose=False)


def cookie(name: str, value: str) -> dict[str, str]:
    """A Cookie header for one request of the shared client (it keeps no cookies)."""
    return {"Cookie": f"{name}={value}"}

SHIPPED_PROFILES = Path(__file__).resolve().parent.parent / "profiles"


def profiles_dir_with(tmp_path: Path, profile_id: str, toml: str) -> Path:
    """A profiles directory for PROFILES_DIR: the shipped CPU profile plus one more."""
    directory = tmp_path / "profiles"
    directory.mkdir()
    shutil.copy(SHIPPED_PROFILES / "smollm2-135m-cpu.toml", directory)
    (directory / f"{profile_id}.toml").write_text(toml)
    return directory


def broken_profiles_dir(tmp_path: Path) -> Path:
    """The shipped CPU profile plus one whose model file is not a model."""
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"not a model" * 100)
    return profiles_dir_with(tmp_path, "broken-cpu", f'''
id = "broken-cpu"
name = "A profile whose engine cannot start"
engine = "llama.cpp"
served_model_name = "broken"
max_model_len = 2048

[model_file]
path = "{garbage}"
''')


def sse_events(response: httpx.Response) -> Iterator[Any]:
    """Decoded `data:` payloads of an SSE response; "[DONE]" stays a string."""
    for line in response.iter_lines():
        if line.startswith("data: "):
            payload = line[len("data: "):]
            yield payload if payload == "[DONE]" else json.loads(payload)


def stream_chat(url: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[httpx.Response, list[Any]]:
    with http.stream("POST", f"{url}/api/chat", json=body, headers=headers, timeout=120) as response:
        if response.status_code != 200:
            response.read()
            return response, []
        events = list(sse_events(response))
    return response, events


@dataclass
class StreamedChat:
    conv_id: str
    request_id: str
    events: list[Any]

    @property
    def content(self) -> str:
        return content_of(self.events)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [e["error"] for e in self.events if isinstance(e, dict) and "error" in e]


def chat_then(url: str, headers: dict[str, str], body: dict[str, Any],
              when: Callable[[list[Any]], bool], act: Callable[[], object] = lambda: None,
              hang_up: bool = False, path: str = "/api/chat") -> StreamedChat:
    """Stream an answer over REST; the first time `when(events so far)` holds, call `act`, then
    hang up (the answer is cancelled) or read on to the end. An answer that ends before `when`
    holds fails the test: it never did what it meant to."""
    events: list[Any] = []
    with http.stream("POST", f"{url}{path}", json=body, headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        streamed = StreamedChat(response.headers["x-conversation-id"],
                                response.headers["x-request-id"], events)
        acted = False
        for event in sse_events(response):
            events.append(event)
            if not acted and when(events):
                acted = True
                act()
                if hang_up:
                    break
    assert acted, f"the answer ended before the test could act: {events[-3:]}"
    return streamed


def after(n: int) -> Callable[[list[Any]], bool]:
    """`when` for chat_then: once n events have come."""
    return lambda events: len(events) >= n


def content_of(events: list[Any]) -> str:
    return "".join(
        e["choices"][0]["delta"].get("content", "")
        for e in events if isinstance(e, dict) and e.get("choices")
    )


def eventually(check: Callable[[], T | None], timeout: float = 20.0, interval: float = 0.2) -> T:
    """Poll until check() returns something truthy (stored results are written just after
    an answer ends)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def usage_rows(url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = http.get(f"{url}/api/usage", headers=headers)
    response.raise_for_status()
    return list(response.json()["requests"])


def conversation(url: str, headers: dict[str, str], conv_id: int | str) -> dict[str, Any]:
    response = http.get(f"{url}/api/conversations/{conv_id}", headers=headers)
    response.raise_for_status()
    return dict(response.json())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    import os
    from pathlib import Path

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored_conversation(url: str, headers: dict[str, str], conv_id: int | str,
                        messages: int) -> dict[str, Any]:
    """The conversation once it holds `messages` messages."""
    def check() -> dict[str, Any] | None:
        conv = conversation(url, headers, conv_id)
        return conv if len(conv["messages"]) >= messages else None
    return eventually(check)


def printed(notebook: NotebookNode) -> str:
    """What the cells printed and the text form of what they displayed."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(output.text)
            elif "data" in output:
                parts.append(output.data.get("text/plain", ""))
    return "\n".join(parts)
