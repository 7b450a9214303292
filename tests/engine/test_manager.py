"""EngineManager with the real llama.cpp engine: start, readiness, failures, no orphans."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, ServerFactory, free_port, pid_alive
from doubles.fake_engine import running_fake_engine

from engine.manager import EngineManager, EngineStartError, EngineState
from engine.profiles import ModelFile, Profile, load_profile

PROFILE = load_profile(ROOT / "profiles" / "smollm2-135m-cpu.toml")


def manager(profile: Profile, model_dir: Path, tmp_path: Path, timeout: float = 60) -> EngineManager:
    return EngineManager(profile, port=free_port(), model_dir=model_dir,
                         log_path=tmp_path / "engine.log", start_timeout_s=timeout)


async def test_engine_starts_ready_and_stops_without_orphans(model_dir: Path, tmp_path: Path) -> None:
    engine = manager(PROFILE, model_dir, tmp_path)
    await engine.start()
    try:
        assert engine.state is EngineState.READY
        assert await engine.health()
        async with httpx.AsyncClient() as client:
            models = (await client.get(f"{engine.base_url}/v1/models")).json()
        assert models["data"][0]["id"] == "smollm2-135m-instruct"
        pid = engine.pid
        assert pid is not None and pid_alive(pid)
    finally:
        await engine.stop()
    assert engine.state is EngineState.STOPPED
    assert not pid_alive(pid)
    assert "Application shutdown complete" in engine.log_tail(5)
    assert "llama_cpp.server" in engine.log_path.read_text()


async def test_engine_that_cannot_load_its_model_fails_with_its_log(tmp_path: Path) -> None:
    (tmp_path / PROFILE.model_file.path).write_bytes(b"this is not a gguf file")
    engine = manager(PROFILE, tmp_path, tmp_path)
    with pytest.raises(EngineStartError, match="exited with code"):
        await engine.start()
    assert engine.state is EngineState.FAILED
    assert engine.last_error and "exited with code" in engine.last_error
    assert engine.pid is None


async def test_missing_model_without_a_source_fails_clearly(tmp_path: Path) -> None:
    profile = PROFILE.model_copy(update={"model_file": ModelFile(path="absent.gguf")})
    engine = manager(profile, tmp_path, tmp_path)
    with pytest.raises(FileNotFoundError, match=r"absent\.gguf"):
        await engine.start()
    assert engine.state is EngineState.FAILED
    assert not await engine.health()


async def test_engine_that_dies_is_noticed(model_dir: Path, tmp_path: Path) -> None:
    engine = manager(PROFILE, model_dir, tmp_path)
    await engine.start()
    try:
        assert engine.pid is not None
        os.kill(engine.pid, signal.SIGKILL)
        for _ in range(50):
            if engine.state is EngineState.FAILED:
                break
            await asyncio.sleep(0.1)
        assert engine.state is EngineState.FAILED
        assert engine.last_error == "engine exited unexpectedly with code -9"
        assert not await engine.health()
    finally:
        await engine.stop()


def test_killing_the_app_kills_the_engine(server_factory: ServerFactory) -> None:
    server = server_factory()
    engine_pid = server.engine_pid()
    assert engine_pid is not None and pid_alive(engine_pid)
    server.process.kill()
    server.process.wait()
    deadline = time.monotonic() + 10
    while pid_alive(engine_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(engine_pid), "the engine outlived a SIGKILLed app"


def test_engine_base_url_uses_an_existing_server(server_factory: ServerFactory) -> None:
    with running_fake_engine("endless", free_port()) as fake:
        server = server_factory({"ENGINE_BASE_URL": fake.base_url})
        assert server.engine_pid() is None
        assert httpx.get(f"{server.url}/health").json()["status"] == "healthy"
