"""How long each usage-dashboard query, and the whole Usage tab, takes over many requests.

Fills a data directory with synthetic users and request rows (generated inside DuckDB,
inserted in time order as the app writes them), through storage.db.Database so the real schema
and indexes apply, then times every query in storage/analytics.py: the median of 5 runs after
one warm-up, for the last 30 days, 7 days and 24 hours (everyone, as an admin sees it) and
for the last 30 days of the heaviest user (as that user sees it). "Whole tab" is the wall time
of one refresh as the tab runs it (usage.dashboard.load_view: the queries one after another,
each its own database call; the per-user ones only for an admin), also a median of 5.
Targets: 300 ms per query, 500 ms for the whole tab. It is a report: it exits 0 whatever the
figures are.

A DATA_DIR filled by an earlier run with the same --rows and --users is used again as it is
(its time range ends where that run's did), so a 10-million-row file is generated once.

Run by hand:  .venv/bin/python scripts/bench_analytics.py [DATA_DIR] [--rows 1000000]
              [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb

from storage import analytics
from storage.analytics import UsageFilter
from storage.db import Database
from usage.dashboard import SLOWEST_LIMIT, load_view

TARGET_MS = 300.0
TAB_TARGET_MS = 500.0
DB_NAME = "vllm_chat.duckdb"  # the app's file name (settings.db_path)
META_NAME = "bench-analytics.json"  # what the filled file holds, to use it again
SPAN = timedelta(days=30)

Query = Callable[[duckdb.DuckDBPyConnection, UsageFilter], Any]

# What the tab queries (the heaviest users and the outcomes it derives from these; the user
# list too, unless a user is chosen).
QUERIES: list[tuple[str, Query]] = [
    ("requests_over_time", analytics.requests_over_time),
    ("tokens_by_model", analytics.tokens_by_model),
    ("tokens_by_user", analytics.tokens_by_user),
    ("latency_percentiles", analytics.latency_percentiles),
    ("slowest_requests", lambda c, f: analytics.slowest_requests(c, f, SLOWEST_LIMIT)),
    ("models_present", analytics.models_present),
    ("users_present", analytics.users_present),
]


def fill(db: Database, rows: int, user_count: int, end: datetime, span: timedelta) -> None:
    """Users, then `rows` requests spread evenly over `span` up to `end`, each one INSERT."""
    db.call(lambda c: c.execute(
        "INSERT INTO users (username, password_hash, role)"
        " SELECT 'user' || lpad(i::TEXT, 4, '0'), 'x', CASE WHEN i = 0 THEN 'admin' ELSE 'user' END"
        " FROM range(?) t(i)", [user_count]))
    first_id = db.call(lambda c: c.execute("SELECT min(id) FROM users").fetchone())[0]  # type: ignore[index]
    step_us = int(span / timedelta(microseconds=1)) // rows
    # A few heavy users (random()^3 skews toward low ids), four models, ~1.5 % failed and ~3 %
    # cancelled; latency = time to first token + output tokens x 10..40 ms.
    db.call(lambda c: c.execute(
        """
        INSERT INTO requests (request_id, user_id, conv_id, model, latency_ms, ttft_ms,
                              input_tokens, output_tokens, status, status_code, error, created_at)
        SELECT 'req-' || i,
               ? + floor(pow(u, 3) * ?)::BIGINT,
               i // 8,
               CASE WHEN m < 0.5 THEN 'deepseek-r1-14b' WHEN m < 0.8 THEN 'llama-3.1-8b'
                    WHEN m < 0.95 THEN 'qwen2.5-7b' ELSE 'smollm2-135m' END,
               (ttft + output_tokens * (10 + 30 * t))::INTEGER,
               CASE WHEN status = 'failed' THEN NULL ELSE ttft END,
               input_tokens,
               CASE WHEN status = 'failed' THEN NULL ELSE output_tokens END,
               status,
               CASE status WHEN 'completed' THEN 200 WHEN 'cancelled' THEN 499
                           ELSE CASE WHEN t < 0.5 THEN 502 ELSE 503 END END,
               CASE WHEN status = 'failed' THEN 'engine error' END,
               ?::TIMESTAMPTZ + to_microseconds(i * ?)
        FROM (
            SELECT i, random() AS u, random() AS m, random() AS t,
                   (80 + pow(random(), 2) * 1500)::INTEGER AS ttft,
                   (50 + random() * 2000)::INTEGER AS input_tokens,
                   (random() * 800)::INTEGER AS output_tokens,
                   CASE WHEN s < 0.015 THEN 'failed' WHEN s < 0.045 THEN 'cancelled'
                        ELSE 'completed' END AS status
            FROM (SELECT i, random() AS s FROM range(?) r(i))
        )
        ORDER BY i
        """,
        [first_id, user_count, end - span, step_us, rows]))
    db.call(lambda c: c.execute("CHECKPOINT"))


def filled_database(directory: Path, rows: int, user_count: int) -> tuple[Database, datetime]:
    """The database in `directory` and the end of its time range: filled now if it is new,
    used as it is if an earlier run filled it with the same rows and users."""
    meta_path = directory / META_NAME
    if (directory / DB_NAME).exists():
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        if (meta.get("rows"), meta.get("users")) != (rows, user_count):
            sys.exit(f"{directory / DB_NAME} was not filled by this script with {rows:,} rows"
                     f" and {user_count} users: give a fresh data directory")
        print(f"using {directory / DB_NAME} as filled earlier")
        return Database(directory / DB_NAME), datetime.fromisoformat(meta["end"])
    db = Database(directory / DB_NAME)
    end = datetime.now(UTC)
    started = time.perf_counter()
    fill(db, rows, user_count, end, SPAN)
    print(f"filled in {time.perf_counter() - started:.1f} s")
    meta_path.write_text(json.dumps({"rows": rows, "users": user_count, "end": end.isoformat()}))
    return db, end


def median_ms(measure: Callable[[], Any], runs: int) -> float:
    """The median wall time of `runs` calls of `measure`, after one warm-up call."""
    measure()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        measure()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def filters(db: Database, end: datetime) -> dict[str, UsageFilter]:
    """The ranges timed: everyone's (an admin's view) and the heaviest user's own."""
    heavy = db.call(lambda c: c.execute(
        "SELECT user_id FROM requests GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone())[0]  # type: ignore[index]
    return {
        "30 d": UsageFilter.last(timedelta(days=30), now=end),
        "7 d": UsageFilter.last(timedelta(days=7), now=end),
        "24 h": UsageFilter.last(timedelta(hours=24), now=end),
        "30 d, 1 user": UsageFilter.last(timedelta(days=30), now=end, scope_user_id=int(heavy)),
    }


def _query_call(db: Database, query: Query, flt: UsageFilter) -> Callable[[], Any]:
    return lambda: db.call(lambda c: query(c, flt))


def _tab_call(loop: asyncio.AbstractEventLoop, db: Database,
              flt: UsageFilter) -> Callable[[], Any]:
    return lambda: loop.run_until_complete(
        load_view(db, flt, per_user=flt.scope_user_id is None))


def time_queries(db: Database, flts: dict[str, UsageFilter], runs: int) -> list[dict[str, Any]]:
    """Each query alone, per range: {name, ms: {range: median}, pass}."""
    results = []
    for label, query in QUERIES:
        figures = {name: median_ms(_query_call(db, query, flt), runs)
                   for name, flt in flts.items()}
        results.append({"name": label, "ms": figures,
                        "pass": all(ms <= TARGET_MS for ms in figures.values())})
    return results


def time_tab(db: Database, flts: dict[str, UsageFilter], runs: int) -> dict[str, Any]:
    """One refresh of the tab per range, as load_view runs it (a user sees only their own)."""
    loop = asyncio.new_event_loop()
    try:
        figures = {name: median_ms(_tab_call(loop, db, flt), runs)
                   for name, flt in flts.items()}
    finally:
        loop.close()
    return {"ms": figures, "pass": all(ms <= TAB_TARGET_MS for ms in figures.values())}


def report(results: dict[str, Any]) -> None:
    names = list(results["rows_in_range"])
    print(f"{results['rows']:,} requests, {results['users']} users; file"
          f" {results['file_mb']:.0f} MB; DuckDB {results['duckdb']}, {results['cpus']} CPUs")
    print("rows in range: " + ", ".join(
        f"{name} {n:,}" for name, n in results["rows_in_range"].items()))
    print(f"median of {results['runs']} runs after one warm-up, ms; target {TARGET_MS:.0f} ms"
          f" per query, {TAB_TARGET_MS:.0f} ms for the whole tab\n")
    header = f"{'query':<22}" + "".join(f"{name:>14}" for name in names) + "  result"
    print(header)
    print("-" * len(header))
    rows = [(q["name"], q) for q in results["queries"]]
    for index, (label, figure) in enumerate([*rows, ("whole tab (wall)", results["whole_tab"])]):
        if index == len(rows):
            print("-" * len(header))
        print(f"{label:<22}" + "".join(f"{figure['ms'][n]:>14.1f}" for n in names)
              + f"  {'PASS' if figure['pass'] else 'MISS'}")
    passed = sum(q["pass"] for q in results["queries"])
    print(f"\n{passed} of {len(rows)} queries within {TARGET_MS:.0f} ms; whole tab"
          f" {'within' if results['whole_tab']['pass'] else 'over'} {TAB_TARGET_MS:.0f} ms")


def run(directory: Path, rows: int, user_count: int, runs: int) -> dict[str, Any]:
    db, end = filled_database(directory, rows, user_count)
    try:
        flts = filters(db, end)
        counts = {name: _query_call(db, analytics.outcomes, flt)().total
                  for name, flt in flts.items()}
        return {
            "rows": rows, "users": user_count, "runs": runs,
            "file_mb": round((directory / DB_NAME).stat().st_size / 1e6, 1),
            "duckdb": duckdb.__version__, "python": platform.python_version(),
            "cpus": os.cpu_count(), "measured_at": datetime.now(UTC).isoformat(),
            "targets_ms": {"query": TARGET_MS, "whole_tab": TAB_TARGET_MS},
            "rows_in_range": counts,
            "queries": time_queries(db, flts, runs),
            "whole_tab": time_tab(db, flts, runs),
        }
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", nargs="?", type=Path,
                        help="a directory to fill, or one an earlier run filled with the same"
                             " --rows and --users (default: a temporary one)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write the results to PATH as JSON (for the docs)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-analytics-") as tmp:
        results = run(args.data_dir or Path(tmp), args.rows, args.users, args.runs)
    report(results)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
