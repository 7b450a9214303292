"""The issue's targets, checked against measured results: each met or missed, with its figure.

Results are `StepResult`s as JSON dicts (benchmarks/load.py), keyed by target name and
concurrency. A target whose steps were not run is reported as not measured, never as met.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Step = dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    target: str
    figure: str
    met: bool | None  # None: not measured in this run

    @property
    def mark(self) -> str:
        return {True: "met", False: "**missed**", None: "not measured"}[self.met]


def step(results: list[Step], target: str, concurrency: int) -> Step | None:
    return next((r for r in results if r["target"] == target
                 and r["concurrency"] == concurrency), None)


def _check(name: str, needs: list[Step | None],
           judge: Callable[..., tuple[str, bool]]) -> Verdict:
    if any(s is None for s in needs):
        return Verdict(name, "—", None)
    figure, met = judge(*needs)
    return Verdict(name, figure, met)


def _cpu(limit_ms: float) -> Callable[[Step], tuple[str, bool]]:
    def judge(s: Step) -> tuple[str, bool]:
        cpu = s["cpu_ms_per_answer"]
        return f"{cpu:.1f} ms (c={s['concurrency']})", cpu <= limit_ms
    return judge


def _ratio(limit: float, key: str = "e2e_ms") -> Callable[[Step, Step], tuple[str, bool]]:
    def judge(app: Step, direct: Step) -> tuple[str, bool]:
        ratio = app[key]["p50"] / direct[key]["p50"]
        return (f"{app[key]['p50']:.0f} ms vs {direct[key]['p50']:.0f} ms direct"
                f" ({ratio:.2f}×)", ratio <= limit)
    return judge


def _overhead(limit_ms: float) -> Callable[[Step, Step], tuple[str, bool]]:
    def judge(app: Step, base: Step) -> tuple[str, bool]:
        extra = app["ttft_ms"]["p50"] - base["ttft_ms"]["p50"]
        return (f"{extra:+.1f} ms ({app['ttft_ms']['p50']:.1f} vs"
                f" {base['ttft_ms']['p50']:.1f} ms)", extra <= limit_ms)
    return judge


def _c100(app: Step, direct: Step) -> tuple[str, bool]:
    figure, met = _ratio(2.0, "ttft_ms")(app, direct)
    return f"{figure}, {app['errors']} errors", met and app["errors"] == 0


def fake_engine_verdicts(results: list[Step], busy: int = 10, crowd: int = 100) -> list[Verdict]:
    direct = [step(results, "openai", c) for c in (1, busy, crowd)]
    rest = [step(results, "rest", c) for c in (1, busy, crowd)]
    gradio = [step(results, "gradio", c) for c in (1, busy)]
    floor = step(results, "gradio-floor", 1)
    return [
        _check("App CPU per 256-token answer ≤ 15 ms, REST", [rest[1]], _cpu(15)),
        _check("App CPU per 256-token answer ≤ 15 ms, Gradio API", [gradio[1]], _cpu(15)),
        _check("REST: TTFT overhead ≤ 5 ms at c=1", [rest[0], direct[0]], _overhead(5)),
        _check(f"REST: end-to-end at c={busy} ≤ 1.2× direct", [rest[1], direct[1]], _ratio(1.2)),
        _check("Gradio API: first update ≤ Gradio's floor + 25 ms", [gradio[0], floor],
               _overhead(25)),
        _check(f"Gradio API: end-to-end at c={busy} ≤ 1.5× direct", [gradio[1], direct[1]],
               _ratio(1.5)),
        _check(f"REST at c={crowd}: TTFT p50 ≤ 2× direct, no errors", [rest[2], direct[2]],
               _c100),
    ]


def verdict_table(verdicts: list[Verdict]) -> str:
    rows = ["| target | measured | verdict |", "|---|---|---|"]
    rows += [f"| {v.target} | {v.figure} | {v.mark} |" for v in verdicts]
    return "\n".join(rows) + "\n"
