"""The comparison docs/benchmarks.md shows, in one run: the fake engine directly, the app's REST
/api/chat, its /v1, its Gradio API /chat, and a plain Gradio ChatInterface in front of the same
engine, at each concurrency; Gradio's own floor (an endpoint that streams with no engine) for
the Gradio API's first-update target. CPU per answer is the process that serves the path: the
engine for the direct path, the app, the plain Gradio chat.

    .venv/bin/python -m benchmarks.compare --json results.json
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import psutil

from benchmarks import servers
from benchmarks.load import StepResult, markdown, run_step, write_results
from benchmarks.targets import app_token, make_target

LABELS = {"openai": "engine directly", "rest": "app REST /api/chat", "v1": "app /v1",
          "gradio": "app Gradio API /chat", "gradio-plain": "plain Gradio ChatInterface",
          "gradio-floor": "Gradio floor (no engine)"}


def requests_for(concurrency: int, scale: float) -> int:
    return max(10, int(max(50, 3 * concurrency) * scale))


async def _steps(kind: str, url: str, token: str | None, process: psutil.Process,
                 levels: list[int], args: argparse.Namespace, name: str | None = None
                 ) -> list[StepResult]:
    results = []
    for concurrency in levels:
        target = make_target(kind, url, token=token, max_tokens=args.output_tokens)
        target.name = name or kind
        results.append(await run_step(target, concurrency, requests_for(concurrency, args.scale),
                                      None, args.prompt_tokens, args.output_tokens, process,
                                      not args.no_progress))
    return results


async def compare(args: argparse.Namespace) -> list[StepResult]:
    levels = [int(c) for c in args.concurrency.split(",")]
    with servers.scratch() as (stack, tmp):
        engine = stack.enter_context(servers.fake_engine(tmp))
        app_env = {"PYTHONPATH": args.app_pythonpath} if args.app_pythonpath else {}
        app = stack.enter_context(servers.app(tmp, tmp / "data", engine.url, args.app_root,
                                              **app_env))
        plain = stack.enter_context(servers.plain_gradio(tmp, engine.url))
        token = app_token(app.url, "test", "test")
        results = await _steps("openai", f"{engine.url}/v1", None, engine.ps, levels, args)
        results += await _steps("rest", app.url, token, app.ps, levels, args)
        results += await _steps("openai", f"{app.url}/v1", token, app.ps, levels, args, "v1")
        gradio_levels = [c for c in levels if c <= args.gradio_max_concurrency]
        results += await _steps("gradio", app.url, token, app.ps, gradio_levels, args)
        results += await _steps("gradio-floor", plain.url, None, plain.ps, levels[:1], args)
        plain_levels = [c for c in levels if c <= args.plain_max_concurrency]
        results += await _steps("gradio-plain", plain.url, None, plain.ps, plain_levels, args)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,10,100")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="requests per step: max(50, 3 x concurrency) times this")
    parser.add_argument("--plain-max-concurrency", type=int, default=10,
                        help="the plain Gradio chat is slow: not above this")
    parser.add_argument("--gradio-max-concurrency", type=int, default=10,
                        help="the app's Gradio API: not above this (gradio_client's threads"
                        " then take the machine's cores from what they measure)")
    parser.add_argument("--prompt-tokens", type=int, default=16)
    parser.add_argument("--output-tokens", type=int, default=256)
    parser.add_argument("--app-root", type=Path, default=servers.ROOT,
                        help="another checkout's app (an earlier commit, to compare with)")
    parser.add_argument("--app-pythonpath", help="PYTHONPATH for the app only (a folder with"
                        " uvloop.py and httptools.py that raise ImportError runs it without"
                        " them, as before they were required)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(compare(args))
    write_results(results, args.json, None)
    print(markdown(results, LABELS), end="")


if __name__ == "__main__":
    main()
