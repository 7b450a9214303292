"""Load steps against one target, measured as `vllm bench serve` measures a server.

A step runs `concurrency` workers, each sending one request after another (warm: each worker
first sends one request that is not counted), until the step has sent its request count or
its time is up. Per step: TTFT (send to first token), ITL (between successive pieces of text),
TPOT ((end-to-end - TTFT) / (output tokens - 1), per request), end-to-end latency, each as
p50/p95/p99 in ms; requests per minute, output tokens per second, the error rate, and, given
a process id, that process's CPU time per answer (user + system, its threads included).

    .venv/bin/python -m benchmarks.load --target rest --url http://127.0.0.1:8080 \\
        --username test --password test --concurrency 1,5,10 --requests 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import psutil
from tqdm import tqdm

from benchmarks.targets import Sample, Target, app_token, make_target

FILLER = "The quick brown fox jumps over the lazy dog near the river bank. "  # ~14 tokens


@dataclass
class StepResult:
    target: str
    concurrency: int
    requests: int
    errors: int
    duration_s: float
    ttft_ms: dict[str, float]
    itl_ms: dict[str, float]
    tpot_ms: dict[str, float]
    e2e_ms: dict[str, float]
    requests_per_min: float
    output_tokens_per_s: float
    cpu_ms_per_answer: float | None
    error_kinds: dict[str, int]

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    p50, p95, p99 = np.percentile(np.array(values) * 1000, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99)}


def prompt_for(n: int, prompt_tokens: int) -> str:
    # A different opening per request, so no engine prefix cache answers for the whole prompt.
    return f"Request {n}. " + FILLER * max(0, prompt_tokens // 14) + "Tell me a long story."


def summarize(target: str, concurrency: int, samples: list[Sample], duration_s: float,
              cpu_s: float | None) -> StepResult:
    good = [s for s in samples if s.error is None]
    kinds = dict(Counter(s.error for s in samples if s.error is not None))
    itl = [b - a for s in good for a, b in zip(s.arrivals, s.arrivals[1:], strict=False)]
    tpot = [(s.e2e - (s.ttft or 0)) / (s.output_tokens - 1) for s in good if s.output_tokens > 1]
    return StepResult(
        target=target, concurrency=concurrency, requests=len(samples),
        errors=len(samples) - len(good), duration_s=duration_s,
        ttft_ms=percentiles([s.ttft for s in good if s.ttft is not None]),
        itl_ms=percentiles(itl), tpot_ms=percentiles(tpot),
        e2e_ms=percentiles([s.e2e for s in good]),
        requests_per_min=len(good) / duration_s * 60,
        output_tokens_per_s=sum(s.output_tokens for s in good) / duration_s,
        cpu_ms_per_answer=None if cpu_s is None or not samples else cpu_s / len(samples) * 1000,
        error_kinds=kinds)


def cpu_seconds(process: psutil.Process | None) -> float | None:
    if process is None:
        return None
    times = process.cpu_times()
    return float(times.user + times.system)


async def run_step(target: Target, concurrency: int, requests: int | None,
                   duration_s: float | None, prompt_tokens: int, max_tokens: int,
                   process: psutil.Process | None, progress: bool = True) -> StepResult:
    await target.open(concurrency)
    try:
        await asyncio.gather(*(target.one(prompt_for(-i - 1, prompt_tokens), max_tokens)
                               for i in range(concurrency)))  # warm-up, not counted
        samples: list[Sample] = []
        sent = 0
        deadline = time.perf_counter() + duration_s if duration_s else None
        bar = tqdm(total=requests, desc=f"{target.name} c={concurrency}", unit="req",
                   disable=not progress, leave=False, file=sys.stderr)

        def more() -> bool:
            if deadline is not None:
                return time.perf_counter() < deadline
            return sent < (requests or 0)

        async def worker() -> None:
            nonlocal sent
            while more():
                sent += 1
                samples.append(await target.one(prompt_for(sent, prompt_tokens), max_tokens))
                bar.update(1)

        cpu_before, started = cpu_seconds(process), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        duration, cpu_after = time.perf_counter() - started, cpu_seconds(process)
        bar.close()
    finally:
        await target.close()
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return summarize(target.name, concurrency, samples, duration, cpu)


def markdown(results: list[StepResult], labels: dict[str, str] | None = None) -> str:
    """One row per step; `labels` names the targets for readers."""
    head = ("| path | c | requests | errors | TTFT p50 / p95 / p99 ms | ITL p50 ms | TPOT p50 ms"
            " | end-to-end p50 / p95 / p99 ms | req/min | output tok/s | CPU ms/answer |")
    rows = [head, "|" + "---|" * 11]
    for r in results:
        cpu = "—" if r.cpu_ms_per_answer is None else f"{r.cpu_ms_per_answer:.1f}"
        rows.append(
            f"| {(labels or {}).get(r.target, r.target)} | {r.concurrency} | {r.requests} |"
            f" {r.errors} ({r.error_rate:.1%}) | {_three(r.ttft_ms)} | {r.itl_ms['p50']:.1f} |"
            f" {r.tpot_ms['p50']:.2f} | {_three(r.e2e_ms)} | {r.requests_per_min:.0f} |"
            f" {r.output_tokens_per_s:.0f} | {cpu} |")
    return "\n".join(rows) + "\n"


def _three(p: dict[str, float]) -> str:
    return f"{p['p50']:.0f} / {p['p95']:.0f} / {p['p99']:.0f}"


def write_results(results: list[StepResult], json_path: Path | None,
                  markdown_path: Path | None) -> None:
    if json_path is not None:
        json_path.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    if markdown_path is not None:
        markdown_path.write_text(markdown(results))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True,
                        choices=["openai", "rest", "gradio", "gradio-plain", "gradio-floor"])
    parser.add_argument("--url", required=True, help="the app's address, or a base URL "
                        "ending in /v1 for --target openai (the app's /v1 too)")
    parser.add_argument("--model", help="model to ask for (default: the server's)")
    parser.add_argument("--api-key", help="Bearer key (the app's API keys work on /v1)")
    parser.add_argument("--username", help="sign in to the app with this user ...")
    parser.add_argument("--password", help="... and password")
    parser.add_argument("--concurrency", default="1,5,10", help="steps, comma-separated")
    parser.add_argument("--requests", type=int, default=None, help="per step (default 50)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per step")
    parser.add_argument("--prompt-tokens", type=int, default=16)
    parser.add_argument("--output-tokens", type=int, default=256)
    parser.add_argument("--pid", type=int, help="measure this process's CPU per answer")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.requests is None and args.duration is None:
        args.requests = 50
    return args


async def main(argv: list[str] | None = None) -> list[StepResult]:
    args = parse_args(argv)
    token = args.api_key
    if args.username:
        token = app_token(args.url, args.username, args.password or "")
    process = psutil.Process(args.pid) if args.pid else None
    results = []
    for concurrency in (int(c) for c in args.concurrency.split(",")):
        target = make_target(args.target, args.url, token=token, model=args.model,
                             max_tokens=args.output_tokens)
        results.append(await run_step(target, concurrency, args.requests, args.duration,
                                      args.prompt_tokens, args.output_tokens, process,
                                      not args.no_progress))
    write_results(results, args.json, args.markdown)
    print(markdown(results), end="")
    return results


def run_cli(argv: list[str] | None = None) -> list[StepResult]:
    return asyncio.run(main(argv))


if __name__ == "__main__":
    run_cli()
