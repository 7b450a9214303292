"""The processes a comparison runs: the fake engine, the app in front of it (or of its own
llama.cpp engine), and the plain Gradio chat. Each on a free loopback port, the app on a
data directory of its own, all stopped when the comparison ends."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent

# What a benchmark must not hit: the per-user limits (every worker is the one user "test"),
# titles (an extra engine request after each first answer), a queue smaller than the load.
APP_ENV = {"CHAT_RATE_LIMIT": "", "CHAT_CONCURRENT_PER_USER": "0", "CHAT_CONCURRENCY": "256",
           "QUEUE_PER_USER": "512", "QUEUE_MAX_SIZE": "1024", "AUTO_TITLES": "false",
           "DEMO_ACCOUNTS": "true", "JWT_SECRET": "", "DEVELOPMENT_MODE": "false",
           "GATEWAY_HOST": "127.0.0.1"}


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.process.pid)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float,
          ok: tuple[int, ...] = (200,)) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log.name} exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code in ok:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout_s:g} s; see {log}")


@contextmanager
def _process(argv: list[str], env: dict[str, str], log: Path, ready_path: str, port: int,
             timeout_s: float, cwd: Path = ROOT) -> Iterator[Server]:
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **env}, stdout=out,
                                   stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        _wait(server.url + ready_path, process, log, timeout_s)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def fake_engine(logs: Path, *engine_args: str) -> AbstractContextManager[Server]:
    port = free_port()
    return _process([sys.executable, "-m", "benchmarks.fake_engine", "--port", str(port),
                     *engine_args], {}, logs / "fake_engine.log", "/health", port, 30)


def app(logs: Path, data_dir: Path, engine_url: str | None, root: Path = ROOT,
        **env: str) -> AbstractContextManager[Server]:
    """The app on `engine_url`, or (None) with the engine its active profile starts; `root`:
    another checkout's app (an earlier commit, to compare with)."""
    port = free_port()
    engine = {"ENGINE_BASE_URL": engine_url} if engine_url else {"VLLM_PORT": str(free_port())}
    return _process([sys.executable, str(root / "app.py")],
                    {**APP_ENV, **engine, "DATA_DIR": str(data_dir), "GATEWAY_PORT": str(port),
                     **env}, logs / "app.log", "/health", port, 600, cwd=root)


def plain_gradio(logs: Path, engine_url: str) -> AbstractContextManager[Server]:
    port = free_port()
    return _process([sys.executable, "-m", "benchmarks.plain_gradio", "--port", str(port),
                     "--engine", f"{engine_url}/v1"], {}, logs / "plain_gradio.log",
                    "/config", port, 120)


@contextmanager
def scratch(keep: Path | None = None) -> Iterator[tuple[ExitStack, Path]]:
    """An exit stack for the servers and a directory for their logs and data: `keep`, which
    stays for reading the logs afterwards, else a temporary one."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        with ExitStack() as stack:
            yield stack, keep
        return
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="vllm-chat-bench-") as tmp:
        yield stack, Path(tmp)
