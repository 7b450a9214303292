"""One engine child process: spawn it, wait until it answers, watch it, stop it."""

from __future__ import annotations

import asyncio
import ctypes
import enum
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from engine.commands import LaunchSpec

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
LOG_TAIL_BYTES = 64 * 1024


class EngineStartError(RuntimeError):
    pass


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
        async with httpx.AsyncClient(timeout=wait_s) as client:
            response = await client.get(f"{base_url}/v1/models", headers=headers)
    except httpx.ReadTimeout:
        return Probe.SLOW
    except httpx.HTTPError:
        return Probe.DOWN
    return Probe.UP if response.status_code == 200 else Probe.DOWN


async def probe(base_url: str, api_key: str | None = None, wait_s: float = 2.0) -> bool:
    """Ready: /v1/models answers."""
    return await probe_status(base_url, api_key, wait_s) is Probe.UP


def read_log_tail(path: Path, lines: int = 50) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - LOG_TAIL_BYTES))
            text = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:]) if lines > 0 else ""


class EngineProcess:
    """A started child. `on_exit` is called once if it exits without being asked to."""

    def __init__(self, spec: LaunchSpec, base_url: str, log_path: Path) -> None:
        self.spec = spec
        self.base_url = base_url
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = " ".join(self.spec.argv)
        log.info("starting engine: %s", command)
        with self.log_path.open("ab") as log_file:
            log_file.write(f"\n--- {time.strftime('%F %T')} {command}\n".encode())
            log_file.flush()
            self._popen = subprocess.Popen(
                self.spec.argv,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.spec.env},
                preexec_fn=_die_with_parent,
            )

    async def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self._popen is not None
            if self._popen.poll() is not None:
                raise EngineStartError(
                    f"engine exited with code {self._popen.returncode} while starting:\n"
                    + read_log_tail(self.log_path, 20)
                )
            if await probe(self.base_url):
                return
            await asyncio.sleep(0.25)
        raise EngineStartError(
            f"engine not ready after {timeout_s:.0f}s:\n" + read_log_tail(self.log_path, 20)
        )

    def watch(self, on_exit: Callable[[int], None]) -> None:
        async def _watch() -> None:
            assert self._popen is not None
            code = await asyncio.to_thread(self._popen.wait)
            if not self._stopping:
                on_exit(code)

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
