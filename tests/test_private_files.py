"""What the app writes is private to its user: conversations, logs, keys and exports."""

from __future__ import annotations

import stat
from pathlib import Path

from conftest import ServerFactory


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_and_what_the_app_writes_are_private(
    tmp_path: Path, server_factory: ServerFactory,
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # as an older version left it
    data.chmod(0o755)
    (data / "logs").mkdir(mode=0o755)
    (data / "logs").chmod(0o755)
    server = server_factory(name="data")
    assert mode(data) == 0o700
    assert mode(data / "vllm_chat.duckdb") == 0o600
    assert mode(data / "jwt_secret") == 0o600
    assert mode(data / "logs" / "engine.log") == 0o600
    assert server.process.poll() is None
