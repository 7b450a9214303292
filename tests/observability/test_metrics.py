"""The app's Prometheus metrics: counts by model and status, histograms, bounded labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from engine.manager import EngineState
from observability.metrics import AppMetrics
from storage.usage import UsageRecord


def usage(model: str, status: str, latency_ms: int = 500) -> UsageRecord:
    return UsageRecord(request_id="r", user_id=1, conv_id=1, model=model, status=status,  # type: ignore[arg-type]
                       status_code=200, latency_ms=latency_ms, ttft_ms=100, input_tokens=10,
                       output_tokens=5)


def samples(metrics: AppMetrics, engine_state: str = "ready",
            ) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render(active_streams=2, engine_state=engine_state).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_requests_tokens_and_latency_are_counted_by_model_and_status() -> None:
    metrics = AppMetrics(lambda: {"m"})
    metrics.observe(usage("m", "completed"))
    metrics.observe(usage("m", "completed", 1500))
    metrics.observe(usage("m", "cancelled"))
    found = samples(metrics)
    assert found[("vllm_chat_requests_total", (("model", "m"), ("status", "completed")))] == 2
    assert found[("vllm_chat_requests_total", (("model", "m"), ("status", "cancelled")))] == 1
    assert found[("vllm_chat_tokens_total", (("direction", "in"), ("model", "m")))] == 30
    assert found[("vllm_chat_request_latency_seconds_count", (("model", "m"),))] == 3
    assert found[("vllm_chat_request_latency_seconds_bucket", (("le", "1.0"), ("model", "m")))] == 2
    assert found[("vllm_chat_active_streams", ())] == 2
    assert found[("vllm_chat_engine_state", (("state", "ready"),))] == 1
    assert found[("vllm_chat_engine_state", (("state", "failed"),))] == 0


def test_unknown_model_names_do_not_make_new_labels() -> None:
    metrics = AppMetrics(lambda: {"m"})
    for n in range(20):
        metrics.observe(usage(f"made-up-{n}", "failed"))
    models = {labels for (name, labels) in samples(metrics) if name == "vllm_chat_requests_total"}
    assert models == {(("model", "other"), ("status", "failed"))}


def test_refused_requests_are_counted_by_reason_with_bounded_labels() -> None:
    metrics = AppMetrics(lambda: {"m"})
    for reason in ("content_blocked", "content_blocked", "quota_exceeded", "made-up", "other2"):
        metrics.refused(reason)
    found = {dict(labels)["reason"]: value for (name, labels), value in samples(metrics).items()
             if name == "vllm_chat_refused_requests_total"}
    assert found == {"content_blocked": 2, "too_many_concurrent": 0, "quota_exceeded": 1,
                     "rate_limited": 0, "other": 2}


def test_every_engine_state_has_a_metric_label() -> None:
    for state in EngineState:
        found = {dict(labels)["state"]: value for (name, labels), value
                 in samples(AppMetrics(lambda: {"m"}), engine_state=state.value).items()
                 if name == "vllm_chat_engine_state"}
        assert set(found) == {s.value for s in EngineState}
        assert found[state.value] == 1 and sum(found.values()) == 1
