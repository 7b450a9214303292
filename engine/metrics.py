"""The engine's Prometheus metrics (vLLM), reduced to what the operator looks at."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from engine.http import engine_http

# Newer vLLM names first; older releases used the names after them.
WANTED: dict[str, tuple[str, ...]] = {
    "requests_running": ("vllm:num_requests_running",),
    "requests_waiting": ("vllm:num_requests_waiting",),
    "kv_cache_usage": ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
}


def parse_engine_metrics(text: str) -> dict[str, float]:
    """Sum each wanted gauge over its label sets (one per served model name)."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name] = found.get(sample.name, 0.0) + float(sample.value)
    result = {}
    for key, names in WANTED.items():
        for name in names:
            if name in found:
                result[key] = found[name]
                break
    return result


async def fetch_engine_metrics(base_url: str, wait_s: float = 2.0) -> dict[str, Any] | None:
    try:
        async with engine_http(timeout=wait_s) as client:
            response = await client.get(f"{base_url}/metrics")
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        return parse_engine_metrics(response.text)
    except ValueError:  # an external engine may answer /metrics with something else entirely
        return None
