"""Reading vLLM's Prometheus metrics, with the older names as fallback."""

from __future__ import annotations

import httpx
import pytest

from engine.metrics import fetch_engine_metrics, parse_engine_metrics

NEW = """# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 2.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.99
"""

OLD = """# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="a"} 1.0
vllm:num_requests_running{model_name="b"} 4.0
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="a"} 0.5
"""


def test_current_metric_names_are_read() -> None:
    assert parse_engine_metrics(NEW) == {
        "requests_running": 3.0, "requests_waiting": 2.0, "kv_cache_usage": 0.25}


def test_older_names_are_the_fallback_and_label_sets_are_summed() -> None:
    assert parse_engine_metrics(OLD) == {"requests_running": 5.0, "kv_cache_usage": 0.5}


def test_no_vllm_metrics_gives_nothing() -> None:
    assert parse_engine_metrics("# TYPE process_cpu_seconds_total counter\n"
                                "process_cpu_seconds_total 1.0\n") == {}


async def test_an_engine_whose_metrics_are_not_prometheus_text_gives_nothing() -> None:
    """An external engine may answer /metrics with anything (JSON, an HTML page): the Models
    tab and the sampler must not fail on it."""
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"object": "list", "data": [{"id": "fake"}]})

    real_client = httpx.AsyncClient

    def client_with_transport(**options: object) -> httpx.AsyncClient:
        return real_client(transport=httpx.MockTransport(handler), **options)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx, "AsyncClient", client_with_transport)
        assert await fetch_engine_metrics("http://engine.test") is None
