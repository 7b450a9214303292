"""Apps served from the test process itself: uvicorn on a thread of its own, in front of one
llama.cpp engine shared by the whole run.

Starting `python app.py` costs an interpreter, the Gradio import and a model load per app,
and its stop waits for the graceful shutdown; an app on a thread of this process starts in
well under a second. It is the same app (create_app with Settings built from the same
variables), the engine is the real llama.cpp with the real model, and requests go through a
real socket. An app may also start and manage an engine of its own, as `./start` does
(switching, crash recovery). Tests that need a process of their own (signals, an app killed
with its engine, file permissions set by `main()`) use conftest's `server_factory` instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import uvicorn
from helpers import http

from engine.commands import llama_cpp_launch
from engine.model_files import model_path
from engine.process import first_token, probe
from engine.profiles import load_profile
from observability.logs import MaskingFormatter, route_library_logs

if TYPE_CHECKING:
    from fastapi import FastAPI

    from services import ServicesHolder

ROOT = Path(__file__).resolve().parent.parent
# What every test app gets, in a process or not: a secret of its own data directory, login
# on, cheap bcrypt (sign-ins are part of nearly every test) and no chat rate limit (a test
# module chats faster than people do; tests of the limits set their own).
TEST_APP_ENV = {"JWT_SECRET": "", "DEVELOPMENT_MODE": "false", "BCRYPT_ROUNDS": "4",
                "CHAT_RATE_LIMIT": ""}
ENGINE_KEY = "shared-test-engine"
PROFILE_FILE = ROOT / "profiles" / "smollm2-135m-cpu.toml"


def bound_socket() -> socket.socket:
    """A listening socket on a free loopback port, handed to uvicorn: no port can be taken
    between choosing it and listening on it."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@dataclass
class SharedEngine:
    """The real llama.cpp server, started once, spoken to as ENGINE_BASE_URL."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def env(self) -> dict[str, str]:
        """What points an app (in process or not) at this engine. Titles are off: written in
        the background, one test's title would take the engine from the next test (tests of
        titles turn them on)."""
        return {"ENGINE_BASE_URL": self.url, "ENGINE_API_KEY": ENGINE_KEY, "AUTO_TITLES": "false"}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_shared_engine(model_dir: Path, log_dir: Path) -> SharedEngine:
    profile = load_profile(PROFILE_FILE)
    assert profile.model_file is not None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    spec = llama_cpp_launch(profile, port=port, model_path=model_path(model_dir, profile.model_file),
                            api_key=ENGINE_KEY)
    log_path = log_dir / "shared-engine.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(spec.argv, env={**os.environ, **spec.env}, stdout=log_file,
                                   stderr=subprocess.STDOUT)
    engine = SharedEngine(f"http://127.0.0.1:{port}", process, log_path)
    try:
        asyncio.run(_wait_ready(engine, profile.served_model_name))
    except BaseException:
        engine.stop()
        raise
    return engine


async def _wait_ready(engine: SharedEngine, model: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not await probe(engine.url, ENGINE_KEY):
        if engine.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the shared engine did not start:\n{engine.log_path.read_text()[-3000:]}")
        await asyncio.sleep(0.2)
    await first_token(engine.url, ENGINE_KEY, model, timeout_s)


class _LogCapture(logging.Handler):
    """The app's log lines while it runs (its logging is the test process's)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.setFormatter(MaskingFormatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class SignsIn:
    """Signing in to a running app at `url` (in process or not)."""

    url: str

    def token(self, username: str = "test", password: str = "test") -> str:
        response = http.post(
            f"{self.url}/api/auth/login", json={"username": username, "password": password}
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def auth(self, username: str = "test", password: str = "test") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username, password)}"}


@dataclass
class InProcessServer(SignsIn):
    """An app on a thread of the test process; shaped like conftest's AppServer."""

    url: str
    data_dir: Path
    env: dict[str, str]
    engine: SharedEngine | None
    _app: FastAPI
    _server: uvicorn.Server
    _thread: threading.Thread
    _logs: _LogCapture = field(default_factory=_LogCapture)
    exit_code: int | str | None = None

    def engine_pid(self) -> int | None:
        """The engine's process: the shared one where this app talks to it, else the one this
        app manages (a test double is no process)."""
        if self.engine and self.env.get("ENGINE_BASE_URL") == self.engine.url:
            return self.engine.pid
        if self.env.get("ENGINE_BASE_URL"):
            return None
        holder: ServicesHolder = self._app.state.services_holder
        return holder.get().engine.pid

    def log(self) -> str:
        return "\n".join(self._logs.lines)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(60)
        logging.getLogger().removeHandler(self._logs)
        assert not self._thread.is_alive(), "the app did not stop"


def start_inprocess(data_dir: Path, env: dict[str, str], engine: SharedEngine | None,
                    wait_for: str = "healthy") -> InProcessServer:
    """Serve create_app(Settings(**env)) on a thread until the health check says `wait_for`."""
    from app import Server, create_app, server_config
    from settings import Settings

    data_dir.mkdir(parents=True, exist_ok=True)
    sock = bound_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(**{"DATA_DIR": str(data_dir), **env})  # type: ignore[arg-type]
    app = create_app(settings)
    server = Server(server_config(app, settings, graceful_shutdown_s=1))
    async def serve() -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit as exit:  # uvicorn's way to end a failed startup; the log says why
            running.exit_code = exit.code

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True, name=f"app {url}")
    running = InProcessServer(url, data_dir, env, engine, app, server, thread)
    logging.getLogger().addHandler(running._logs)
    # As `python app.py` routes them (a test double serving with uvicorn's own config may
    # have stopped uvicorn's records short of the root since).
    route_library_logs()
    thread.start()

    def stopped() -> str | None:
        return None if thread.is_alive() else f"the app stopped while starting (exit {running.exit_code})"

    try:
        wait_until_serving(running.url, wait_for, stopped, running.log)
    except BaseException:
        running.stop()
        sock.close()
        raise
    return running


def wait_until_serving(url: str, wait_for: str, stopped: Callable[[], str | None],
                       log: Callable[[], str], timeout_s: float = 120) -> None:
    """Until /health says `wait_for` ("up": answers at all); `stopped` says why the app is gone."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (why := stopped()) is not None:
            raise RuntimeError(f"{why}:\n{log()[-3000:]}")
        try:
            health = http.get(f"{url}/health", timeout=2).json()
            if wait_for == "up" or health["status"] == wait_for:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"app not {wait_for} in time:\n{log()[-3000:]}")
