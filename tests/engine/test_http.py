"""The app's HTTP clients to the engine share one TLS context: httpx loads the CA bundle into a
new one for every client (~20 ms of CPU), and the probes and the 1 Hz sampler make a client per
call (they cost the test suite about a tenth of its CPU)."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from conftest import free_port

from engine.client import EngineClient
from engine.metrics import fetch_engine_metrics
from engine.process import probe_status


async def test_engine_probes_metrics_and_clients_build_no_tls_context_per_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(ssl, "create_default_context", counted)
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens: each call fails fast
    for _ in range(3):
        await probe_status(nobody)
        assert await fetch_engine_metrics(nobody) is None
        client = EngineClient(nobody, "key", request_timeout_s=5)
        await client.close()
    assert len(built) <= 1, f"{len(built)} TLS contexts for 3 probes, 3 metrics reads and 3 engine clients"
