"""The Prometheus alert rules (deploy/prometheus/alerts.yml): valid for promtool, firing on
made-up series as alerts.test.yml expects, and using only metrics the app exports."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT
from prometheus_client.parser import text_string_to_metric_families

from engine.hardware import GpuInfo
from observability.metrics import ENGINE_STATES, AppMetrics

RULES = ROOT / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")


def promtool(*args: str) -> str:
    assert PROMTOOL, "promtool (Debian's prometheus) is installed by ./test"
    result = subprocess.run([PROMTOOL, *args], cwd=RULES, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_rules_are_valid() -> None:
    assert "SUCCESS: 7 rules found" in promtool("check", "rules", "alerts.yml")


def test_the_scrape_config_is_valid_and_loads_the_rules() -> None:
    """--syntax-only: the token file it names exists only where compose mounts it."""
    assert "SUCCESS" in promtool("check", "config", "--syntax-only", "prometheus.yml")
    config = yaml.safe_load((RULES / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    assert [job["job_name"] for job in config["scrape_configs"]] == ["vllm-chat"]


def test_every_alert_fires_on_its_series_and_stays_quiet_on_healthy_ones() -> None:
    assert "SUCCESS" in promtool("test", "rules", "alerts.test.yml")


def exported_series() -> set[str]:
    """Every series name the app's /metrics can show, GPUs included (this machine has none)."""
    metrics = AppMetrics(lambda: {"smollm2-135m-instruct"})
    metrics.responded(200)
    for histogram in (metrics.ttft, metrics.latency):  # labelled: shown once observed
        histogram.labels("smollm2-135m-instruct").observe(0.5)
    gpu = GpuInfo(index=0, name="RTX 3090", memory_total_bytes=24, memory_used_bytes=20,
                  memory_free_bytes=4, utilization_percent=50, temperature_c=70)
    text = metrics.render(1, ENGINE_STATES[0], [gpu]).decode()
    return {sample.name for family in text_string_to_metric_families(text)
            for sample in family.samples} | {"up"}  # `up` is Prometheus' own, per target


def test_every_metric_a_rule_uses_is_one_the_app_exports() -> None:
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    used = {name for expr in exprs for name in re.findall(r"\b(vllm_chat_\w+|up)\b", expr)}
    assert used - exported_series() == set()
    assert {"vllm_chat_engine_state", "vllm_chat_http_responses_total",
            "vllm_chat_time_to_first_token_seconds_bucket", "vllm_chat_gpu_memory_used_bytes",
            "vllm_chat_gpu_temperature_celsius"} <= used


@pytest.mark.parametrize(("status", "code"), [(200, "2xx"), (302, "3xx"), (404, "4xx"),
                                              (429, "429"), (503, "5xx")])
def test_responses_are_counted_by_class_with_429_apart(status: int, code: str) -> None:
    metrics = AppMetrics(set)
    metrics.responded(status)
    assert metrics.responses.labels(code)._value.get() == 1
    others = [c for c in ("2xx", "3xx", "4xx", "429", "5xx") if c != code]
    assert all(metrics.responses.labels(c)._value.get() == 0 for c in others)


def test_a_gpu_no_longer_read_is_no_longer_reported() -> None:
    metrics = AppMetrics(set)
    gpu = GpuInfo(index=1, name="x", memory_total_bytes=2, memory_used_bytes=1,
                  memory_free_bytes=1)
    assert b'vllm_chat_gpu_memory_used_bytes{gpu="1"} 1.0' in metrics.render(0, "ready", [gpu])
    assert b"vllm_chat_gpu_memory_used_bytes{" not in metrics.render(0, "ready", [])
