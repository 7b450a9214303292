"""docs/benchmarks.md from the results scripts/benchmark.sh wrote: every figure in it is read
from a results file, none typed in.

    .venv/bin/python -m benchmarks.report docs/benchmark-results docs/benchmarks.md
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from benchmarks.compare import LABELS
from benchmarks.load import StepResult, markdown
from benchmarks.targets_check import Verdict, fake_engine_verdicts, step, verdict_table
from benchmarks.texts import ANALYTICS, COMPARE, GPU, HEADER, KPI, SOAK

SOAK_GROWTH_BOUND_MB = 64.0  # the bound benchmarks/soak.py's slow test holds the app to
# The *-baseline.json results: the app at the last commit before issue 13's changes, run with
# --app-root on a checkout of it and without uvloop and httptools, as it then ran.
BASELINE = "49d0eb3"


def load(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def steps(raw: list[dict[str, Any]]) -> list[StepResult]:
    return [StepResult(**r) for r in raw]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                 .splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    return (f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, no GPU; Python"
            f" {sys.version.split()[0]}; commit {commit or '?'}")


def measured_on(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")


def before_after(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    """The app's paths before and after this issue's changes, step by step."""
    rows = ["| path | c | CPU ms/answer | TTFT p50 ms | end-to-end p50 ms |", "|---|---|---|---|---|"]
    for old in before:
        new = step(after, old["target"], old["concurrency"])
        if new is None or old["target"] not in ("rest", "v1", "gradio"):
            continue
        rows.append(f"| {LABELS[old['target']]} | {old['concurrency']} |"
                    f" {old['cpu_ms_per_answer']:.1f} → {new['cpu_ms_per_answer']:.1f} |"
                    f" {old['ttft_ms']['p50']:.0f} → {new['ttft_ms']['p50']:.0f} |"
                    f" {old['e2e_ms']['p50']:.0f} → {new['e2e_ms']['p50']:.0f} |")
    return "\n".join(rows) + "\n"


def compare_section(results: Path) -> str:
    raw = load(results / "compare.json")
    if raw is None:
        return COMPARE.format(table="(not run)", verdicts="", when="—", before="")
    baseline = load(results / "compare-baseline.json")
    before = "" if baseline is None else (
        f"Before → after this issue's changes: the same comparison with the app at {BASELINE}"
        " (`compare-baseline.json`, the same session):\n\n" + before_after(baseline, raw))
    return COMPARE.format(table=markdown(steps(raw), LABELS),
                          verdicts=verdict_table(fake_engine_verdicts(raw)),
                          when=measured_on(results / "compare.json"), before=before)


def kpi_verdicts(raw: list[dict[str, Any]]) -> list[Verdict]:
    ctx, sessions = raw[0], raw[1]
    errors = sum(r["errors"] for r in raw) / max(1, sum(r["requests"] for r in raw))
    return [
        Verdict("TTFT p50 < 1.5 s at a 2k context", f"{ctx['ttft_ms']['p50'] / 1000:.2f} s",
                ctx["ttft_ms"]["p50"] < 1500),
        Verdict(f"≥ 30 requests/min with {sessions['concurrency']} concurrent sessions",
                f"{sessions['requests_per_min']:.1f}/min", sessions["requests_per_min"] >= 30),
        Verdict("error rate < 1 %", f"{errors:.1%}", errors < 0.01),
    ]


def kpi_section(results: Path) -> str:
    raw = load(results / "kpi.json")
    if raw is None:
        return KPI.format(table="(not run)", verdicts="", baseline="", when="—")
    baseline = load(results / "kpi-baseline.json")
    before = ""
    if baseline is not None:
        before = (f"Before this issue's changes (the same steps, the app at {BASELINE},"
                  " `kpi-baseline.json`):\n\n" + markdown(steps(baseline)))
    return KPI.format(table=markdown(steps(raw)), verdicts=verdict_table(kpi_verdicts(raw)),
                      baseline=before, when=measured_on(results / "kpi.json"))


def soak_section(results: Path) -> str:
    raw = load(results / "soak.json")
    if raw is None:
        return SOAK.format(summary="(not run)", verdicts="")
    summary = (f"{raw['streams']} streams for {raw['duration_s']:g} s: {raw['requests']} answers,"
               f" {raw['errors']} errors; the app's resident memory"
               f" {raw['rss_mb'][0][1]:.0f} MB at the start,"
               f" {max(mb for _, mb in raw['rss_mb']):.0f} MB at most, growth"
               f" {raw['growth_mb']:+.1f} MB once every stream had answered"
               f" (measured {measured_on(results / 'soak.json')}).")
    verdicts = [Verdict(f"{raw['streams']} streams, {raw['duration_s']:g} s, no error",
                        f"{raw['errors']} errors", raw["errors"] == 0),
                Verdict(f"memory growth under {SOAK_GROWTH_BOUND_MB:g} MB",
                        f"{raw['growth_mb']:+.1f} MB", raw["growth_mb"] < SOAK_GROWTH_BOUND_MB)]
    return SOAK.format(summary=summary, verdicts=verdict_table(verdicts))


def analytics_section(results: Path) -> str:
    raw = load(results / "analytics.json")
    if raw is None:
        return ANALYTICS.format(table="(not run)", verdicts="", when="—")
    views = list(raw["whole_tab"]["ms"])
    rows = ["| query | " + " | ".join(f"{v} ms" for v in views) + " |", "|---|" + "---|" * len(views)]
    rows += [f"| {q['name']} | " + " | ".join(f"{q['ms'][v]:.0f}" for v in views) + " |"
             for q in raw["queries"]]
    rows.append("| **whole tab** | " + " | ".join(f"**{raw['whole_tab']['ms'][v]:.0f}**"
                                               for v in views) + " |")
    slowest = max((q["ms"][v], q["name"], v) for q in raw["queries"] for v in views)
    tab = max((ms, v) for v, ms in raw["whole_tab"]["ms"].items())
    verdicts = [Verdict("every Usage query under 300 ms",
                        f"slowest: {slowest[1]} over {slowest[2]}, {slowest[0]:.0f} ms",
                        slowest[0] < 300),
                Verdict("the whole tab under 500 ms", f"slowest view: {tab[1]}, {tab[0]:.0f} ms",
                        tab[0] < 500)]
    when = f"{raw['rows']:,} rows, {raw['file_mb']:.0f} MB file, measured {raw['measured_at'][:16]}"
    return ANALYTICS.format(table="\n".join(rows) + "\n", verdicts=verdict_table(verdicts),
                            when=when)


def report(results: Path) -> str:
    return "\n".join([HEADER.format(machine=machine()), compare_section(results),
                      kpi_section(results), soak_section(results), analytics_section(results),
                      GPU])


def main() -> None:
    results, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.write_text(report(results))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
