"""./start, ./status and ./stop as an operator runs them, each with its own data directory and
free ports. ./start says "ready" only after the engine answered a first request."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, free_port
from doubles.crashing_engine import LAST_WORDS


def script_env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATA_DIR": str(data_dir), "GATEWAY_PORT": str(free_port()),
            "VLLM_PORT": str(free_port()), "JWT_SECRET": "", "DEVELOPMENT_MODE": "false",
            **extra}


def run(command: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / command)], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def scripts_env(tmp_path: Path) -> Iterator[dict[str, dict[str, str]]]:
    """Environments handed out by a test; each is ./stop-ped afterwards."""
    made: dict[str, dict[str, str]] = {}
    yield made
    for env in made.values():
        run("stop", env, timeout=60)


def test_start_fails_with_the_reason_when_the_engine_crashes_on_its_first_token(
    tmp_path: Path, scripts_env: dict[str, dict[str, str]],
) -> None:
    port = free_port()
    double = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "doubles" / "crashing_engine.py"), str(port),
         "first-token"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        env = scripts_env["crash"] = script_env(
            tmp_path / "data", ENGINE_BASE_URL=f"http://127.0.0.1:{port}")
        started = run("start", env)
        assert started.returncode == 1, started.stdout + started.stderr
        assert "is ready" not in started.stdout
        assert "The model engine could not start:" in started.stderr
        assert (f"did not start: the engine at http://127.0.0.1:{port} did not generate its"
                " first token") in started.stderr
        assert "Models tab" in started.stderr
        assert double.wait(10) == -11  # SIGSEGV, as a native AMX build does

        status = run("status", env)  # the app keeps running so an admin can act
        assert status.returncode == 0
        assert '"state": "failed"' in status.stdout
        assert "did not generate its first token" in status.stdout
    finally:
        double.kill()
        double.wait()
    assert LAST_WORDS.encode() in (double.stdout.read() if double.stdout else b"")


def test_start_says_ready_after_a_real_token_without_demo_logins_off_loopback(
    tmp_path: Path, model_dir: Path, scripts_env: dict[str, dict[str, str]],
) -> None:
    env = scripts_env["ready"] = script_env(
        tmp_path / "data", MODEL_DIR=str(model_dir), GATEWAY_HOST="0.0.0.0",
        JWT_SECRET="s" * 40, DEMO_ACCOUNTS="false", ADMIN_PASSWORD="a-long-admin-password")
    started = run("start", env)
    assert started.returncode == 0, started.stdout + started.stderr
    assert "is ready at http://127.0.0.1:" in started.stdout
    assert "admin123" not in started.stdout, "no demo logins exist off loopback"
    assert "Sign in with your own accounts" in started.stdout
    logs = Path(env["DATA_DIR"]) / "logs"
    assert "engine: smollm2-135m-cpu is ready" in (logs / "app.log").read_text()
    stopped = run("stop", env, timeout=60)
    assert stopped.returncode == 0 and "Stopped" in stopped.stdout
