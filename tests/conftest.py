"""Shared fixtures. Integration tests start the real app (and its real llama.cpp engine) as a
child process on free ports, each server with its own data directory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from inprocess import (
    TEST_APP_ENV,
    InProcessServer,
    SharedEngine,
    SignsIn,
    start_inprocess,
    start_shared_engine,
    wait_until_serving,
)

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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Marks a test whose call failed, for fixtures that keep evidence (screenshots). An
    attribute, not a stash key: tests import conftest as a module of its own (importlib mode),
    so a key object made here would not be theirs."""
    report = yield
    if call.when == "call" and report.failed:  # type: ignore[attr-defined]
        item.call_failed = True  # type: ignore[attr-defined]
    return report


def call_failed(request: pytest.FixtureRequest) -> bool:
    return bool(getattr(request.node, "call_failed", False))


DEFAULT_PORTS = (8000, 8080)  # VLLM_PORT and GATEWAY_PORT: where a developer's ./start runs


class _TrapHandler(BaseHTTPRequestHandler):
    log: ClassVar[Path]

    def _refuse(self) -> None:
        with self.log.open("a") as log:
            log.write(f"{self.command} {self.server.server_address[1]}{self.path}\n")
        self.send_error(503, "this port belongs to ./start, not to a test")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def default_port_trap(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Path]:
    """Listen on the default ports (where free) for the whole run and log every request.

    With pytest-xdist one worker holds the ports; the log lies in the run's directory that
    all workers share, so a call from any worker's test is seen."""
    run_dir = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        run_dir = run_dir.parent
    _TrapHandler.log = run_dir / "default-port-calls.log"
    _TrapHandler.log.touch()
    servers = []
    for port in DEFAULT_PORTS:
        try:
            servers.append(ThreadingHTTPServer(("127.0.0.1", port), _TrapHandler))
        except OSError:
            continue  # taken (a developer's ./start, or another worker): the suite passes beside it
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield _TrapHandler.log
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_default_ports(default_port_trap: Path) -> Iterator[None]:
    """A test that quietly talks to port 8000 or 8080 fails: tests take free ports."""
    seen = default_port_trap.read_text().splitlines()
    yield
    calls = default_port_trap.read_text().splitlines()[len(seen):]
    if calls:
        pytest.fail(f"a test used a default port (this one, or one running beside it): {calls}")


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
class ProcessServer(SignsIn):
    """`python app.py` as a child process, with its managed engine unless told otherwise."""

    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

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
) -> ProcessServer:
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "MODEL_DIR": str(model_dir),
        "GATEWAY_PORT": str(port),
        "VLLM_PORT": str(free_port()),
        **TEST_APP_ENV,
        **(extra_env or {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "app-test.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], cwd=data_dir, env=env,
            stdout=log_file, stderr=subprocess.STDOUT,
        )
    server = ProcessServer(f"http://127.0.0.1:{port}", data_dir, process, log_path, env)

    def stopped() -> str | None:
        return None if process.poll() is None else f"app exited with {process.returncode}"

    try:
        wait_until_serving(server.url, wait_for, stopped, server.log)
    except BaseException:
        server.stop()
        raise
    return server


ServerFactory = Callable[..., ProcessServer]
# What a test talks to: an app in a child process or on a thread of this one.
AppServer = ProcessServer | InProcessServer


@pytest.fixture
def server_factory(tmp_path: Path, model_dir: Path) -> Iterator[ServerFactory]:
    """Start app servers for one test; all are stopped, and checked for orphans, afterwards."""
    started: list[ProcessServer] = []

    def factory(extra_env: dict[str, str] | None = None, wait_for: str = "healthy",
                name: str = "data") -> ProcessServer:
        server = start_server(tmp_path / name, model_dir, extra_env, wait_for)
        started.append(server)
        return server

    yield factory
    stop_checking_orphans(started)


def stop_checking_orphans(servers: Sequence[AppServer], shared_pid: int | None = None) -> None:
    """Stop each app; an engine it started must end with it (the shared one stays)."""
    for server in servers:
        engine = server.engine_pid()
        server.stop()
        if engine is not None and engine != shared_pid:
            deadline = time.monotonic() + 10
            while pid_alive(engine) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not pid_alive(engine), "the engine outlived the app"


@pytest.fixture(scope="session")
def shared_engine(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[SharedEngine]:
    """One real llama.cpp engine with the real model for every in-process app of the run."""
    engine = start_shared_engine(model_dir, tmp_path_factory.mktemp("engine"))
    yield engine
    engine.stop()


def inprocess_env(model_dir: Path, engine: SharedEngine, extra_env: dict[str, str] | None,
                  own_engine: bool = False) -> dict[str, str]:
    """An app on the shared engine, or (own_engine) one that starts its engine as `./start`
    does: from the active profile, on a free port, titles on."""
    engine_env = {"VLLM_PORT": str(free_port())} if own_engine else engine.env
    return {
        "MODEL_DIR": str(model_dir),
        **engine_env,
        **TEST_APP_ENV,
        **(extra_env or {}),
    }


def start_app(data_dir: Path, model_dir: Path, engine: SharedEngine,
              extra_env: dict[str, str] | None = None, wait_for: str = "healthy",
              own_engine: bool = False) -> InProcessServer:
    env = inprocess_env(model_dir, engine, extra_env, own_engine)
    return start_inprocess(data_dir, env, engine, wait_for)


AppFactory = Callable[..., InProcessServer]


@pytest.fixture
def app_factory(tmp_path: Path, model_dir: Path,
                shared_engine: SharedEngine) -> Iterator[AppFactory]:
    """Start in-process apps (on the shared engine, or each with its own) for one test; all
    stop afterwards, and an engine of their own with them."""
    started: list[InProcessServer] = []

    def factory(extra_env: dict[str, str] | None = None, wait_for: str = "healthy",
                name: str = "data", own_engine: bool = False) -> InProcessServer:
        server = start_app(tmp_path / name, model_dir, shared_engine, extra_env, wait_for,
                           own_engine)
        started.append(server)
        return server

    yield factory
    stop_checking_orphans(started, shared_engine.pid)


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path,
               shared_engine: SharedEngine) -> Iterator[InProcessServer]:
    """One app on the shared real engine for a test module whose tests only add data."""
    server = start_app(tmp_path_factory.mktemp("app"), model_dir, shared_engine)
    yield server
    server.stop()


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `python3` kernelspec that runs this interpreter (the venv's), found before any other:
    JUPYTER_PATH comes first in Jupyter's search path."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (vLLM Chat venv)", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    for name in ("VLLM_CHAT_EXPORTS", "VLLM_CHAT_URL", "VLLM_CHAT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    from jupyter_client.kernelspec import KernelSpecManager  # only the notebook tests need it

    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == sys.executable
