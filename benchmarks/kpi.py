"""The plan's KPIs (section 3) with the real engine behind the app: TTFT p50 < 1.5 s at a 2k
context, >= 30 requests a minute with 5 concurrent sessions, < 1 % errors.

The app starts its own engine from the active profile (llama.cpp with SmolLM2-135M on a CPU
machine, vLLM on a GPU server), as `./start` does, on a data directory of its own. Through
REST /api/chat: one session at a time with a ~1,500-token prompt (the 2k context: with the
answer it fills most of SmolLM2's 2,048), then 5 sessions with short prompts for the
throughput; `--app-root` runs another checkout's app (an earlier commit) the same way.

    .venv/bin/python -m benchmarks.kpi --model-dir .cache/models --json kpi.json
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from benchmarks import servers
from benchmarks.load import StepResult, markdown, run_step, write_results
from benchmarks.targets import app_token, make_target


async def measure(args: argparse.Namespace) -> list[StepResult]:
    env = {"MODEL_DIR": str(args.model_dir.resolve())} if args.model_dir else {}
    with servers.scratch() as (stack, tmp):
        app = stack.enter_context(servers.app(tmp, tmp / "data", None, args.app_root, **env))
        token = app_token(app.url, "test", "test")
        steps = [("rest", 1, args.ctx_tokens, args.requests, None),
                 ("rest", args.sessions, 16, None, args.duration)]
        results = []
        for kind, concurrency, prompt_tokens, requests, duration in steps:
            target = make_target(kind, app.url, token=token, max_tokens=args.output_tokens)
            target.name = f"{kind} ({prompt_tokens}-token prompt)"
            results.append(await run_step(target, concurrency, requests, duration, prompt_tokens,
                                          args.output_tokens, app.ps, not args.no_progress))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, help="where the model file is (MODEL_DIR)")
    parser.add_argument("--app-root", type=Path, default=servers.ROOT)
    parser.add_argument("--ctx-tokens", type=int, default=1500)
    parser.add_argument("--requests", type=int, default=10, help="at the 2k context")
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--duration", type=float, default=60.0, help="of the sessions' step")
    parser.add_argument("--output-tokens", type=int, default=128)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(measure(args))
    write_results(results, args.json, None)
    print(markdown(results), end="")


if __name__ == "__main__":
    main()
