"""The engine client's own timeouts: a tokenizer that does not answer costs seconds, not 30."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from engine.client import EngineClient


@pytest.fixture
def silent_engine() -> Iterator[str]:
    """Accepts connections and never answers (a stalled or busy engine)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


async def test_a_tokenizer_that_does_not_answer_gives_no_count_within_its_timeout(
    silent_engine: str,
) -> None:
    client = EngineClient(silent_engine, "key", 600.0, tokenize_timeout_s=0.5)
    try:
        started = time.monotonic()
        assert await client.count_tokens("hello there") is None
        assert time.monotonic() - started < 5, "waited past the tokenizer's own timeout"
    finally:
        await client.close()
