"""The engine as a child process: start it, wait until it answers, watch it, stop it.

With ENGINE_BASE_URL set, the manager starts nothing and only watches that server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from engine.model_files import ensure_model_file
from engine.profiles import Profile

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
LOG_TAIL_BYTES = 64 * 1024


class EngineState(enum.StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    READY = "ready"
    FAILED = "failed"


class EngineStartError(RuntimeError):
    pass


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends SIGTERM when the app dies, even by SIGKILL."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def llama_cpp_command(profile: Profile, model_path: Path, port: int) -> list[str]:
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--model_alias", profile.served_model_name,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(profile.max_model_len),
        # By default any new request (even GET /v1/models) ends the stream in flight.
        "--interrupt_requests", "False",
    ]


class EngineManager:
    def __init__(
        self,
        profile: Profile,
        *,
        port: int,
        model_dir: Path,
        log_path: Path,
        start_timeout_s: float,
        external_base_url: str | None = None,
    ) -> None:
        self.profile = profile
        self._port = port
        self._model_dir = model_dir
        self.log_path = log_path
        self._start_timeout_s = start_timeout_s
        self._external = external_base_url.rstrip("/") if external_base_url else None
        self._process: subprocess.Popen[bytes] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False
        self.state = EngineState.STOPPED
        self.last_error: str | None = None

    @property
    def base_url(self) -> str:
        """The engine's root URL; the OpenAI API is under /v1."""
        return self._external or f"http://127.0.0.1:{self._port}"

    @property
    def managed(self) -> bool:
        return self._external is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        if not self.managed:
            self.state = EngineState.READY if await self.probe() else EngineState.FAILED
            return
        self.state = EngineState.STARTING
        self._stopping = False
        try:
            assert self.profile.model_file is not None
            model_path = await asyncio.to_thread(
                ensure_model_file, self._model_dir, self.profile.model_file
            )
            self._spawn(llama_cpp_command(self.profile, model_path, self._port))
            await self._wait_ready()
        except Exception as exc:
            self.state = EngineState.FAILED
            self.last_error = str(exc)
            await self._terminate()
            raise
        self.state = EngineState.READY
        self._watcher = asyncio.create_task(self._watch())

    def _spawn(self, command: list[str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting engine: %s", " ".join(command))
        with self.log_path.open("ab") as log_file:
            log_file.write(f"\n--- {time.strftime('%F %T')} {' '.join(command)}\n".encode())
            log_file.flush()
            self._process = subprocess.Popen(
                command,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._start_timeout_s
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise EngineStartError(
                    f"engine exited with code {self._process.returncode} while starting:\n"
                    + self.log_tail(20)
                )
            if await self.probe():
                return
            await asyncio.sleep(0.25)
        raise EngineStartError(
            f"engine not ready after {self._start_timeout_s:.0f}s:\n" + self.log_tail(20)
        )

    async def probe(self) -> bool:
        """llama.cpp has no /health; /v1/models answers once the model is loaded."""
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                response = await client.get(f"{self.base_url}/v1/models")
            return response.status_code == 200
        except httpx.HTTPError:
            return False

    async def _watch(self) -> None:
        process = self._process
        assert process is not None
        await asyncio.to_thread(process.wait)
        if not self._stopping:
            self.state = EngineState.FAILED
            self.last_error = f"engine exited unexpectedly with code {process.returncode}"
            log.error("%s\n%s", self.last_error, self.log_tail(20))

    async def health(self) -> bool:
        if not self.managed:
            ok = await self.probe()
            self.state = EngineState.READY if ok else EngineState.FAILED
            return ok
        return self.state is EngineState.READY and self._process is not None and (
            self._process.poll() is None
        )

    async def stop(self) -> None:
        self._stopping = True
        if self._watcher:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await self._terminate()
        self.state = EngineState.STOPPED

    async def _terminate(self, grace_s: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)

    def log_tail(self, lines: int = 50) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - LOG_TAIL_BYTES))
                text = f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:]) if lines > 0 else ""
