"""Prometheus metrics of the app. Labels stay bounded: model names come from the profiles and
statuses from a fixed set; never a user id or any free text."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from engine.hardware import GpuInfo
from engine.manager import EngineState
from storage.usage import UsageRecord

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30)
# Every state the engine can be in is a label, with no second list to fall out of step.
ENGINE_STATES = tuple(state.value for state in EngineState)
# Why a chat request was refused before it reached the engine (chat/admission.py).
REFUSAL_REASONS = ("content_blocked", "too_many_concurrent", "quota_exceeded", "rate_limited",
                   "other")


# 429 apart from the other 4xx: a rate of refusals for load is an alert of its own.
STATUS_CLASSES = ("2xx", "3xx", "4xx", "429", "5xx")
# NVML's latest reading per GPU (engine/sampler.py), by GPU index.
GPU_GAUGES = {
    "memory_used_bytes": "GPU memory in use",
    "memory_total_bytes": "GPU memory in all",
    "utilization_percent": "GPU utilization",
    "temperature_celsius": "GPU temperature",
}


class AppMetrics:
    def __init__(self, known_models: Callable[[], set[str]]) -> None:
        self.registry = CollectorRegistry()
        self._known_models = known_models
        self.requests = Counter(
            "vllm_chat_requests", "Chat requests by model and outcome",
            ["model", "status"], registry=self.registry)
        self.latency = Histogram(
            "vllm_chat_request_latency_seconds", "Time from request to the answer's end",
            ["model"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.ttft = Histogram(
            "vllm_chat_time_to_first_token_seconds", "Time from request to the first token",
            ["model"], buckets=TTFT_BUCKETS, registry=self.registry)
        self.tokens = Counter(
            "vllm_chat_tokens", "Tokens by model and direction (in: prompt, out: answer)",
            ["model", "direction"], registry=self.registry)
        self.active_streams = Gauge(
            "vllm_chat_active_streams", "Answers streaming now", registry=self.registry)
        self.refused_requests = Counter(
            "vllm_chat_refused_requests", "Chat requests refused before the engine, by reason",
            ["reason"], registry=self.registry)
        for reason in REFUSAL_REASONS:  # shown from the start, at 0, for alerts and graphs
            self.refused_requests.labels(reason)
        self.engine_state = Gauge(
            "vllm_chat_engine_state", "1 for the engine's current state",
            ["state"], registry=self.registry)
        self.responses = Counter(
            "vllm_chat_http_responses", "HTTP responses by status class, 429 on its own",
            ["code"], registry=self.registry)
        for code in STATUS_CLASSES:  # at 0 from the start, for rate alerts
            self.responses.labels(code)
        self.gpu = {name: Gauge(f"vllm_chat_gpu_{name}", text, ["gpu"], registry=self.registry)
                    for name, text in GPU_GAUGES.items()}

    def observe(self, usage: UsageRecord) -> None:
        model = usage.model if usage.model in self._known_models() else "other"
        self.requests.labels(model, usage.status).inc()
        if usage.latency_ms is not None:
            self.latency.labels(model).observe(usage.latency_ms / 1000)
        if usage.ttft_ms is not None:
            self.ttft.labels(model).observe(usage.ttft_ms / 1000)
        self.tokens.labels(model, "in").inc(usage.input_tokens or 0)
        self.tokens.labels(model, "out").inc(usage.output_tokens or 0)

    def refused(self, reason: str) -> None:
        self.refused_requests.labels(reason if reason in REFUSAL_REASONS else "other").inc()

    def responded(self, status: int) -> None:
        if 200 <= status < 600:
            self.responses.labels("429" if status == 429 else f"{status // 100}xx").inc()

    def render(self, active_streams: int, engine_state: str,
               gpus: Sequence[GpuInfo] = ()) -> bytes:
        self.active_streams.set(active_streams)
        for state in ENGINE_STATES:
            self.engine_state.labels(state).set(1 if state == engine_state else 0)
        for gauge in self.gpu.values():
            gauge.clear()  # a GPU that is no longer read is no longer reported
        for gpu in gpus:
            index = str(gpu.index)
            self.gpu["memory_used_bytes"].labels(index).set(gpu.memory_used_bytes)
            self.gpu["memory_total_bytes"].labels(index).set(gpu.memory_total_bytes)
            if gpu.utilization_percent is not None:
                self.gpu["utilization_percent"].labels(index).set(gpu.utilization_percent)
            if gpu.temperature_c is not None:
                self.gpu["temperature_celsius"].labels(index).set(gpu.temperature_c)
        return generate_latest(self.registry)
