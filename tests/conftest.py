"""Shared fixtures. Integration tests start the real app (and its real llama.cpp engine) as a
child process on free ports, each server with its own data directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = ROOT / ".cache" / "models"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True, scope="session")
def away_from_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Settings read `.env` from the working directory: tests run from an empty one, so a
    developer's .env in the checkout cannot change what they see."""
    previous = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(previous)


DEFAULT_PORTS = (8000, 8080)  # VLLM_PORT and GATEWAY_PORT: where a developer's ./start runs


class _TrapHandler(BaseHTTPRequestHandler):
    calls: ClassVar[list[str]] = []

    def _refuse(self) -> None:
        self.calls.append(f"{self.command} {self.server.server_address[1]}{self.path}")
        self.send_error(503, "this port belongs to ./start, not to a test")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def default_port_trap() -> Iterator[list[str]]:
    """Listen on the default ports (where free) for the whole run and record every request."""
    servers = []
    for port in DEFAULT_PORTS:
        try:
            servers.append(ThreadingHTTPServer(("127.0.0.1", port), _TrapHandler))
        except OSError:
            continue  # taken (a developer's ./start): the suite must pass beside it too
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield _TrapHandler.calls
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_default_ports(default_port_trap: list[str]) -> Iterator[None]:
    """A test that quietly talks to port 8000 or 8080 fails: tests take free ports."""
    seen = len(default_port_trap)
    yield
    if len(default_port_trap) > seen:
        pytest.fail(f"this test used a default port: {default_port_trap[seen:]}")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A real DuckDB file of the test's own, migrated to the latest schema."""
    database = Database(tmp_path / "db.duckdb")
    yield database
    database.close()


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The SmolLM2 GGUF, fetched once (./test does it before pytest starts)."""
    from engine.model_files import ensure_model_file
    from engine.profiles import load_profile

    directory = Path(os.environ.get("TEST_MODEL_DIR", DEFAULT_MODEL_DIR))
    profile = load_profile(ROOT / "profiles" / "smollm2-135m-cpu.toml")
    ensure_model_file(directory, profile.model_file)
    return directory


def child_pids(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@dataclass
class AppServer:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def token(self, username: str = "test", password: str = "test") -> str:
        response = httpx.post(
            f"{self.url}/api/auth/login", json={"username": username, "password": password}
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def auth(self, username: str = "test", password: str = "test") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username, password)}"}

    def engine_pid(self) -> int | None:
        children = child_pids(self.process.pid)
        return children[0] if children else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    data_dir: Path, model_dir: Path, extra_env: dict[str, str] | None = None,
    wait_for: str = "healthy",
) -> AppServer:
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "MODEL_DIR": str(model_dir),
        "GATEWAY_PORT": str(port),
        "VLLM_PORT": str(free_port()),
        "JWT_SECRET": "",
        "DEVELOPMENT_MODE": "false",
        # A test module chats faster than people do; tests of the limit set their own.
        "CHAT_RATE_LIMIT": "",
        **(extra_env or {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "app-test.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], cwd=data_dir, env=env,
            stdout=log_file, stderr=subprocess.STDOUT,
        )
    server = AppServer(f"http://127.0.0.1:{port}", data_dir, process, log_path, env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app exited with {process.returncode}:\n{server.log()[-3000:]}")
        try:
            health = httpx.get(f"{server.url}/health", timeout=2).json()
            if wait_for == "up" or health["status"] == wait_for:
                return server
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"app not {wait_for} in time:\n{server.log()[-3000:]}")


ServerFactory = Callable[..., AppServer]


@pytest.fixture
def server_factory(tmp_path: Path, model_dir: Path) -> Iterator[ServerFactory]:
    """Start app servers for one test; all are stopped, and checked for orphans, afterwards."""
    started: list[AppServer] = []

    def factory(extra_env: dict[str, str] | None = None, wait_for: str = "healthy",
                name: str = "data") -> AppServer:
        server = start_server(tmp_path / name, model_dir, extra_env, wait_for)
        started.append(server)
        return server

    yield factory
    for server in started:
        engine = server.engine_pid()
        server.stop()
        if engine is not None:
            deadline = time.monotonic() + 10
            while pid_alive(engine) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not pid_alive(engine), "the engine outlived the app"


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[AppServer]:
    """One real app with the real engine for a test module whose tests only add data."""
    server = start_server(tmp_path_factory.mktemp("app"), model_dir)
    yield server
    server.stop()
