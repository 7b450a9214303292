"""One engine child process: spawn it, wait until it answers, watch it, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import logging
import logging.handlers
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from engine.commands import LaunchSpec
from engine.http import engine_http

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
LOG_TAIL_BYTES = 64 * 1024


class EngineStartError(RuntimeError):
    pass


@dataclass(frozen=True)
class LogPolicy:
    """Where an engine's output goes and how big that file may grow before it is rotated."""

    path: Path
    max_bytes: int = 5 * 1024 * 1024
    backups: int = 3


def describe_exit(code: int) -> str:
    """ "crashed (SIGSEGV)" for a signal, "exited with code 1" otherwise."""
    if code < 0:
        try:
            return f"crashed ({signal.Signals(-code).name})"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends SIGTERM when the app dies, even by SIGKILL."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


class Probe(enum.Enum):
    UP = "up"
    SLOW = "slow"  # connected but no answer in time
    DOWN = "down"


async def probe_status(base_url: str, api_key: str | None = None, wait_s: float = 2.0) -> Probe:
    """Ask /v1/models (llama.cpp has no /health; vLLM answers both when ready).

    llama-cpp-python answers /v1/models only between requests (it takes the model's lock), so
    a busy engine is SLOW, not DOWN; callers that know it is streaming keep it in service.
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    try:
        async with engine_http(timeout=wait_s) as client:
            response = await client.get(f"{base_url}/v1/models", headers=headers)
    except httpx.ReadTimeout:
        return Probe.SLOW
    except httpx.HTTPError:
        return Probe.DOWN
    return Probe.UP if response.status_code == 200 else Probe.DOWN


async def probe(base_url: str, api_key: str | None = None, wait_s: float = 2.0) -> bool:
    """Ready: /v1/models answers."""
    return await probe_status(base_url, api_key, wait_s) is Probe.UP


async def first_token(base_url: str, api_key: str | None, model: str, timeout_s: float) -> None:
    """Ask for one token of a tiny prompt: an engine that lists its models may still crash or
    fail on its first real request (llama.cpp's AMX kernels do), so this is what "ready" means."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    body = {"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1,
            "temperature": 0}
    async with engine_http(timeout=httpx.Timeout(timeout_s, connect=5.0)) as client:
        response = await client.post(f"{base_url}/v1/chat/completions", json=body,
                                     headers=headers)
    if response.status_code != 200:
        raise EngineStartError(
            f"the engine refused its first request (HTTP {response.status_code}):"
            f" {response.text[:300]}")
    choices = response.json().get("choices")
    if not choices:
        raise EngineStartError(f"the engine's first answer had no choices: {response.text[:300]}")


def read_log_tail(path: Path, lines: int = 50) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - LOG_TAIL_BYTES))
            text = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:]) if lines > 0 else ""


def describe_http_failure(exc: BaseException) -> str:
    """Why a request to the engine got no answer, in words."""
    if isinstance(exc, httpx.RemoteProtocolError):
        return "it closed the connection without answering (it may have crashed)"
    if isinstance(exc, httpx.ConnectError):
        return "it refused the connection"
    if isinstance(exc, httpx.TimeoutException):
        return "it did not answer in time"
    return str(exc) or repr(exc)


def with_log(headline: str, log_path: Path, width: int = 240) -> str:
    """A reason whose first line stands alone (UI, /health) and whose rest is the log's end
    (llama.cpp prints its whole chat template as one line: long lines are cut)."""
    tail = [line if len(line) <= width else line[:width] + " …"
            for line in read_log_tail(log_path, 20).splitlines()]
    return headline + "\n\nEngine log, last lines:\n" + "\n".join(tail)


