"""./start, ./status and ./stop as an operator runs them, each with its own data directory and
free ports. ./start says "ready" only after the engine answered a first request."""

from __future__ import annotations

import os
import re
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


def sourced(commands: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run bash commands after sourcing scripts/common.sh, as every script does."""
    return subprocess.run(["bash", "-c", f". scripts/common.sh && {commands}"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def without_profile_settings(data_dir: Path, model_dir: Path) -> dict[str, str]:
    unset = ("ACTIVE_PROFILE", "ENGINE_BASE_URL")
    return {**{k: v for k, v in os.environ.items() if k not in unset},
            "DATA_DIR": str(data_dir), "MODEL_DIR": str(model_dir)}


def test_the_scripts_add_no_profile_of_their_own(tmp_path: Path, model_dir: Path) -> None:
    env = without_profile_settings(tmp_path / "data", model_dir)
    shown = sourced('echo "${ACTIVE_PROFILE-unset}"', env)
    assert shown.stdout.strip() == "unset", "the app, not the scripts, picks the profile"


def test_start_gets_ready_the_profile_last_switched_to_from_the_web(
    tmp_path: Path, model_dir: Path,
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "active_profile").write_text("qwen2.5-7b-instruct\n")  # as a web switch leaves it
    env = without_profile_settings(data_dir, model_dir)
    fetched = sourced("ensure_model", env)
    assert fetched.returncode == 0, fetched.stderr
    assert "qwen2.5-7b-instruct" in fetched.stdout and "smollm2" not in fetched.stdout

    chosen = sourced("ensure_model", {**env, "ACTIVE_PROFILE": "smollm2-135m-cpu"})  # it wins
    assert chosen.returncode == 0, chosen.stderr
    assert "Checking the model file for profile smollm2-135m-cpu" in chosen.stdout


def test_start_refuses_a_profile_that_does_not_exist(tmp_path: Path, model_dir: Path) -> None:
    env = {**without_profile_settings(tmp_path / "data", model_dir), "ACTIVE_PROFILE": "nope"}
    refused = sourced("ensure_model", env)
    assert refused.returncode != 0
    assert "profile 'nope' is not in" in refused.stderr


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
        assert "engine failed, profile smollm2-135m-cpu" in status.stdout
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
    status = run("status", env)
    assert status.returncode == 0, status.stderr
    assert "health: healthy (HTTP 200); engine ready, profile smollm2-135m-cpu" in status.stdout
    memory = re.search(r"memory \(RSS\): app (\d+) MB, engine \(pid \d+\) (\d+) MB",
                       status.stdout)
    assert memory and int(memory[1]) > 50 and int(memory[2]) > 50, status.stdout
    assert "GPUs: none read" in status.stdout  # this machine has no NVIDIA driver
    pid = (Path(env["DATA_DIR"]) / "app.pid").read_text()
    restarted = run("restart", env)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "Stopped" in restarted.stdout and "is ready at" in restarted.stdout
    assert (Path(env["DATA_DIR"]) / "app.pid").read_text() != pid
    stopped = run("stop", env, timeout=60)
    assert stopped.returncode == 0 and "Stopped" in stopped.stdout


@pytest.mark.parametrize(("profile", "extra", "engine"), [
    ("qwen2.5-7b-instruct", {}, "vllm"), ("smollm2-135m-cpu", {}, "none"),
    ("qwen2.5-7b-instruct", {"ENGINE_BASE_URL": "http://127.0.0.1:9"}, "none")])
def test_what_start_installs_follows_the_active_profile(
        tmp_path: Path, model_dir: Path, profile: str, extra: dict[str, str], engine: str) -> None:
    env = {**without_profile_settings(tmp_path / "data", model_dir), "ACTIVE_PROFILE": profile,
           **extra}
    shown = sourced('"$PY" -m services --engine-to-install', env)
    assert (shown.returncode, shown.stdout.strip()) == (0, engine), shown.stderr


def fake_vllm_venv(tmp_path: Path) -> tuple[Path, Path]:
    """A venv whose python only records how it was called (no 4 GB download in the tests)."""
    venv, calls = tmp_path / "venv-vllm", tmp_path / "calls"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    python.chmod(0o755)
    return venv, calls


def test_start_installs_vllm_into_its_own_venv_only_for_a_vllm_profile(
        tmp_path: Path, model_dir: Path) -> None:
    venv, calls = fake_vllm_venv(tmp_path)
    env = {**without_profile_settings(tmp_path / "data", model_dir), "VLLM_VENV": str(venv)}
    cpu = sourced("ensure_vllm", {**env, "ACTIVE_PROFILE": "smollm2-135m-cpu"})
    assert (cpu.returncode, cpu.stdout, calls.exists()) == (0, "", False), cpu.stderr

    gpu_env = {**env, "ACTIVE_PROFILE": "qwen2.5-7b-instruct"}
    first = sourced('ensure_vllm && echo "VLLM_PYTHON=$VLLM_PYTHON"', gpu_env)
    assert first.returncode == 0, first.stderr
    assert "installing vllm==0.33.0 into venv-vllm (about 4.3 GB to download" in first.stdout
    assert f"VLLM_PYTHON={venv}/bin/python" in first.stdout
    assert calls.read_text().split() == [
        "-m", "pip", "install", "--disable-pip-version-check", "-q",
        "-r", "requirements-gpu.txt", "-c", "constraints-gpu.txt"]
    again = sourced("ensure_vllm", gpu_env)
    assert (again.returncode, again.stdout) == (0, ""), "installed as pinned: nothing to do"
    assert len(calls.read_text().splitlines()) == 1
