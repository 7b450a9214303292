"""How long each usage-dashboard query takes over a million requests.

Fills a fresh data directory with synthetic users and request rows (generated inside DuckDB,
inserted in time order as the app writes them), through storage.db.Database so the real schema
and indexes apply, then times every query in storage/analytics.py: the median of 5 runs after
one warm-up, for the last 30 days, 7 days and 24 hours (everyone, as an admin sees it) and
for the last 30 days of the heaviest user (as that user sees it). Target: 300 ms per query.

Run by hand:  .venv/bin/python scripts/bench_analytics.py [DATA_DIR] [--rows 1000000]
"""

from __future__ import annotations

import argparse
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

TARGET_MS = 300.0
DB_NAME = "vllm_chat.duckdb"  # the app's file name (settings.db_path)

Query = Callable[[duckdb.DuckDBPyConnection, UsageFilter], Any]

QUERIES: list[tuple[str, Query]] = [
    ("requests_over_time", analytics.requests_over_time),
    ("tokens_by_model", analytics.tokens_by_model),
    ("tokens_by_user", analytics.tokens_by_user),
    ("heaviest_users", lambda c, f: analytics.heaviest_users(c, f, 10)),
    ("latency_percentiles", analytics.latency_percentiles),
    ("outcomes", analytics.outcomes),
    ("slowest_requests", lambda c, f: analytics.slowest_requests(c, f, 20)),
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


def median_ms(db: Database, query: Query, flt: UsageFilter, runs: int) -> float:
    db.call(lambda c: query(c, flt))  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        db.call(lambda c: query(c, flt))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", nargs="?", type=Path,
                        help="an empty or missing directory (default: a temporary one)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-analytics-") as tmp:
        directory: Path = args.data_dir or Path(tmp)
        if (directory / DB_NAME).exists():
            sys.exit(f"{directory / DB_NAME} exists: give a fresh data directory")
        run(directory, args.rows, args.users, args.runs)


def run(directory: Path, rows: int, user_count: int, runs: int) -> None:
    db = Database(directory / DB_NAME)
    now = datetime.now(UTC)
    started = time.perf_counter()
    fill(db, rows, user_count, now, timedelta(days=30))
    filled = time.perf_counter() - started
    heavy = db.call(lambda c: c.execute(
        "SELECT user_id FROM requests GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone())[0]  # type: ignore[index]
    filters = {
        "30 d": UsageFilter.last(timedelta(days=30), now=now),
        "7 d": UsageFilter.last(timedelta(days=7), now=now),
        "24 h": UsageFilter.last(timedelta(hours=24), now=now),
        "30 d, 1 user": UsageFilter.last(timedelta(days=30), now=now, scope_user_id=int(heavy)),
    }
    counts = {name: db.call(lambda c, f=flt: analytics.outcomes(c, f).total)
              for name, flt in filters.items()}
    size_mb = (directory / DB_NAME).stat().st_size / 1e6
    print(f"{rows:,} requests, {user_count} users in {filled:.1f} s; file {size_mb:.0f} MB"
          f" ({directory / DB_NAME})")
    print("rows in range: " + ", ".join(f"{name} {n:,}" for name, n in counts.items()))
    print(f"median of {runs} runs after one warm-up, ms; target {TARGET_MS:.0f} ms per query\n")
    header = f"{'query':<22}" + "".join(f"{name:>14}" for name in filters) + "  result"
    print(header)
    print("-" * len(header))
    totals = dict.fromkeys(filters, 0.0)
    failed = 0
    for label, query in QUERIES:
        figures = {name: median_ms(db, query, flt, runs) for name, flt in filters.items()}
        for name, ms in figures.items():
            totals[name] += ms
        ok = all(ms <= TARGET_MS for ms in figures.values())
        failed += not ok
        print(f"{label:<22}" + "".join(f"{ms:>14.1f}" for ms in figures.values())
              + f"  {'PASS' if ok else 'FAIL'}")
    print("-" * len(header))
    print(f"{'whole tab (sum)':<22}" + "".join(f"{ms:>14.1f}" for ms in totals.values()))
    print(f"\n{len(QUERIES) - failed} of {len(QUERIES)} queries within {TARGET_MS:.0f} ms")
    db.close()


if __name__ == "__main__":
    main()
