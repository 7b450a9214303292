"""Chat under load against a running app, measured against the plan's KPIs (section 3):
TTFT p50 < 1.5 s at a 2k context, >= 30 requests/min with 5 concurrent sessions, < 1% errors.

Each session sends streamed chats through /v1 (the official openai SDK) one after another for
the given time; the prompt is filled to about --ctx-tokens tokens. Run by hand against an app
started with CHAT_RATE_LIMIT= (empty), since the default limit of 60 answers a minute per user
would refuse part of the load:

    CHAT_RATE_LIMIT= ./start
    .venv/bin/python scripts/bench_chat_load.py --sessions 5 --duration 60 --ctx-tokens 1500
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass, field

import httpx
import openai

FILLER = "The quick brown fox jumps over the lazy dog near the river bank. "  # ~14 tokens


@dataclass
class Results:
    ttft_s: list[float] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    output_tokens: list[int] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def one_chat(client: openai.AsyncOpenAI, prompt: str, args: argparse.Namespace,
                   results: Results) -> None:
    started = time.perf_counter()
    first: float | None = None
    try:
        stream = await client.chat.completions.create(
            model=args.model, stream=True, max_tokens=args.max_tokens,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": prompt}])
        usage = None
        async for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter()
            usage = chunk.usage or usage
    except openai.RateLimitError:
        results.error("429 rate limited")
        return
    except openai.APIStatusError as exc:
        results.error(f"{exc.status_code}")
        return
    except openai.APIError as exc:
        results.error(type(exc).__name__)
        return
    ended = time.perf_counter()
    if first is not None:
        results.ttft_s.append(first - started)
    results.latency_s.append(ended - started)
    results.output_tokens.append(usage.completion_tokens if usage else 0)


async def session(n: int, client: openai.AsyncOpenAI, deadline: float, results: Results,
                  args: argparse.Namespace) -> None:
    asked = 0
    while time.perf_counter() < deadline:
        # A different opening per request, so no engine prefix cache answers for the whole prompt.
        prompt = f"Session {n} request {asked}. " + FILLER * (args.ctx_tokens // 14) + \
            "\nSummarise the text above in one sentence."
        await one_chat(client, prompt, args, results)
        asked += 1


def token(url: str, username: str, password: str) -> str:
    response = httpx.post(f"{url}/api/auth/login", json={"username": username,
                                                         "password": password})
    response.raise_for_status()
    return str(response.json()["access_token"])


async def main(args: argparse.Namespace) -> None:
    client = openai.AsyncOpenAI(base_url=f"{args.url}/v1", max_retries=0, timeout=600,
                                api_key=args.key or token(args.url, args.username, args.password))
    results = Results()
    started = time.perf_counter()
    deadline = started + args.duration
    await asyncio.gather(*(session(n, client, deadline, results, args)
                           for n in range(args.sessions)))
    elapsed = time.perf_counter() - started
    report(results, elapsed, args)


def report(results: Results, elapsed: float, args: argparse.Namespace) -> None:
    done, failed = len(results.latency_s), sum(results.errors.values())
    per_minute = done / elapsed * 60
    error_rate = failed / max(1, done + failed)
    p50 = percentile(results.ttft_s, 50)
    print(f"{args.sessions} sessions for {elapsed:.0f} s, prompt ~{args.ctx_tokens} tokens,"
          f" max_tokens {args.max_tokens}, model {args.model}")
    print(f"completed {done}, failed {failed} {results.errors or ''}")
    print(f"TTFT     p50 {p50:6.2f} s  p95 {percentile(results.ttft_s, 95):6.2f} s"
          f"  p99 {percentile(results.ttft_s, 99):6.2f} s")
    print(f"latency  p50 {percentile(results.latency_s, 50):6.2f} s"
          f"  p95 {percentile(results.latency_s, 95):6.2f} s")
    tokens = sum(results.output_tokens)
    print(f"throughput {per_minute:.1f} requests/min, {tokens / elapsed:.1f} output tokens/s")
    print("KPI (plan section 3): "
          f"TTFT p50 < 1.5 s: {'met' if p50 < 1.5 else 'NOT met'}; "
          f">= 30 req/min: {'met' if per_minute >= 30 else 'NOT met'}; "
          f"errors < 1%: {'met' if error_rate < 0.01 else 'NOT met'} ({error_rate:.1%})")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--username", default="test")
    parser.add_argument("--password", default="test")
    parser.add_argument("--key", help="a personal API key instead of username and password")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--ctx-tokens", type=int, default=1500)
    parser.add_argument("--max-tokens", type=int, default=64)
    return parser.parse_args()


if __name__ == "__main__":
    options = parse_args()
    try:
        asyncio.run(main(options))
    except httpx.HTTPError as exc:
        sys.exit(f"cannot reach the app at {options.url}: {exc}")
