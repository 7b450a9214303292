"""Many streams for a long time: errors, and the app's resident memory as it goes.

`--streams` REST sessions, each asking one answer after another from the fake engine paced
at `--tokens-per-s` (a busy GPU's pace per stream), for `--duration` seconds. The app's RSS
is sampled every few seconds; growth is the last sample less the one taken once every
stream has run its first answer (imports, caches and pools are warm by then).

    .venv/bin/python -m benchmarks.soak --streams 200 --duration 300 --json soak.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from benchmarks import servers
from benchmarks.load import run_step
from benchmarks.targets import app_token, make_target

MB = 1024 * 1024


@dataclass
class SoakResult:
    streams: int
    duration_s: float
    requests: int
    errors: int
    error_kinds: dict[str, int]
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MB)
    warm_at_s: float = 0.0

    @property
    def growth_mb(self) -> float:
        warm = [mb for t, mb in self.rss_mb if t >= self.warm_at_s] or [0.0]
        return warm[-1] - warm[0]


async def _sample(process: psutil.Process, result: SoakResult, started: float,
                  every_s: float) -> None:
    while True:
        result.rss_mb.append((time.perf_counter() - started, process.memory_info().rss / MB))
        await asyncio.sleep(every_s)


async def soak(args: argparse.Namespace) -> SoakResult:
    with servers.scratch(args.logs) as (stack, tmp):
        engine = stack.enter_context(servers.fake_engine(
            tmp, "--tokens-per-s", str(args.tokens_per_s), "--output-tokens",
            str(args.output_tokens)))
        app = stack.enter_context(servers.app(tmp, tmp / "data", engine.url))
        token = app_token(app.url, "test", "test")
        target = make_target("rest", app.url, token=token, max_tokens=args.output_tokens)
        result = SoakResult(args.streams, args.duration, 0, 0, {},
                            warm_at_s=args.output_tokens / args.tokens_per_s + 5)
        started = time.perf_counter()
        sampler = asyncio.create_task(_sample(app.ps, result, started, args.sample_every))
        try:
            step = await run_step(target, args.streams, None, args.duration, 16,
                                  args.output_tokens, app.ps, not args.no_progress)
        finally:
            sampler.cancel()
        result.requests, result.errors, result.error_kinds = (
            step.requests, step.errors, step.error_kinds)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--tokens-per-s", type=float, default=20.0)
    parser.add_argument("--output-tokens", type=int, default=128)
    parser.add_argument("--sample-every", type=float, default=5.0)
    parser.add_argument("--logs", type=Path, help="keep the servers' logs and data here")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(soak(args))
    report = {**asdict(result), "growth_mb": result.growth_mb}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(f"{result.streams} streams for {result.duration_s:g} s: {result.requests} answers,"
          f" {result.errors} errors {result.error_kinds or ''}; RSS"
          f" {result.rss_mb[0][1]:.0f} MB at start, growth {result.growth_mb:+.1f} MB once warm"
          f" (max {max(mb for _, mb in result.rss_mb):.0f} MB)")


if __name__ == "__main__":
    main()
