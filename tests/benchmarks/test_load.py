"""The benchmark tool's figures, defined as `vllm bench serve` defines them, and its run
against the benchmark double (benchmarks/fake_engine.py) from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import load, servers
from benchmarks.targets import Sample
from benchmarks.targets_check import fake_engine_verdicts


def sample(start: float, arrivals: list[float], tokens: int, error: str | None = None) -> Sample:
    return Sample(start, arrivals[-1] if arrivals else start + 1, arrivals, tokens, error)


def test_ttft_itl_tpot_and_throughput_follow_vllms_definitions() -> None:
    samples = [sample(0.0, [0.1, 0.2, 0.4], 3), sample(1.0, [1.3, 1.5, 1.7], 5),
               sample(2.0, [], 0, "HTTP 503")]
    result = load.summarize("x", 2, samples, duration_s=2.0, cpu_s=0.3)
    assert result.ttft_ms["p50"] == pytest.approx(200)  # 100 and 300 ms
    assert result.itl_ms["p50"] == pytest.approx(200)  # 100, 200, 200, 200 ms
    # (end-to-end - TTFT) / (tokens - 1): 0.3 / 2 and 0.4 / 4
    assert result.tpot_ms["p50"] == pytest.approx(125)
    assert result.e2e_ms["p50"] == pytest.approx(550)  # 400 and 700 ms
    assert (result.requests, result.errors, result.error_kinds) == (3, 1, {"HTTP 503": 1})
    assert result.requests_per_min == pytest.approx(60)  # two good answers in 2 s
    assert result.output_tokens_per_s == pytest.approx(4)
    assert result.cpu_ms_per_answer == pytest.approx(100)


def test_the_load_command_measures_the_fake_engine(tmp_path: Path) -> None:
    with servers.fake_engine(tmp_path, "--output-tokens", "32") as engine:
        out = tmp_path / "steps.json"
        results = load.run_cli(["--target", "openai", "--url", f"{engine.url}/v1",
                                "--concurrency", "1,3", "--requests", "6",
                                "--pid", str(engine.process.pid), "--json", str(out),
                                "--no-progress"])
    stored = json.loads(out.read_text())
    assert [(r["concurrency"], r["requests"], r["errors"]) for r in stored] == [(1, 6, 0), (3, 6, 0)]
    assert all(r.output_tokens_per_s > 0 for r in results)
    # Measured (CPU time comes in clock ticks: a few tiny answers may take none of them).
    assert all(r.cpu_ms_per_answer is not None and r.cpu_ms_per_answer >= 0 for r in results)
    assert stored[0]["ttft_ms"]["p50"] <= stored[0]["e2e_ms"]["p50"]


def test_a_target_not_measured_is_never_reported_as_met() -> None:
    def step(target: str, c: int, cpu: float, ttft: float, e2e: float) -> dict[str, object]:
        return {"target": target, "concurrency": c, "cpu_ms_per_answer": cpu, "errors": 0,
                "ttft_ms": {"p50": ttft}, "e2e_ms": {"p50": e2e}}

    results = [step("openai", 1, 5, 3, 20), step("openai", 10, 5, 30, 100),
               step("rest", 1, 12, 7, 30), step("rest", 10, 14, 40, 110)]
    verdicts = {v.target: v for v in fake_engine_verdicts(results)}
    assert verdicts["App CPU per 256-token answer ≤ 15 ms, REST"].met is True
    assert verdicts["REST: TTFT overhead ≤ 5 ms at c=1"].met is True  # +4 ms
    assert verdicts["REST: end-to-end at c=10 ≤ 1.2× direct"].met is True  # 1.1×
    assert verdicts["App CPU per 256-token answer ≤ 15 ms, Gradio API"].met is None
    assert verdicts["REST at c=100: TTFT p50 ≤ 2× direct, no errors"].mark == "not measured"


def test_failures_the_fake_engine_injects_are_counted_as_errors(tmp_path: Path) -> None:
    with servers.fake_engine(tmp_path, "--failure-rate", "1") as engine:
        [result] = load.run_cli(["--target", "openai", "--url", f"{engine.url}/v1",
                                 "--concurrency", "2", "--requests", "4", "--no-progress"])
    assert (result.requests, result.errors, result.error_kinds) == (4, 4, {"HTTP 500": 4})
    assert result.requests_per_min == 0
