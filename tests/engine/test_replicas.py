"""Remote replicas: two real llama.cpp engines behind one remote profile, one killed mid-test."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import AppFactory, free_port
from helpers import chat_then, eventually, http, profiles_dir_with, stream_chat

from engine.replicas import ReplicaPool


@pytest.fixture
def two_engines(model_dir: Path, tmp_path: Path) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    engines = []
    for n in range(2):
        port = free_port()
        log = (tmp_path / f"replica{n}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model",
             str(model_dir / "SmolLM2-135M-Instruct.Q4_1.gguf"), "--model_alias", "smollm2-135m-instruct",
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
             "--interrupt_requests", "False"], stdout=log, stderr=subprocess.STDOUT)
        engines.append((f"http://127.0.0.1:{port}", process))
    for url, _ in engines:
        eventually(lambda url=url: _answers(url), timeout=60)
    yield engines
    for _, process in engines:
        process.kill()
        process.wait()


def _answers(url: str) -> bool:
    try:
        return http.get(f"{url}/v1/models", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def remote_profiles(tmp_path: Path, urls: list[str]) -> Path:
    return profiles_dir_with(tmp_path, "remote-pair", f'''
id = "remote-pair"
name = "Two llama.cpp replicas"
engine = "remote"
served_model_name = "smollm2-135m-instruct"
max_model_len = 2048

[remote]
base_urls = {urls!r}
'''.replace("'", '"'))


def replicas(server_url: str, admin: dict[str, str]) -> list[dict[str, Any]]:
    return list(http.get(f"{server_url}/api/engine", headers=admin).json()["replicas"])


def test_remote_replicas_share_chats_and_survive_a_dead_one(
    app_factory: AppFactory, tmp_path: Path,
    two_engines: list[tuple[str, subprocess.Popen[bytes]]],
) -> None:
    urls = [url for url, _ in two_engines]
    server = app_factory({"PROFILES_DIR": str(remote_profiles(tmp_path, urls)),
                          "ACTIVE_PROFILE": "remote-pair", "REPLICA_COOLDOWN_S": "60"},
                         own_engine=True)
    assert server.engine_pid() is None, "a remote profile starts no engine"
    user, admin = server.auth(), server.auth("admin", "admin123")
    assert [r["healthy"] for r in replicas(server.url, admin)] == [True, True]

    # Two long answers at once land on different replicas (fewest in flight first); both hang
    # up once that is seen.
    body = {"messages": [{"role": "user", "content": "Write a long story."}], "max_tokens": 300}
    seen, hung_up = threading.Event(), []

    def long_answer() -> None:
        hung_up.append(chat_then(server.url, user, body, lambda _: seen.is_set(), hang_up=True))

    threads = [threading.Thread(target=long_answer) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.3)

    def both_busy() -> bool:
        return [r["in_flight"] for r in replicas(server.url, admin)] == [1, 1]

    assert eventually(both_busy, timeout=20, interval=0.05)
    seen.set()
    for thread in threads:
        thread.join(120)
    assert len(hung_up) == 2, "both answers were still running when both replicas were busy"

    # Kill the first replica: the next chats fail over to the second before their first token.
    two_engines[0][1].kill()
    two_engines[0][1].wait()
    for _ in range(2):
        response, events = stream_chat(server.url, user, {
            "messages": [{"role": "user", "content": "Hello again"}], "max_tokens": 12})
        assert response.status_code == 200
        assert events[-1] == "[DONE]" and not any(isinstance(e, dict) and "error" in e for e in events)
    first, second = replicas(server.url, admin)
    assert first["cooling_down_s"] > 0 or not first["healthy"]
    assert first["last_error"]
    assert second["healthy"]


async def test_the_replica_with_fewest_requests_in_flight_goes_first() -> None:
    pool = ReplicaPool(["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"],
                       "key", 5.0, cooldown_s=30)
    try:
        a, b, c = pool.routes
        assert pool.candidates() == [a, b, c]
        with a.busy(), a.busy(), b.busy():
            assert pool.candidates() == [c, b, a]
        b.failed("connection refused")
        assert pool.candidates() == [a, c]
        c.healthy = False
        assert pool.candidates() == [a]
        a.failed("connection refused")
        assert pool.candidates() == [a, b, c], "with none available every replica is tried"
    finally:
        await pool.close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Test double: a port that takes connections and never answers, like a busy llama.cpp."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=8)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


async def test_a_replica_busy_with_our_requests_stays_in_service_when_slow_to_probe(
    silent_server: str,
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    pool = ReplicaPool([silent_server, silent_server, closed], "key", 5.0, probe_timeout_s=0.3)
    try:
        streaming, idle, dead = pool.routes
        with streaming.busy(), dead.busy():
            assert await pool.check_all() == 1
        assert streaming.healthy and streaming.last_error is None
        assert not idle.healthy and idle.last_error == "/v1/models: slow"
        assert not dead.healthy and dead.last_error == "/v1/models: down"
    finally:
        await pool.close()