class EngineProcess:
    """A started child. `on_exit` is called once if it exits without being asked to."""

    def __init__(self, spec: LaunchSpec, base_url: str, log: LogPolicy,
                 api_key: str | None = None) -> None:
        self.spec = spec
        self.base_url = base_url
        self.log = log
        self.api_key = api_key
        self._popen: subprocess.Popen[bytes] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._pump: threading.Thread | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def spawn(self) -> None:
        self.log.path.parent.mkdir(parents=True, exist_ok=True)
        command = " ".join(self.spec.argv)
        log.info("starting engine: %s", command)
        writer = logging.handlers.RotatingFileHandler(
            self.log.path, maxBytes=self.log.max_bytes, backupCount=self.log.backups,
            encoding="utf-8")
        writer.setFormatter(logging.Formatter("%(message)s"))
        _write_line(writer, f"--- {time.strftime('%F %T')} {command}")
        self._popen = subprocess.Popen(
            self.spec.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.spec.env},
            preexec_fn=_die_with_parent,
        )
        assert self._popen.stdout is not None
        # The engine's output goes through the app so the file can be rotated by size.
        self._pump = threading.Thread(target=_copy_lines, args=(self._popen.stdout, writer),
                                      name="engine-log", daemon=True)
        self._pump.start()

    def exit_reason(self, when: str) -> str:
        """Why the child ended, with the end of its log (read once its output is all written)."""
        assert self._popen is not None and self._popen.returncode is not None
        if self._pump is not None:
            self._pump.join(timeout=2)
        return with_log(f"the engine {describe_exit(self._popen.returncode)} {when}",
                        self.log.path)

    async def wait_ready(self, timeout_s: float, model: str) -> None:
        """Ready means /v1/models answers and then one token is generated."""
        deadline = time.monotonic() + timeout_s
        while not await probe(self.base_url, self.api_key):
            await self._check_alive("while starting")
            if time.monotonic() >= deadline:
                raise EngineStartError(with_log(
                    f"the engine did not answer within {timeout_s:.0f} s", self.log.path))
            await asyncio.sleep(0.25)
        answer = asyncio.ensure_future(first_token(
            self.base_url, self.api_key, model, max(1.0, deadline - time.monotonic())))
        try:
            while not answer.done():
                await asyncio.wait([answer], timeout=0.25)
                await self._check_alive("while generating its first token")
            try:
                answer.result()
            except httpx.HTTPError as exc:
                # A dying engine's socket closes a moment before its exit status can be read.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    await asyncio.to_thread(self._popen.wait, 2)  # type: ignore[union-attr]
                await self._check_alive("while generating its first token")
                raise EngineStartError(with_log(
                    f"the engine did not generate its first token: {describe_http_failure(exc)}",
                    self.log.path)) from exc
        finally:
            answer.cancel()

    async def _check_alive(self, when: str) -> None:
        assert self._popen is not None
        if self._popen.poll() is not None:  # its log may take a moment to be all written
            raise EngineStartError(await asyncio.to_thread(self.exit_reason, when))

    def watch(self, on_exit: Callable[[str], None]) -> None:
        """Call on_exit with the reason (signal, log tail) if the child ends unasked."""
        async def _watch() -> None:
            assert self._popen is not None
            await asyncio.to_thread(self._popen.wait)
            if not self._stopping:
                on_exit(await asyncio.to_thread(self.exit_reason, "while serving"))

        self._watcher = asyncio.get_running_loop().create_task(_watch())

    async def stop(self, grace_s: float = 10.0) -> None:
        self._stopping = True
        popen = self._popen
        if popen is not None and popen.poll() is None:
            popen.terminate()
            try:
                await asyncio.to_thread(popen.wait, grace_s)
            except subprocess.TimeoutExpired:
                popen.kill()
                await asyncio.to_thread(popen.wait)
        if self._watcher is not None:
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None
        if self._pump is not None:
            await asyncio.to_thread(self._pump.join, 2)


def _write_line(writer: logging.Handler, line: str) -> None:
    writer.handle(logging.makeLogRecord({"msg": line}))


def _copy_lines(stream: IO[bytes], writer: logging.Handler) -> None:
    try:
        for raw in iter(stream.readline, b""):
            _write_line(writer, raw.decode("utf-8", errors="replace").rstrip("\n"))
    finally:
        stream.close()
        writer.close()
