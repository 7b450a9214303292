"""Ready means a token; crash loops end; an admin's restart starts afresh.

The engine here is the crashing-engine test double (tests/doubles/crashing_engine.py), a real
child process that dies by a real SIGSEGV the way llama.cpp's AMX kernels do."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, free_port
from doubles.crashing_engine import LAST_WORDS

from engine.commands import LaunchSpec
from engine.hardware import HardwareReport
from engine.manager import EngineManager, EngineState
from engine.process import EngineStartError
from engine.profiles import Profile, load_profile
from errors import EngineUnavailable
from settings import Settings

PROFILE = load_profile(ROOT / "profiles" / "smollm2-135m-cpu.toml")
NO_GPU = HardwareReport(gpus=[], driver_version=None, error="no NVIDIA driver (test)")
DOUBLE = ROOT / "tests" / "doubles" / "crashing_engine.py"


class CrashingEngineManager(EngineManager):
    """The real manager, launching the crashing double instead of llama.cpp."""

    crash_on = "first-token"

    async def _launch_spec(self, profile: Profile) -> LaunchSpec:
        return LaunchSpec([sys.executable, str(DOUBLE), str(self._settings.vllm_port),
                           self.crash_on], env={})


def crashing_manager(tmp_path: Path, crash_on: str, **settings: object) -> CrashingEngineManager:
    config = Settings(data_dir=tmp_path, vllm_port=free_port(), engine_start_timeout_s=30,
                      **settings)  # type: ignore[arg-type]
    manager = CrashingEngineManager(config, {PROFILE.id: PROFILE}, PROFILE, NO_GPU)
    manager.crash_on = crash_on
    return manager


async def until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert check(), "timed out"


async def test_an_engine_that_crashes_on_its_first_token_did_not_start(tmp_path: Path) -> None:
    manager = crashing_manager(tmp_path, "first-token", engine_restart_attempts=0)
    try:
        with pytest.raises(EngineStartError) as failure:
            await manager.start()
        assert manager.state is EngineState.FAILED
        assert manager.pid is None
        headline = (manager.last_error or "").splitlines()[0]
        assert headline == ("smollm2-135m-cpu did not start: the engine crashed (SIGSEGV) while"
                            " generating its first token")
        assert LAST_WORDS in str(failure.value), "the reason quotes the end of the engine log"
        assert not await manager.health()
    finally:
        await manager.stop()


async def test_no_chat_is_sent_to_a_failed_engine(tmp_path: Path) -> None:
    manager = crashing_manager(tmp_path, "first-token", engine_restart_attempts=0)
    with pytest.raises(EngineStartError):
        await manager.start()
    with pytest.raises(EngineUnavailable) as refused:
        async with manager.admission():
            pass
    assert refused.value.code == "engine_failed"
    assert "crashed (SIGSEGV)" in refused.value.message
    await manager.stop()


async def crash_once_ready(manager: EngineManager) -> None:
    """Wait until the engine is ready, then send it the streamed answer that kills it."""
    await until(lambda: manager.state is EngineState.READY)
    client = manager.routes()[0].client
    with pytest.raises(Exception):  # noqa: B017 (the connection dies with the engine)
        await client.stream_chat("smollm2-135m-instruct", [{"role": "user", "content": "hi"}],
                                 0.0, 8)
    await until(lambda: manager.state is not EngineState.READY)


async def test_an_engine_that_dies_on_every_answer_ends_failed(tmp_path: Path) -> None:
    """Each restart succeeds (the readiness token comes), and each answer kills it again: the
    failures count in a window, so this ends instead of looping forever."""
    manager = crashing_manager(tmp_path, "streams", engine_restart_attempts=2,
                               engine_restart_backoff_s=0.05)
    try:
        await manager.start()
        for _ in range(3):
            await crash_once_ready(manager)
        await until(lambda: (manager.last_error or "").startswith("gave up"))
        assert manager.state is EngineState.FAILED
        assert manager.restarts == 2
        assert manager.last_error is not None and manager.last_error.startswith(
            "gave up restarting smollm2-135m-cpu after 3 failures in 10 min")
        assert "the engine crashed (SIGSEGV) while serving" in manager.last_error
        await asyncio.sleep(0.5)
        assert manager.state is EngineState.FAILED and manager.pid is None, "no restart after"

        await manager.restart()  # the admin's retry starts afresh
        assert manager.state is EngineState.READY
        assert manager.recent_failures() == 0 and manager.last_error is None
    finally:
        await manager.stop()


async def test_failures_older_than_the_window_are_forgotten(tmp_path: Path) -> None:
    manager = crashing_manager(tmp_path, "streams", engine_restart_attempts=1,
                               engine_restart_backoff_s=0.05, engine_restart_window_s=1.0)
    try:
        await manager.start()
        await crash_once_ready(manager)
        await asyncio.sleep(1.2)  # the first failure leaves the window
        await crash_once_ready(manager)
        await until(lambda: manager.state is EngineState.READY)
        assert manager.restarts == 2
    finally:
        await manager.stop()
