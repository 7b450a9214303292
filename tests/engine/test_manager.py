"""EngineManager with the real llama.cpp engine: start, readiness, failures, restarts, no orphans."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, AppFactory, ServerFactory, free_port, pid_alive
from doubles.fake_engine import running_fake_engine
from helpers import eventually, http

from engine.hardware import HardwareReport
from engine.manager import EngineManager, EngineState
from engine.process import EngineStartError
from engine.profiles import ModelFile, Profile, load_profile
from settings import Settings

PROFILE = load_profile(ROOT / "profiles" / "smollm2-135m-cpu.toml")
NO_GPU = HardwareReport(gpus=[], driver_version=None, error="no NVIDIA driver (test)")


def make_manager(tmp_path: Path, model_dir: Path, profile: Profile = PROFILE,
                 **settings: object) -> EngineManager:
    config = Settings(data_dir=tmp_path, model_dir=model_dir, vllm_port=free_port(),
                      engine_start_timeout_s=60, **settings)  # type: ignore[arg-type]
    return EngineManager(config, {profile.id: profile}, profile, NO_GPU)


@pytest.fixture
async def manager(tmp_path: Path, model_dir: Path) -> AsyncIterator[EngineManager]:
    engine = make_manager(tmp_path, model_dir, engine_restart_attempts=0)
    yield engine
    await engine.stop()


async def wait_for(engine: EngineManager, state: EngineState, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while engine.state is not state and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert engine.state is state, f"engine is {engine.state}, not {state}"


async def test_engine_starts_ready_and_stops_without_orphans(manager: EngineManager) -> None:
    await manager.start()
    assert manager.state is EngineState.READY
    assert await manager.health()
    route = manager.routes()[0]
    async with httpx.AsyncClient() as client:
        # Started with a generated key: no other local process may use it behind our back.
        refused = await client.get(f"{route.base_url}/v1/models")
        models = (await client.get(f"{route.base_url}/v1/models", headers={
            "Authorization": f"Bearer {route.client.openai.api_key}"})).json()
    assert refused.status_code == 401
    assert len(route.client.openai.api_key) >= 32
    assert models["data"][0]["id"] == "smollm2-135m-instruct"
    pid = manager.pid
    assert pid is not None and pid_alive(pid)
    await manager.stop()
    assert manager.state is EngineState.STOPPED
    assert not pid_alive(pid)
    assert "llama_cpp.server" in manager.log_path.read_text()
    assert [m for _, m in manager.events] == ["starting smollm2-135m-cpu", "smollm2-135m-cpu is ready"]


async def test_engine_that_cannot_load_its_model_fails_with_its_log(tmp_path: Path) -> None:
    (tmp_path / PROFILE.model_file.path).write_bytes(b"this is not a gguf file")  # type: ignore[union-attr]
    engine = make_manager(tmp_path, tmp_path)
    with pytest.raises(EngineStartError, match="exited with code"):
        await engine.start()
    assert engine.state is EngineState.FAILED
    assert engine.last_error and (
        "did not start: the engine exited with code 1 while starting" in engine.last_error)
    assert engine.pid is None
    await engine.stop()


async def test_missing_model_without_a_source_fails_clearly(tmp_path: Path) -> None:
    profile = PROFILE.model_copy(update={"model_file": ModelFile(path="absent.gguf")})
    engine = make_manager(tmp_path, tmp_path, profile)
    with pytest.raises(FileNotFoundError, match=r"absent\.gguf"):
        await engine.start()
    assert engine.state is EngineState.FAILED
    assert not await engine.health()
    await engine.stop()


async def test_engine_that_dies_is_noticed(manager: EngineManager) -> None:
    await manager.start()
    assert manager.pid is not None
    os.kill(manager.pid, signal.SIGKILL)
    await wait_for(manager, EngineState.FAILED)
    assert (manager.last_error or "").startswith("the engine crashed (SIGKILL) while serving\n")
    assert not await manager.health()


async def test_engine_that_keeps_dying_is_given_up_with_its_log(tmp_path: Path, model_dir: Path) -> None:
    own_models = tmp_path / "models"
    own_models.mkdir()
    model = own_models / PROFILE.model_file.path  # type: ignore[union-attr]
    shutil.copy(model_dir / model.name, model)
    engine = make_manager(tmp_path, own_models, engine_restart_attempts=2,
                          engine_restart_backoff_s=0.1)
    try:
        await engine.start()
        garbage = own_models / "garbage"
        garbage.write_bytes(b"not a model")
        garbage.replace(model)  # the running engine keeps its open file; restarts get garbage
        assert engine.pid is not None
        os.kill(engine.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not (engine.last_error or "").startswith("gave up") and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert engine.state is EngineState.FAILED
        assert (engine.last_error or "").startswith(
            "gave up restarting smollm2-135m-cpu after 3 failures in 10 min")
        assert "the engine exited with code 1 while starting" in (engine.last_error or "")
        messages = [m for _, m in engine.events]
        assert "restarting smollm2-135m-cpu after failure 2 (up to 2 in 10 min)" in messages
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


def test_engine_base_url_uses_an_existing_server(app_factory: AppFactory) -> None:
    with running_fake_engine("endless", free_port()) as fake:
        server = app_factory({"ENGINE_BASE_URL": fake.base_url})
        assert server.engine_pid() is None
        assert http.get(f"{server.url}/health").json()["status"] == "healthy"


def test_an_existing_server_busy_with_our_answer_is_still_healthy(
    app_factory: AppFactory,
) -> None:
    """llama-cpp-python answers /v1/models only between requests; a long answer is no outage."""
    with running_fake_engine("endless", free_port(), models_wait_for_streams=True) as fake:
        server = app_factory({"ENGINE_BASE_URL": fake.base_url})
        body = {"messages": [{"role": "user", "content": "Go on forever"}], "stream": True}
        with http.stream("POST", f"{server.url}/api/chat", json=body, headers=server.auth(),
                         timeout=30) as answer:
            lines = answer.iter_lines()  # kept: a dropped iterator closes the stream
            assert "word0" in next(line for line in lines if "word" in line)
            assert fake.streams_running == 1
            assert http.get(f"{server.url}/health", timeout=10).json()["status"] == "healthy"
            assert fake.streams_running == 1, "the answer was still streaming during the probe"
        assert eventually(lambda: fake.streams_running == 0, timeout=10)
        assert http.get(f"{server.url}/health", timeout=10).json()["status"] == "healthy"


async def test_the_engine_log_is_rotated_by_size(tmp_path: Path, model_dir: Path) -> None:
    """llama.cpp writes ~235 KB at every start; the app keeps a few files of a bounded size."""
    engine = make_manager(tmp_path, model_dir, engine_log_max_bytes=16 * 1024, log_backups=2)
    try:
        await engine.start()
    finally:
        await engine.stop()
    logs = sorted(p.name for p in engine.log_path.parent.iterdir())
    assert logs == ["engine.log", "engine.log.1", "engine.log.2"]
    sizes = [(engine.log_path.parent / name).stat().st_size for name in logs]
    assert max(sizes) <= 16 * 1024 + 4096, sizes  # a file ends at the line that crosses the limit
